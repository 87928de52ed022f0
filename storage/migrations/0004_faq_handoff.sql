-- Questions asked of the FAQ, customers' recent messages, leads handed to managers and their topics.
CREATE TABLE faq_log (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER REFERENCES customers(id),      -- NULL once the customer was forgotten
    text         TEXT NOT NULL,                         -- '' once the customer was forgotten
    normalized   TEXT NOT NULL,                         -- groups the same question asked differently
    outcome      TEXT NOT NULL CHECK (outcome IN ('answered', 'suggested', 'missed')),
    entry        TEXT,                                  -- the FAQ entry answered, if any
    score        REAL NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL
);
CREATE INDEX faq_log_time ON faq_log (created_at, outcome);
CREATE INDEX faq_log_customer ON faq_log (customer_id);

-- The last few messages of each customer, for the lead card (pruned; deleted by /forget).
CREATE TABLE customer_messages (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    kind         TEXT NOT NULL,                         -- text | photo | document | voice | …
    text         TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX customer_messages_customer ON customer_messages (customer_id, id);
CREATE INDEX customer_messages_time ON customer_messages (created_at);

CREATE TABLE leads (
    id               INTEGER PRIMARY KEY,
    customer_id      INTEGER NOT NULL REFERENCES customers(id),
    state            TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'taken', 'won', 'lost')),
    cause            TEXT NOT NULL,                     -- manager | interested | offer | faq_miss | low_score | keyword
    context          TEXT,                              -- what exactly: the offer, the question, the score …
    offer            TEXT,                              -- the sequence, broadcast or offer it came from
    chat_id          INTEGER NOT NULL,                  -- the manager chat the card went to
    thread_id        INTEGER,                           -- the customer's forum topic; NULL in reply mode
    card_outbox_id   INTEGER REFERENCES outbox(id),
    taken_by         INTEGER,
    taken_by_name    TEXT,
    taken_at         TEXT,
    first_answer_at  TEXT,
    closed_by        INTEGER,
    closed_by_name   TEXT,
    closed_at        TEXT,
    reminders        INTEGER NOT NULL DEFAULT 0,
    remind_at        TEXT,                              -- next "nobody took it" reminder; NULL when none
    created_at       TEXT NOT NULL
);
-- One conversation per customer at a time: a second trigger joins the open lead.
CREATE UNIQUE INDEX leads_one_open ON leads (customer_id) WHERE state IN ('open', 'taken');
CREATE INDEX leads_remind ON leads (state, remind_at);
CREATE INDEX leads_created ON leads (created_at);

-- Forum mode: each customer's topic in the manager chat, reused for later conversations.
CREATE TABLE manager_topics (
    customer_id  INTEGER PRIMARY KEY REFERENCES customers(id),
    chat_id      INTEGER NOT NULL,
    thread_id    INTEGER NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX manager_topics_thread ON manager_topics (chat_id, thread_id);

-- Which lead a message posted in the manager chat belongs to, so a manager's reply finds its customer.
ALTER TABLE outbox ADD COLUMN lead_id INTEGER REFERENCES leads(id);
CREATE INDEX outbox_posted ON outbox (chat_id, tg_message_id);
