"""The append-only event history (started, tag_added, opted_out, purchase, clicked, lead …)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from storage.db import Database, Row, Tx
from storage.timefmt import to_db


async def append_event(
    tx: Tx, customer_id: int | None, kind: str, now: datetime, data: dict[str, Any] | None = None
) -> int:
    """Record one event inside the caller's transaction, so it commits with the change it describes."""
    payload = json.dumps(data, ensure_ascii=False, sort_keys=True) if data else None
    return await tx.insert(
        "INSERT INTO events (customer_id, kind, data, created_at) VALUES (?, ?, ?, ?)",
        (customer_id, kind, payload, to_db(now)),
    )


async def append_click(tx: Tx, customer_id: int, now: datetime, data: dict[str, Any]) -> bool:
    """Record a button press once per customer and button (`data` names the button); False when this
    customer pressed it before, so repeated presses neither add rows nor inflate click counts."""
    payload = json.dumps(data, ensure_ascii=False, sort_keys=True)
    # The (customer_id, kind) index narrows the check to this customer's few clicks; writes are serialised
    # by the single writer, so two concurrent presses cannot both pass it.
    changed = await tx.execute(
        "INSERT INTO events (customer_id, kind, data, created_at) SELECT ?, 'clicked', ?, ?"
        " WHERE NOT EXISTS (SELECT 1 FROM events WHERE customer_id = ? AND kind = 'clicked' AND data = ?)",
        (customer_id, payload, to_db(now), customer_id, payload),
    )
    return changed > 0


class EventsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self, customer_id: int | None, kind: str, now: datetime, data: dict[str, Any] | None = None
    ) -> int:
        async with self._db.transaction() as tx:
            return await append_event(tx, customer_id, kind, now, data)

    async def kinds_for(self, customer_id: int) -> list[str]:
        """The kinds of the customer's events, oldest first (for tests and the profile)."""
        rows = await self._db.fetch_all(
            "SELECT kind FROM events WHERE customer_id = ? ORDER BY id", (customer_id,)
        )
        return [row[0] for row in rows]

    async def count(self, kind: str, since: datetime | None = None) -> int:
        if since is None:
            return int(await self._db.fetch_value("SELECT COUNT(*) FROM events WHERE kind = ?", (kind,)))
        return int(
            await self._db.fetch_value(
                "SELECT COUNT(*) FROM events WHERE kind = ? AND created_at >= ?", (kind, to_db(since))
            )
        )


async def events_after(tx: Tx, cursor: int, kinds: tuple[str, ...], limit: int) -> list[Row]:
    """Events newer than a cursor, of the given kinds, oldest first."""
    marks = ", ".join("?" for _ in kinds)
    return await tx.fetch_all(
        f"SELECT id, customer_id, kind, data, created_at FROM events WHERE id > ? AND kind IN ({marks})"
        " ORDER BY id LIMIT ?",
        (cursor, *kinds, limit),
    )


async def last_event_id(tx: Tx) -> int:
    row = await tx.fetch_one("SELECT COALESCE(MAX(id), 0) FROM events")
    return int(row[0]) if row else 0
