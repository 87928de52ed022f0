-- PostgreSQL twin of ../0027_stats_days.sql: purchases and points per UTC day, kept by triggers as they are
-- written, and the cohort chart's closed months kept once computed. One trigger function per table keeps
-- the figures (TG_OP says which event); the triggers carry the SQLite twin's names.
CREATE TABLE purchase_days (
    day            TEXT COLLATE "C" PRIMARY KEY,
    purchases      BIGINT NOT NULL,
    revenue_cents  BIGINT NOT NULL,
    first_cents    BIGINT NOT NULL,
    buyers         BIGINT NOT NULL,
    changes        BIGINT NOT NULL
);

INSERT INTO purchase_days (day, purchases, revenue_cents, first_cents, buyers, changes)
SELECT substr(purchased_at, 1, 10), COUNT(*), SUM(amount_cents),
       SUM(CASE WHEN number = 1 THEN amount_cents ELSE 0 END),
       SUM(CASE WHEN number = 1 THEN 1 ELSE 0 END), COUNT(*)
FROM purchases GROUP BY substr(purchased_at, 1, 10);

CREATE FUNCTION purchase_days_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE purchase_days SET
            purchases = purchases - 1,
            revenue_cents = revenue_cents - OLD.amount_cents,
            first_cents = first_cents - CASE WHEN OLD.number = 1 THEN OLD.amount_cents ELSE 0 END,
            buyers = buyers - CASE WHEN OLD.number = 1 THEN 1 ELSE 0 END,
            changes = changes + 1
        WHERE day = substr(OLD.purchased_at, 1, 10);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO purchase_days AS d (day, purchases, revenue_cents, first_cents, buyers, changes)
        VALUES (substr(NEW.purchased_at, 1, 10), 1, NEW.amount_cents,
                CASE WHEN NEW.number = 1 THEN NEW.amount_cents ELSE 0 END,
                CASE WHEN NEW.number = 1 THEN 1 ELSE 0 END, 1)
        ON CONFLICT (day) DO UPDATE SET
            purchases = d.purchases + 1,
            revenue_cents = d.revenue_cents + excluded.revenue_cents,
            first_cents = d.first_cents + excluded.first_cents,
            buyers = d.buyers + excluded.buyers,
            changes = d.changes + 1;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER purchase_days_on_insert AFTER INSERT ON purchases
FOR EACH ROW EXECUTE FUNCTION purchase_days_kept();
CREATE TRIGGER purchase_days_on_update AFTER UPDATE OF number, amount_cents, purchased_at ON purchases
FOR EACH ROW WHEN ((OLD.number = 1) <> (NEW.number = 1) OR OLD.amount_cents <> NEW.amount_cents
                   OR OLD.purchased_at <> NEW.purchased_at)
EXECUTE FUNCTION purchase_days_kept();
CREATE TRIGGER purchase_days_on_delete AFTER DELETE ON purchases
FOR EACH ROW EXECUTE FUNCTION purchase_days_kept();

CREATE TABLE points_days (
    day       TEXT COLLATE "C" PRIMARY KEY,
    issued    BIGINT NOT NULL,
    redeemed  BIGINT NOT NULL,
    expired   BIGINT NOT NULL
);

INSERT INTO points_days (day, issued, redeemed, expired)
SELECT substr(created_at, 1, 10), SUM(CASE WHEN delta > 0 THEN delta ELSE 0 END),
       SUM(CASE WHEN kind = 'redemption' THEN -delta ELSE 0 END),
       SUM(CASE WHEN kind = 'expiry' THEN -delta ELSE 0 END)
FROM points_ledger GROUP BY substr(created_at, 1, 10);

CREATE FUNCTION points_days_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO points_days AS d (day, issued, redeemed, expired)
    VALUES (substr(NEW.created_at, 1, 10), CASE WHEN NEW.delta > 0 THEN NEW.delta ELSE 0 END,
            CASE WHEN NEW.kind = 'redemption' THEN -NEW.delta ELSE 0 END,
            CASE WHEN NEW.kind = 'expiry' THEN -NEW.delta ELSE 0 END)
    ON CONFLICT (day) DO UPDATE SET
        issued = d.issued + excluded.issued,
        redeemed = d.redeemed + excluded.redeemed,
        expired = d.expired + excluded.expired;
    RETURN NULL;
END;
$$;
CREATE TRIGGER points_days_on_insert AFTER INSERT ON points_ledger
FOR EACH ROW EXECUTE FUNCTION points_days_on_insert();

-- Buyers by first purchase (cohort sizes and columns, the churn base): 0006's range of first_at now carries
-- last_at, so "first purchase before the month, last one in or after it" is read from the index alone.
DROP INDEX purchase_totals_first;
CREATE INDEX purchase_totals_first ON purchase_totals (first_at, last_at);

-- A period's coupons (issued, of them redeemed) and sequences (enrolled, of them reached) from their
-- indexes alone: 0006's ranges now carry what the figures read; enrolments by sequence first, so each of
-- the few sequences is its own range (no sort of every enrolment to group them).
DROP INDEX coupons_issued;
CREATE INDEX coupons_issued ON coupons (issued_at, redeemed_at);
DROP INDEX enrollments_started;
CREATE INDEX enrollments_started ON enrollments (sequence, started_at, customer_id, first_sent_at, ended_at);

CREATE TABLE cohort_columns (
    month_start  TEXT COLLATE "C" NOT NULL,
    month_end    TEXT COLLATE "C" NOT NULL,
    changes      BIGINT NOT NULL,
    cells        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (month_start, month_end)
);
