-- Analytics and win-back: indexes that keep /stats under two seconds at a million purchases, and the
-- "fell asleep" moment of every repeat buyer as an index on purchase_totals (kept by 0005's trigger).

-- When a repeat buyer falls asleep: the last purchase plus twice their usual interval (their average gap
-- between purchases), but at least 7 days after it, so two purchases on one day do not make someone
-- "sleeping" the next morning. An index on the expression, so the daily win-back reads only the customers
-- who fell asleep since its last run; storage/date_triggers.py SLEEPS_AT must stay the same expression.
-- One-off buyers have no interval: the win-back trigger's `days` applies to them at query time.
CREATE INDEX purchase_totals_sleeps ON purchase_totals (
    datetime(julianday(last_at) + MAX(2.0 * (julianday(last_at) - julianday(first_at)) / (purchases - 1), 7.0))
) WHERE purchases >= 2;
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
