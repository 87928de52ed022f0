-- PostgreSQL twin of ../0022_audience_index.sql: the language code segments compare (their choice, else
-- Telegram's, lower case, the region dropped) and the partial index of reachable customers a count walks.
ALTER TABLE customers ADD COLUMN language_code TEXT COLLATE "C" GENERATED ALWAYS AS (
    lower(split_part(COALESCE(chosen_language, language, ''), '-', 1))
) STORED;
CREATE INDEX customers_audience ON customers (
    tg_id, language_code, source, birthday_month, birthday_day, first_seen_at, started_at, opted_out, unreachable
) WHERE tg_id IS NOT NULL AND started_at IS NOT NULL AND opted_out = 0 AND unreachable = 0;
