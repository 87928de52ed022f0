-- PostgreSQL twin of ../0010_lead_activity.sql: when each side of a conversation last wrote.
ALTER TABLE leads ADD COLUMN last_customer_at TEXT COLLATE "C";  -- the customer's last message relayed to the managers
ALTER TABLE leads ADD COLUMN last_manager_at TEXT COLLATE "C";   -- a manager's last message relayed to the customer
ALTER TABLE leads ADD COLUMN close_reason TEXT COLLATE "C";      -- NULL: closed by a manager; 'no_answer': for silence
CREATE INDEX leads_taken_idle ON leads (state, taken_at);
