-- PostgreSQL twin of ../0009_customer_definition.sql: who is a customer, and who can be reached.
-- The team (owners from OWNER_IDS and active staff) are never customers; `team` is the one list of them.
CREATE TABLE owners (
    tg_id  BIGINT PRIMARY KEY
);
CREATE VIEW team AS
    SELECT tg_id FROM owners
    UNION SELECT tg_id FROM staff WHERE revoked_at IS NULL;

-- When the person first pressed /start: only then can the bot write to them.
ALTER TABLE customers ADD COLUMN started_at TEXT COLLATE "C";
UPDATE customers SET started_at = (
    SELECT MIN(e.created_at) FROM events e WHERE e.customer_id = customers.id AND e.kind = 'started'
);

-- Nobody bought before they were first seen: an imported customer's first-seen is their earliest purchase.
UPDATE customers SET first_seen_at = (
    SELECT MIN(p.purchased_at) FROM purchases p WHERE p.customer_id = customers.id
) WHERE first_seen_at > (SELECT MIN(p.purchased_at) FROM purchases p WHERE p.customer_id = customers.id);

-- Purchase numbers follow purchase time (then id). PostgreSQL, like SQLite, checks a non-deferrable
-- UNIQUE (customer_id, number) row by row, so renumbering goes through negative numbers here too.
UPDATE purchases SET number = -(
    SELECT COUNT(*) FROM purchases q WHERE q.customer_id = purchases.customer_id
    AND (q.purchased_at < purchases.purchased_at OR (q.purchased_at = purchases.purchased_at AND q.id <= purchases.id))
);
UPDATE purchases SET number = -number;
