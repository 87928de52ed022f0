-- PostgreSQL twin of ../0006_analytics.sql: the indexes that keep /stats fast, and the "fell asleep" moment
-- of every repeat buyer as an index on purchase_totals (kept by 0005's trigger).

-- When a repeat buyer falls asleep: the last purchase plus twice their usual interval, at least 7 days.
-- SQLite indexes the expression itself (julianday/datetime); PostgreSQL has neither function and indexes only
-- IMMUTABLE expressions, while reading text as a timestamp is merely STABLE (it depends on DateStyle). So the
-- expression is this function, declared IMMUTABLE: it is, for the one stored form it reads (ISO text, which
-- every DateStyle reads alike). It answers the same text as SQLite's datetime(…): `2026-02-03 12:00:00`,
-- NULL below two purchases (SQLite divides by zero into NULL). storage/date_triggers.py SLEEPS_AT must
-- call it on PostgreSQL: `purchase_sleeps_at(first_at, last_at, purchases)`.
CREATE FUNCTION purchase_sleeps_at(first_at TEXT, last_at TEXT, purchases BIGINT) RETURNS TEXT
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN purchases >= 2 THEN to_char(
    last_at::timestamp
    + GREATEST((last_at::timestamp - first_at::timestamp) * 2.0 / (purchases - 1), interval '7 days'),
    'YYYY-MM-DD HH24:MI:SS') END;
CREATE INDEX purchase_totals_sleeps ON purchase_totals (purchase_sleeps_at(first_at, last_at, purchases))
WHERE purchases >= 2;
-- One-off buyers by the day of their only purchase (win-back after `days`).
CREATE INDEX purchase_totals_one_off ON purchase_totals (purchases, last_at);
-- Cohorts: customers by the month of their first purchase.
CREATE INDEX purchase_totals_first ON purchase_totals (first_at);

-- /stats over a period: a range of this index answers the purchase figures without touching the table.
CREATE INDEX purchases_period ON purchases (purchased_at, customer_id, number, amount_cents);
-- Sequence conversion and cohorts: did this customer buy between two moments?
CREATE INDEX purchases_customer_time ON purchases (customer_id, purchased_at);
-- Revenue from new customers over all time: their first purchases only.
CREATE INDEX purchases_first ON purchases (amount_cents) WHERE number = 1;
-- Points issued / redeemed / expired in a period, read from the index alone.
CREATE INDEX points_ledger_time ON points_ledger (created_at, kind, delta);
CREATE INDEX coupons_issued ON coupons (issued_at);
CREATE INDEX customers_first_seen ON customers (first_seen_at);
CREATE INDEX enrollments_started ON enrollments (started_at, sequence);
