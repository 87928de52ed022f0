"""Running bot processes (instances) with their heartbeats, and the named leases they hold.

Both are plain rows on both engines: a lease is taken by a conditional upsert in a write transaction (one
writer at a time on both engines), so exactly one instance wins it. Moments are the instances' own
clocks, stored as UTC text like every moment here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.timefmt import from_db, to_db

# Take the lease when it is free, ours already, or lapsed; otherwise change nothing (0 rows).
_TAKE = (
    "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
    " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
    " WHERE leases.holder = excluded.holder OR leases.expires_at < ?"
)


@dataclass(frozen=True)
class Instance:
    id: str
    host: str
    pid: int
    started_at: datetime
    seen_at: datetime


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    expires_at: datetime


class InstancesRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def beat(self, instance_id: str, host: str, pid: int, now: datetime) -> None:
        """Record an instance's heartbeat (its first one records it)."""
        await self._db.execute(
            "INSERT INTO instances (id, host, pid, started_at, seen_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
            (instance_id, host, pid, to_db(now), to_db(now)),
        )

    async def forget(self, instance_id: str) -> None:
        """An instance that stops cleanly: gone at once, and every lease it held is free."""
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM leases WHERE holder = ?", (instance_id,))
            await tx.execute("DELETE FROM instances WHERE id = ?", (instance_id,))

    async def forget_older(self, before: datetime) -> int:
        """Drop instances silent since before `before` (long dead: their rows were recovered long ago)."""
        return await self._db.execute("DELETE FROM instances WHERE seen_at < ?", (to_db(before),))

    async def get(self, instance_id: str) -> Instance | None:
        row = await self._db.fetch_one("SELECT * FROM instances WHERE id = ?", (instance_id,))
        if row is None:
            return None
        return Instance(
            row["id"], row["host"], int(row["pid"]), _moment(row["started_at"]), _moment(row["seen_at"])
        )

    async def alive(self, since: datetime) -> list[str]:
        """Ids of the instances heard from at or after `since`."""
        rows = await self._db.fetch_all("SELECT id FROM instances WHERE seen_at >= ? ORDER BY id", (to_db(since),))
        return [str(row[0]) for row in rows]


class LeasesRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def take(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Take or renew lease `name` for `holder` until `until`; False while another holds it unexpired."""
        changed = await self._db.execute(_TAKE, (name, holder, to_db(until), to_db(now)))
        return changed == 1

    async def give_up(self, name: str, holder: str) -> None:
        """Free a lease if `holder` has it."""
        await self._db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    async def get(self, name: str) -> Lease | None:
        row = await self._db.fetch_one("SELECT * FROM leases WHERE name = ?", (name,))
        if row is None:
            return None
        return Lease(row["name"], row["holder"], _moment(row["expires_at"]))


def _moment(text: str) -> datetime:
    """A stored moment of a NOT NULL column."""
    moment = from_db(text)
    assert moment is not None
    return moment
