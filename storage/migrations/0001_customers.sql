-- Customers and what the bot learns about them; staff; a small key-value store; the audit log.
CREATE TABLE customers (
    id               INTEGER PRIMARY KEY,
    tg_id            INTEGER UNIQUE,                 -- NULL once the customer asked to be forgotten
    first_name       TEXT,
    last_name        TEXT,
    username         TEXT,
    language         TEXT,                           -- Telegram's language_code as last seen
    chosen_language  TEXT,                           -- set when the customer picked one with /language
    phone            TEXT,
    birthday_day     INTEGER,
    birthday_month   INTEGER,
    birthday_year    INTEGER,
    source           TEXT,                           -- first-touch deep-link source
    referrer_id      INTEGER REFERENCES customers(id),
    opted_out        INTEGER NOT NULL DEFAULT 0,     -- 1: no marketing messages
    unreachable      INTEGER NOT NULL DEFAULT 0,     -- 1: the customer blocked the bot
    onboarding_step  TEXT,                           -- the step we are waiting for, NULL when none
    onboarded        INTEGER NOT NULL DEFAULT 0,     -- 1: the onboarding has been gone through once
    first_seen_at    TEXT NOT NULL,
    last_seen_at     TEXT NOT NULL,
    forgotten_at     TEXT
);
CREATE INDEX customers_birthday ON customers (birthday_month, birthday_day);

CREATE TABLE customer_tags (
    customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    tag          TEXT NOT NULL,
    added_at     TEXT NOT NULL,
    PRIMARY KEY (customer_id, tag)
);
CREATE INDEX customer_tags_tag ON customer_tags (tag);

-- Append-only history of what happened: feeds triggers, attribution and analytics.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER REFERENCES customers(id),
    kind         TEXT NOT NULL,
    data         TEXT,                               -- JSON
    created_at   TEXT NOT NULL
);
CREATE INDEX events_customer ON events (customer_id, kind);
CREATE INDEX events_kind_time ON events (kind, created_at);

CREATE TABLE staff (
    tg_id        INTEGER PRIMARY KEY,
    role         TEXT NOT NULL CHECK (role IN ('manager', 'cashier')),
    name         TEXT,
    added_by     INTEGER,
    added_at     TEXT NOT NULL,
    revoked_at   TEXT
);

CREATE TABLE kv (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    actor_tg_id INTEGER,
    action      TEXT NOT NULL,
    subject     TEXT,
    details     TEXT,                                -- JSON
    created_at  TEXT NOT NULL
);
