-- Analytics and win-back: each buyer's purchase rhythm, kept up to date by a trigger, and the indexes
-- /stats needs to stay under two seconds at a million purchases.

-- One row per customer who ever bought: how many purchases, first and last, what they spent, and when
-- they "fall asleep". Maintained by the trigger below, so every path that records a purchase (Telegram,
-- the API, a CSV import) keeps it right in the same transaction; a backdated import can move first_at
-- back or leave last_at where it was, which MIN/MAX handle.
--
-- sleeps_at (repeat buyers only): the last purchase plus twice the customer's usual interval (their
-- average gap between purchases), but at least 7 days after it, so two purchases on one day do not
-- make someone "sleeping" the next morning. One-off buyers have no interval: the win-back trigger's
-- `days` applies to them at query time (purchases = 1 AND last_at <= now - days).
CREATE TABLE customer_rhythm (
    customer_id  INTEGER PRIMARY KEY REFERENCES customers(id),
    purchases    INTEGER NOT NULL,
    spent_cents  INTEGER NOT NULL,
    first_cents  INTEGER NOT NULL,                  -- the amount of purchase number 1 (revenue from a new customer)
    first_at     TEXT NOT NULL,
    last_at      TEXT NOT NULL,
    sleeps_at    TEXT
);
-- The daily win-back job reads only the customers who fell asleep since its last run: two index ranges.
CREATE INDEX customer_rhythm_sleeps ON customer_rhythm (sleeps_at);
CREATE INDEX customer_rhythm_one_off ON customer_rhythm (purchases, last_at);
-- Cohorts: customers by the month of their first purchase.
CREATE INDEX customer_rhythm_first ON customer_rhythm (first_at);

CREATE TRIGGER purchases_rhythm AFTER INSERT ON purchases
BEGIN
    INSERT INTO customer_rhythm (customer_id, purchases, spent_cents, first_cents, first_at, last_at)
    VALUES (NEW.customer_id, 1, NEW.amount_cents, CASE WHEN NEW.number = 1 THEN NEW.amount_cents ELSE 0 END,
            NEW.purchased_at, NEW.purchased_at)
    ON CONFLICT (customer_id) DO UPDATE SET
        purchases = purchases + 1,
        spent_cents = spent_cents + excluded.spent_cents,
        first_cents = first_cents + excluded.first_cents,
        first_at = MIN(first_at, excluded.first_at),
        last_at = MAX(last_at, excluded.last_at);
    UPDATE customer_rhythm SET sleeps_at = CASE WHEN purchases < 2 THEN NULL ELSE datetime(
            julianday(last_at) + MAX(2.0 * (julianday(last_at) - julianday(first_at)) / (purchases - 1), 7.0)
        ) END
    WHERE customer_id = NEW.customer_id;
END;

-- Purchases recorded before this migration.
INSERT INTO customer_rhythm (customer_id, purchases, spent_cents, first_cents, first_at, last_at, sleeps_at)
SELECT customer_id, COUNT(*), SUM(amount_cents), COALESCE(SUM(CASE WHEN number = 1 THEN amount_cents END), 0),
       MIN(purchased_at), MAX(purchased_at),
       CASE WHEN COUNT(*) < 2 THEN NULL ELSE datetime(
           julianday(MAX(purchased_at))
           + MAX(2.0 * (julianday(MAX(purchased_at)) - julianday(MIN(purchased_at))) / (COUNT(*) - 1), 7.0)
       ) END
FROM purchases GROUP BY customer_id;

-- /stats over a period: a range of this index answers the purchase figures without touching the table.
CREATE INDEX purchases_period ON purchases (purchased_at, customer_id, number, amount_cents);
-- Sequence conversion: did this customer buy between two moments?
CREATE INDEX purchases_customer_time ON purchases (customer_id, purchased_at);
-- Points issued / redeemed / expired in a period, read from the index alone.
CREATE INDEX points_ledger_time ON points_ledger (created_at, kind, delta);
CREATE INDEX coupons_issued ON coupons (issued_at);
CREATE INDEX customers_first_seen ON customers (first_seen_at);
CREATE INDEX enrollments_started ON enrollments (started_at, sequence);
