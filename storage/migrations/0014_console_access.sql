-- The owner's console: one-time login links the bot sends on /console, and the sessions they (or a
-- Telegram Mini App's signed initData) open. Only hashes of the secrets are stored: a copy of the
-- database lets nobody sign in.
CREATE TABLE console_logins (
    token_hash TEXT PRIMARY KEY,
    tg_id INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX console_logins_expiry ON console_logins (expires_at);

CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    tg_id INTEGER NOT NULL,
    csrf TEXT NOT NULL,
    language TEXT NOT NULL,
    via TEXT NOT NULL CHECK (via IN ('link', 'mini_app')),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX console_sessions_person ON console_sessions (tg_id);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
