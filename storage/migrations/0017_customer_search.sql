-- Looking a customer up (the console's search box, fast at 100,000 customers).
--
-- Names and usernames: a full-text index whose tokenizer folds case for every script (SQLite's lower() knows
-- only ASCII, so a plain index cannot find "анна" under "Анна"); ё is written as е, as people type it.
-- Kept by triggers, so every way a customer is created or renamed (the bot, an import, forgetting) keeps it.
-- `flows/forgetting.py` merges its segments after an erasure, so no deleted name lingers in the file.
CREATE VIRTUAL TABLE customer_names USING fts5 (names, tokenize = 'unicode61 remove_diacritics 2');

INSERT INTO customer_names (rowid, names)
SELECT id, replace(replace(COALESCE(first_name, '') || ' ' || COALESCE(last_name, '') || ' ' || COALESCE(username, ''),
                           'ё', 'е'), 'Ё', 'Е')
FROM customers;

CREATE TRIGGER customer_names_added AFTER INSERT ON customers
BEGIN
    INSERT INTO customer_names (rowid, names) VALUES (NEW.id, replace(replace(
        COALESCE(NEW.first_name, '') || ' ' || COALESCE(NEW.last_name, '') || ' ' || COALESCE(NEW.username, ''),
        'ё', 'е'), 'Ё', 'Е'));
END;

CREATE TRIGGER customer_names_renamed AFTER UPDATE OF first_name, last_name, username ON customers
WHEN OLD.first_name IS NOT NEW.first_name OR OLD.last_name IS NOT NEW.last_name OR OLD.username IS NOT NEW.username
BEGIN
    DELETE FROM customer_names WHERE rowid = OLD.id;
    INSERT INTO customer_names (rowid, names) VALUES (NEW.id, replace(replace(
        COALESCE(NEW.first_name, '') || ' ' || COALESCE(NEW.last_name, '') || ' ' || COALESCE(NEW.username, ''),
        'ё', 'е'), 'Ё', 'Е'));
END;

CREATE TRIGGER customer_names_removed AFTER DELETE ON customers
BEGIN
    DELETE FROM customer_names WHERE rowid = OLD.id;
END;

-- Phones are stored as +digits. A full number is found by its last ten digits whatever the country code
-- or trunk prefix typed (+7 912…, 8 912…, 912…; +380 67…, 067…); a local seven-digit number by its last
-- seven; the beginning of a number by a range on the whole.
CREATE INDEX customers_phone ON customers (phone);
CREATE INDEX customers_phone_last10 ON customers (substr(phone, -10)) WHERE phone IS NOT NULL;
CREATE INDEX customers_phone_last7 ON customers (substr(phone, -7)) WHERE phone IS NOT NULL;
