-- Teaching the FAQ from the questions it missed: what a question means, the owner's new entries, and
-- "not our topic" examples. The owner's to keep: forgetting a customer unlinks their questions (faq_log)
-- from these rows but leaves the phrasings, which nothing ties to the person.
CREATE TABLE faq_owner_entries (
    id          INTEGER PRIMARY KEY,                   -- the entry's id is 't.' || id ('.' is never in a content id)
    language    TEXT NOT NULL,                         -- the language its texts are filed under (the business's default)
    question    TEXT NOT NULL,                         -- its title in /faq and first phrasing
    answer      TEXT NOT NULL,                         -- plain text as the owner typed it (escaped when shown)
    created_by  INTEGER,                               -- the owner's Telegram id
    created_at  TEXT NOT NULL
);

CREATE TABLE faq_taught (
    id          INTEGER PRIMARY KEY,
    text        TEXT NOT NULL,                         -- a way of asking, as a customer put it
    entry       TEXT,                                  -- the entry it means (content or 't.N'); NULL: not our topic
    source      TEXT NOT NULL CHECK (source IN ('owner', 'customers')),
    taught_by   INTEGER,                               -- the owner's Telegram id; NULL when learned from taps
    created_at  TEXT NOT NULL
);
CREATE INDEX faq_taught_entry ON faq_taught (entry);

ALTER TABLE faq_log ADD COLUMN offered TEXT;           -- the entries offered in a close call, space-separated
ALTER TABLE faq_log ADD COLUMN chosen TEXT;            -- the one of them the customer tapped
ALTER TABLE faq_log ADD COLUMN taught_id INTEGER;      -- the phrasing it became: handled, off the owner's list
ALTER TABLE faq_log ADD COLUMN declined INTEGER NOT NULL DEFAULT 0;  -- like a "not our topic" example: handled
CREATE INDEX faq_log_chosen ON faq_log (chosen, created_at) WHERE chosen IS NOT NULL;
CREATE INDEX faq_log_taught ON faq_log (taught_id) WHERE taught_id IS NOT NULL;
