-- Segment counts (the broadcast form and the customer list, live as the owner types) read every reachable
-- customer. This partial index holds exactly the reachable ones (storage/audience.py) with every column a
-- segment reads from `customers` (the last three because SQLite reads a partial index's own condition
-- from the row otherwise), so a count walks its entries and never the wide rows.
-- `language_code` is the language a customer is spoken to in, as segments compare it: their choice, else
-- Telegram's, lower case, the region dropped ('pt-BR' → 'pt'); a virtual column, computed by SQLite, so
-- it never goes stale; the index keeps it.
ALTER TABLE customers ADD COLUMN language_code TEXT GENERATED ALWAYS AS (
    lower(substr(COALESCE(chosen_language, language, ''), 1, instr(COALESCE(chosen_language, language, '') || '-', '-') - 1))
) VIRTUAL;
CREATE INDEX customers_audience ON customers (
    tg_id, language_code, source, birthday_month, birthday_day, first_seen_at, started_at, opted_out, unreachable
) WHERE tg_id IS NOT NULL AND started_at IS NOT NULL AND opted_out = 0 AND unreachable = 0;
