-- PostgreSQL twin of ../0013_faq_decided_by.sql: who chose the entry of a question answered outright.
ALTER TABLE faq_log ADD COLUMN decided_by TEXT COLLATE "C" NOT NULL DEFAULT 'matcher'
    CHECK (decided_by IN ('matcher', 'model'));
