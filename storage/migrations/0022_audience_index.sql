-- Segment counts (the broadcast form and the customer list, live as the owner types) scan the reachable
-- customers. This index holds every column a segment reads from `customers`, so a count walks its
-- entries for the reachable range (opted_out = 0, unreachable = 0, started) instead of the whole rows.
-- `language_code` is the language a customer is spoken to in, as segments compare it: their choice,
-- else Telegram's, lower case, the region dropped ('pt-BR' → 'pt'); computed by SQLite (a virtual
-- column), stored only in the index, so it never goes stale and costs nothing when a row is read.
ALTER TABLE customers ADD COLUMN language_code TEXT GENERATED ALWAYS AS (
    lower(substr(COALESCE(chosen_language, language, ''), 1, instr(COALESCE(chosen_language, language, '') || '-', '-') - 1))
) VIRTUAL;
CREATE INDEX customers_audience ON customers (tg_id, language_code, source, birthday_month, birthday_day, first_seen_at)
    WHERE tg_id IS NOT NULL AND started_at IS NOT NULL AND opted_out = 0 AND unreachable = 0;
