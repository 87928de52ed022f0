-- PostgreSQL twin of ../0017_customer_search.sql: looking a customer up (the console's search box, fast at
-- 100,000 customers).
--
-- Names and usernames. SQLite keeps an FTS5 table (unicode61: case folded for every script, Latin diacritics
-- removed) filled by triggers. PostgreSQL does the job with a GIN index over an expression of the customer's
-- own columns: no second table and no triggers, and a rename or an erasure (/forget blanks the names) changes
-- the index in the same statement — nothing of a forgotten name stays searchable. Words are made here, not by
-- a text-search configuration, so that neither the server's locale nor a dictionary changes them:
--   customer_search_words: lower case by ICU ("und-x-icu": Cyrillic, Greek … whatever LC_CTYPE the server
--     has), ё as е, final ς as σ, diacritics dropped from Latin letters only (José → jose; й stays й, as in
--     unicode61), split at every character that is not a letter or digit (anna_s → anna, s).
--   customer_names_vector: those words of first name, last name and username, as lexemes taken verbatim,
--     with their places (a tsvector written out, so no parser or dictionary touches them).
--   customer_search_query: what was typed, through the same words, every word a prefix: 'anna':* & 'smi':*.
-- One function folds both sides, so a query always meets the index in the same form. storage/people.py reads
-- `customer_names_vector(c.first_name, c.last_name, c.username) @@ customer_search_query(?)`.
-- Needs PostgreSQL 14 or later (SQL-standard function bodies) built with ICU (Debian's, the official images
-- and the hosted services are).
CREATE FUNCTION customer_search_words(words TEXT) RETURNS TEXT[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN array_remove(regexp_split_to_array(
    normalize(regexp_replace(
        normalize(translate(lower(words COLLATE "und-x-icu"), 'ёς', 'еσ'), NFD),
        '([a-z])[\u0300-\u036f]+', '\1', 'g'), NFC) COLLATE "und-x-icu",
    '[^[:alnum:]]+'), '');

-- Its COST is what it takes (tens of microseconds a row: ICU, two normalizations, regexes), so the planner
-- never prefers computing it row by row over reading the index.
CREATE FUNCTION customer_names_vector(first_name TEXT, last_name TEXT, username TEXT) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE COST 1000
RETURN COALESCE((
    SELECT string_agg(quote_literal(word) || ':' || place, ' ')
    FROM unnest(customer_search_words(
        COALESCE(first_name, '') || ' ' || COALESCE(last_name, '') || ' ' || COALESCE(username, '')
    )) WITH ORDINALITY AS words(word, place))::tsvector, ''::tsvector);

-- A typed word made of several parts (anna_s) is a phrase, as in FTS5's "anna_s"*: its parts in a row,
-- the last one a prefix ('anna' <-> 's':*); the words are all needed, each one anywhere.
CREATE FUNCTION customer_search_query(typed TEXT) RETURNS tsquery
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (
    SELECT string_agg(phrase, ' & ')
    FROM (
        SELECT (SELECT string_agg(quote_literal(part) || CASE WHEN place = cardinality(parts) THEN ':*' ELSE '' END,
                                  ' <-> ' ORDER BY place)
                FROM unnest(parts) WITH ORDINALITY AS q(part, place)) AS phrase
        FROM (SELECT customer_search_words(word) AS parts FROM regexp_split_to_table(typed, '\s+') AS word) AS w
        WHERE cardinality(parts) > 0
    ) AS phrases
)::tsquery;

CREATE INDEX customers_names ON customers USING gin (customer_names_vector(first_name, last_name, username));

-- Phones are stored as +digits. A full number is found by its last ten digits whatever the country code
-- or trunk prefix typed; a local seven-digit number by its last seven; the beginning of a number by a range
-- on the whole. SQLite's substr(phone, -10) is right(phone, 10) here (PostgreSQL's substr counts from 1 only).
CREATE INDEX customers_phone ON customers (phone);
CREATE INDEX customers_phone_last10 ON customers (right(phone, 10)) WHERE phone IS NOT NULL;
CREATE INDEX customers_phone_last7 ON customers (right(phone, 7)) WHERE phone IS NOT NULL;
