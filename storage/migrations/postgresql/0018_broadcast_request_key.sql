-- PostgreSQL twin of ../0018_broadcast_request_key.sql: a console form's one-time key, so a second submit
-- of the same form finds the broadcast the first made.
ALTER TABLE broadcasts ADD COLUMN request_key TEXT COLLATE "C";
CREATE UNIQUE INDEX broadcasts_request_key ON broadcasts (request_key) WHERE request_key IS NOT NULL;
