-- Conversations end: when each side last wrote, so a taken lead nobody writes in is closed as "no answer"
-- (LEAD_IDLE_CLOSE_HOURS) and /leads can say how long a customer has waited for an answer.
ALTER TABLE leads ADD COLUMN last_customer_at TEXT;   -- the customer's last message relayed to the managers
ALTER TABLE leads ADD COLUMN last_manager_at TEXT;    -- a manager's last message relayed to the customer
ALTER TABLE leads ADD COLUMN close_reason TEXT;       -- NULL: closed by a manager; 'no_answer': closed for silence
CREATE INDEX leads_taken_idle ON leads (state, taken_at);
