-- Revenue from new customers over all time (/stats "all") sums the first purchases made before the period's
-- end. 0006's partial index held only their amounts, so each of them was read from the table for its time:
-- 1,000,000 row reads at 1,000,000 customers (2.4 s on PostgreSQL, bench/README.md "scale"). With the time
-- first and the amount after, one range of this index answers the sum alone, on both engines.
DROP INDEX purchases_first;
CREATE INDEX purchases_first ON purchases (purchased_at, amount_cents) WHERE number = 1;
