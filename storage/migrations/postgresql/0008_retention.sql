-- PostgreSQL twin of ../0008_retention.sql: a broadcast's message stored once, its results kept when its
-- rows are pruned, and the indexes the daily pruning reads.
ALTER TABLE broadcasts ADD COLUMN payload TEXT COLLATE "C";
-- Delivery, clicks and attribution frozen (JSON) before the broadcast's outbox rows are pruned.
ALTER TABLE broadcasts ADD COLUMN results TEXT COLLATE "C";

-- Existing broadcasts: keep one copy of the message and drop the copies from the rows that match it.
UPDATE broadcasts SET payload = (SELECT o.payload FROM outbox o WHERE o.broadcast_id = broadcasts.id ORDER BY o.id LIMIT 1)
WHERE payload IS NULL AND EXISTS (SELECT 1 FROM outbox o WHERE o.broadcast_id = broadcasts.id);
UPDATE outbox SET payload = '{}'
WHERE broadcast_id IS NOT NULL AND kind = 'broadcast'
  AND payload = (SELECT b.payload FROM broadcasts b WHERE b.id = outbox.broadcast_id);

-- Outbox rows a lead card points at are kept while the lead is; pruning asks "is this row a card?".
CREATE INDEX leads_card ON leads (card_outbox_id) WHERE card_outbox_id IS NOT NULL;
CREATE INDEX leads_closed ON leads (closed_at);
CREATE INDEX sale_drafts_updated ON sale_drafts (updated_at);
CREATE INDEX staff_invites_expires ON staff_invites (expires_at);
