-- PostgreSQL twin of ../0023_instances_leases.sql: instances with heartbeats, named leases, and who
-- claimed an outbox row.
CREATE TABLE instances (
    id          TEXT COLLATE "C" PRIMARY KEY,
    host        TEXT COLLATE "C" NOT NULL,
    pid         BIGINT NOT NULL,
    started_at  TEXT COLLATE "C" NOT NULL,
    seen_at     TEXT COLLATE "C" NOT NULL
);
CREATE INDEX instances_seen ON instances (seen_at);

CREATE TABLE leases (
    name        TEXT COLLATE "C" PRIMARY KEY,
    holder      TEXT COLLATE "C" NOT NULL,
    expires_at  TEXT COLLATE "C" NOT NULL
);

ALTER TABLE outbox ADD COLUMN claimed_by TEXT COLLATE "C";
