-- PostgreSQL twin of ../0014_console_access.sql: the console's one-time login links and sessions (hashes
-- of the secrets only).
CREATE TABLE console_logins (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    tg_id BIGINT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL,
    used_at TEXT COLLATE "C"
);
CREATE INDEX console_logins_expiry ON console_logins (expires_at);

CREATE TABLE console_sessions (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    tg_id BIGINT NOT NULL,
    csrf TEXT COLLATE "C" NOT NULL,
    language TEXT COLLATE "C" NOT NULL,
    via TEXT COLLATE "C" NOT NULL CHECK (via IN ('link', 'mini_app')),
    created_at TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX console_sessions_person ON console_sessions (tg_id);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
