-- A broadcast made from the console's form carries the form's one-time key: a second submit of the same
-- form (a double click, a reload that re-posts) finds the broadcast the first made instead of a new one.
ALTER TABLE broadcasts ADD COLUMN request_key TEXT;
CREATE UNIQUE INDEX broadcasts_request_key ON broadcasts (request_key) WHERE request_key IS NOT NULL;
