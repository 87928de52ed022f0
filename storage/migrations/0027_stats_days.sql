-- /stats at a million customers and ten million purchases (issue 13): what the figures add up is kept per
-- day as purchases and points are written, so a period reads a few hundred day rows and, at its two ends,
-- the purchases of less than a day each (storage/analytics.py), instead of every purchase in it.
--
-- A day is the UTC date of the stored time (its first 10 characters), so no zone is needed here: a local
-- month or a "last 7 days" starting mid-day takes whole days from these tables and the rest from the rows.

-- Purchases per day: count, revenue, the revenue of customers' first purchases (number = 1) and their
-- count (every buyer has exactly one first purchase, so the days add up to the buyers).
-- `changes` only grows: every purchase written, moved or removed adds one to its day(s). A cached figure
-- of closed months (cohort_columns) is still right while the days it read have the same sum of changes.
CREATE TABLE purchase_days (
    day            TEXT PRIMARY KEY,
    purchases      INTEGER NOT NULL,
    revenue_cents  INTEGER NOT NULL,
    first_cents    INTEGER NOT NULL,
    buyers         INTEGER NOT NULL,  -- first purchases: one per customer who ever bought
    changes        INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO purchase_days (day, purchases, revenue_cents, first_cents, buyers, changes)
SELECT substr(purchased_at, 1, 10), COUNT(*), SUM(amount_cents),
       SUM(CASE WHEN number = 1 THEN amount_cents ELSE 0 END),
       SUM(CASE WHEN number = 1 THEN 1 ELSE 0 END), COUNT(*)
FROM purchases GROUP BY substr(purchased_at, 1, 10);

CREATE TRIGGER purchase_days_on_insert AFTER INSERT ON purchases
BEGIN
    INSERT INTO purchase_days (day, purchases, revenue_cents, first_cents, buyers, changes)
    VALUES (substr(NEW.purchased_at, 1, 10), 1, NEW.amount_cents,
            CASE WHEN NEW.number = 1 THEN NEW.amount_cents ELSE 0 END,
            CASE WHEN NEW.number = 1 THEN 1 ELSE 0 END, 1)
    ON CONFLICT (day) DO UPDATE SET
        purchases = purchases + 1,
        revenue_cents = revenue_cents + excluded.revenue_cents,
        first_cents = first_cents + excluded.first_cents,
        buyers = buyers + excluded.buyers,
        changes = changes + 1;
END;

-- A back-dated purchase renumbers the later ones (storage/purchases.py, make_room): only a row that stops
-- or starts being a first purchase changes a day's figures. Its two steps (n → -(n+1) → n+1) pass here
-- once for the old first purchase (1 → -2) and not at all for the others.
CREATE TRIGGER purchase_days_on_update AFTER UPDATE OF number, amount_cents, purchased_at ON purchases
WHEN (OLD.number = 1) <> (NEW.number = 1) OR OLD.amount_cents <> NEW.amount_cents
  OR OLD.purchased_at <> NEW.purchased_at
BEGIN
    UPDATE purchase_days SET
        purchases = purchases - 1,
        revenue_cents = revenue_cents - OLD.amount_cents,
        first_cents = first_cents - CASE WHEN OLD.number = 1 THEN OLD.amount_cents ELSE 0 END,
        buyers = buyers - CASE WHEN OLD.number = 1 THEN 1 ELSE 0 END,
        changes = changes + 1
    WHERE day = substr(OLD.purchased_at, 1, 10);
    INSERT INTO purchase_days (day, purchases, revenue_cents, first_cents, buyers, changes)
    VALUES (substr(NEW.purchased_at, 1, 10), 1, NEW.amount_cents,
            CASE WHEN NEW.number = 1 THEN NEW.amount_cents ELSE 0 END,
            CASE WHEN NEW.number = 1 THEN 1 ELSE 0 END, 1)
    ON CONFLICT (day) DO UPDATE SET
        purchases = purchases + 1,
        revenue_cents = revenue_cents + excluded.revenue_cents,
        first_cents = first_cents + excluded.first_cents,
        buyers = buyers + excluded.buyers,
        changes = changes + 1;
END;

-- Purchases are never deleted by the product today; if one ever is, the figures still follow.
CREATE TRIGGER purchase_days_on_delete AFTER DELETE ON purchases
BEGIN
    UPDATE purchase_days SET
        purchases = purchases - 1,
        revenue_cents = revenue_cents - OLD.amount_cents,
        first_cents = first_cents - CASE WHEN OLD.number = 1 THEN OLD.amount_cents ELSE 0 END,
        buyers = buyers - CASE WHEN OLD.number = 1 THEN 1 ELSE 0 END,
        changes = changes + 1
    WHERE day = substr(OLD.purchased_at, 1, 10);
END;

-- Points per day of the ledger (append-only: an insert trigger is all it takes).
CREATE TABLE points_days (
    day       TEXT PRIMARY KEY,
    issued    INTEGER NOT NULL,
    redeemed  INTEGER NOT NULL,
    expired   INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO points_days (day, issued, redeemed, expired)
SELECT substr(created_at, 1, 10), SUM(CASE WHEN delta > 0 THEN delta ELSE 0 END),
       SUM(CASE WHEN kind = 'redemption' THEN -delta ELSE 0 END),
       SUM(CASE WHEN kind = 'expiry' THEN -delta ELSE 0 END)
FROM points_ledger GROUP BY substr(created_at, 1, 10);

CREATE TRIGGER points_days_on_insert AFTER INSERT ON points_ledger
BEGIN
    INSERT INTO points_days (day, issued, redeemed, expired)
    VALUES (substr(NEW.created_at, 1, 10), CASE WHEN NEW.delta > 0 THEN NEW.delta ELSE 0 END,
            CASE WHEN NEW.kind = 'redemption' THEN -NEW.delta ELSE 0 END,
            CASE WHEN NEW.kind = 'expiry' THEN -NEW.delta ELSE 0 END)
    ON CONFLICT (day) DO UPDATE SET
        issued = issued + excluded.issued,
        redeemed = redeemed + excluded.redeemed,
        expired = expired + excluded.expired;
END;

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

-- The cohort chart's closed months, kept once computed (shared by every process): for the local month
-- [month_start, month_end), its buyers by the month of their first purchase, as JSON
-- {"bounds": [the cohorts' month starts, oldest first], "cells": {"<cohort month start>": buyers}}. Valid while the purchase days up to month_end's day still add up to
-- `changes` (a back-dated purchase there changes them); the month in progress is never kept.
CREATE TABLE cohort_columns (
    month_start  TEXT NOT NULL,
    month_end    TEXT NOT NULL,
    changes      INTEGER NOT NULL,
    cells        TEXT NOT NULL,
    PRIMARY KEY (month_start, month_end)
) WITHOUT ROWID;
