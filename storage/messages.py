"""The last few messages each customer wrote, for the lead card a manager sees; pruned, never a log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.timefmt import from_db, to_db

KEEP_PER_CUSTOMER = 10


@dataclass(frozen=True)
class RecentMessage:
    kind: str
    text: str | None
    at: datetime


class MessagesRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def remember(self, customer_id: int, kind: str, text: str | None, now: datetime) -> None:
        """Keep this message and drop the customer's older ones beyond the last few."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO customer_messages (customer_id, kind, text, created_at) VALUES (?, ?, ?, ?)",
                (customer_id, kind, (text or "")[:1000] or None, to_db(now)),
            )
            await tx.execute(
                "DELETE FROM customer_messages WHERE customer_id = ? AND id NOT IN"
                " (SELECT id FROM customer_messages WHERE customer_id = ? ORDER BY id DESC LIMIT ?)",
                (customer_id, customer_id, KEEP_PER_CUSTOMER),
            )

    async def recent(self, customer_id: int, limit: int = 5) -> list[RecentMessage]:
        """The customer's latest messages, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT kind, text, created_at FROM customer_messages WHERE customer_id = ? ORDER BY id DESC LIMIT ?",
            (customer_id, limit),
        )
        return [RecentMessage(row[0], row[1], from_db(row[2])) for row in reversed(rows)]  # type: ignore[arg-type]

    async def prune(self, before: datetime) -> int:
        return await self._db.execute("DELETE FROM customer_messages WHERE created_at < ?", (to_db(before),))
