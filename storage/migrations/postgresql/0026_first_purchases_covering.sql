-- PostgreSQL twin of ../0026_first_purchases_covering.sql: the first purchases' index covers the all-time
-- sum of their amounts (an index-only scan instead of a heap read per first purchase).
DROP INDEX purchases_first;
CREATE INDEX purchases_first ON purchases (purchased_at, amount_cents) WHERE number = 1;
