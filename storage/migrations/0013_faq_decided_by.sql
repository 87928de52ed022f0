-- Who chose the entry of a question answered outright: the matcher, or the language model asked about a
-- close call (FAQ_LLM_URL). The score stays the matcher's.
ALTER TABLE faq_log ADD COLUMN decided_by TEXT NOT NULL DEFAULT 'matcher' CHECK (decided_by IN ('matcher', 'model'));
