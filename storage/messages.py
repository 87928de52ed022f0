"""The last few messages each customer wrote, for the lead card a manager sees; pruned, never a log.

Several processes: each notes the messages it handled and flushes them (each tick, at shutdown). A lead
card built by one process shows what it has noted itself and what the others have flushed, so a message
that another process handled in the last moments before the lead opened may be missing from the card
(the managers see the conversation from then on); a dead process's unflushed messages are lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.timefmt import from_db, to_db
from storage.written_behind import WRITTEN_BEHIND, Noted, insert_for_present_customers

KEEP_PER_CUSTOMER = 10


@dataclass(frozen=True)
class RecentMessage:
    kind: str
    text: str | None
    at: datetime


class MessagesRepo:
    """Written behind: `remember` runs on nearly every customer message, so rows are kept in memory and
    written together by `flush` (a periodic job and shutdown); `recent` reads both."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: Noted[tuple[int, str, str | None, str]] = Noted()

    async def remember(self, customer_id: int, kind: str, text: str | None, now: datetime) -> None:
        """Keep this message; older ones beyond the last few are dropped when written."""
        self._pending.add((customer_id, kind, (text or "")[:1000] or None, to_db(now)))

    async def flush(self) -> int:
        """Write the remembered messages in one transaction; nothing for a customer forgotten meanwhile."""
        async with self._pending.taken() as pending:
            if not pending:
                return 0
            async with self._db.transaction(WRITTEN_BEHIND) as tx:  # scoped: see WRITTEN_BEHIND
                await insert_for_present_customers(
                    tx, "customer_messages", ("customer_id", "kind", "text", "created_at"), pending
                )
                for customer_id in sorted({row[0] for row in pending}):
                    await tx.execute(
                        "DELETE FROM customer_messages WHERE customer_id = ? AND id NOT IN"
                        " (SELECT id FROM customer_messages WHERE customer_id = ? ORDER BY id DESC LIMIT ?)",
                        (customer_id, customer_id, KEEP_PER_CUSTOMER),
                    )
            return len(pending)

    async def recent(self, customer_id: int, limit: int = 5) -> list[RecentMessage]:
        """The customer's latest messages, oldest first (written ones and those still waiting for a flush)."""
        rows = await self._db.fetch_all(
            "SELECT kind, text, created_at FROM customer_messages WHERE customer_id = ? ORDER BY id DESC LIMIT ?",
            (customer_id, limit),
        )
        written = [(row[0], row[1], row[2]) for row in reversed(rows)]
        waiting = [(kind, text, at) for who, kind, text, at in self._pending.rows if who == customer_id]
        return [RecentMessage(kind, text, from_db(at)) for kind, text, at in (written + waiting)[-limit:]]  # type: ignore[arg-type]
