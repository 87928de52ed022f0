-- Several bot processes on one database (PostgreSQL; SQLite has one, and the same tables).
-- Each running process is an instance with a heartbeat: one whose heartbeat is older than the lease
-- (flows/liveness.py) is taken for dead. The outbox records which instance claimed a row, so a live
-- process's in-flight rows are never taken for a crash's leftovers, and a dead one's are (never resent).
CREATE TABLE instances (
    id          TEXT PRIMARY KEY,          -- random, new at every start
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    started_at  TEXT NOT NULL,
    seen_at     TEXT NOT NULL              -- the last heartbeat
);
CREATE INDEX instances_seen ON instances (seen_at);

-- Named leases one instance holds at a time: 'leader' (the periodic jobs that must run once per tick)
-- and 'polling' (long polling: one poller per bot). A lease whose time ran out is free for the taking.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,             -- instances.id
    expires_at  TEXT NOT NULL
);

ALTER TABLE outbox ADD COLUMN claimed_by TEXT;  -- instances.id of the claimer while 'sending'
