-- One durable outbox for every message the bot sends on its own, and sequence enrolments.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,            -- the same message can never be queued twice
    customer_id      INTEGER REFERENCES customers(id),
    chat_id          INTEGER NOT NULL,
    kind             TEXT NOT NULL,                   -- sequence | broadcast | birthday | winback | notice …
    payload          TEXT NOT NULL,                   -- JSON: text, photo, buttons
    transactional    INTEGER NOT NULL DEFAULT 0,      -- 1: answers, receipts — exempt from opt-out/quiet/budget
    enrollment_id    INTEGER REFERENCES enrollments(id),
    step_index       INTEGER,                         -- which step of the enrolment this is
    broadcast_id     INTEGER,
    due_at           TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'cancelled', 'unknown')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    tg_message_id    INTEGER,
    created_at       TEXT NOT NULL,
    claimed_at       TEXT,
    sent_at          TEXT
);
CREATE INDEX outbox_due ON outbox (state, due_at);
CREATE INDEX outbox_customer_sent ON outbox (customer_id, sent_at);
CREATE INDEX outbox_enrollment ON outbox (enrollment_id);

CREATE TABLE enrollments (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    sequence      TEXT NOT NULL,
    step_index    INTEGER NOT NULL DEFAULT 0,          -- the next step to queue
    state         TEXT NOT NULL DEFAULT 'active'
                  CHECK (state IN ('active', 'paused', 'finished', 'exited')),
    exit_reason   TEXT,
    next_due_at   TEXT,                                -- NULL unless active
    started_at    TEXT NOT NULL,
    ended_at      TEXT
);
CREATE INDEX enrollments_due ON enrollments (state, next_due_at);
CREATE INDEX enrollments_customer ON enrollments (customer_id, sequence);

-- Updates already handled, so a restart that gets unconfirmed updates again never answers twice.
CREATE TABLE processed_updates (
    update_id  INTEGER PRIMARY KEY,
    seen_at    TEXT NOT NULL
);
CREATE INDEX processed_updates_seen ON processed_updates (seen_at);
