"""The outbox: every proactive message is a row here before it is sent, keyed so it is queued once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flows.redaction import redact
from storage.db import Database, Row, Tx
from storage.dialect import engine_of, json_text, skip_locked
from storage.timefmt import from_db, to_db


@dataclass(frozen=True)
class NewMessage:
    """A message to queue."""

    key: str
    chat_id: int
    kind: str
    payload: dict[str, Any]
    due_at: datetime
    customer_id: int | None = None
    transactional: bool = False
    enrollment_id: int | None = None
    step_index: int | None = None
    broadcast_id: int | None = None
    lead_id: int | None = None


@dataclass(frozen=True)
class QueuedMessage:
    id: int
    key: str
    customer_id: int | None
    chat_id: int
    kind: str
    payload: dict[str, Any]
    transactional: bool
    enrollment_id: int | None
    broadcast_id: int | None
    due_at: datetime
    state: str
    attempts: int
    last_error: str | None
    tg_message_id: int | None = None
    lead_id: int | None = None


# A broadcast's message is stored once, on the broadcast; its recipients' rows hold only what is theirs.
# Every read of rows for sending selects it alongside (`shared_payload`) and `_payload` merges the two, so
# the sender sees a complete payload whatever the row's shape (rows queued before 0008 carry it whole).
_ROWS = "SELECT outbox.*, (SELECT b.payload FROM broadcasts b WHERE b.id = outbox.broadcast_id) AS shared_payload FROM outbox"


def _payload(row: Row) -> dict[str, Any]:
    own: dict[str, Any] = json.loads(row["payload"])
    shared = row["shared_payload"]
    return {**json.loads(shared), **own} if shared else own


def _queued(row: Row) -> QueuedMessage:
    return QueuedMessage(
        id=row["id"],
        key=row["idempotency_key"],
        customer_id=row["customer_id"],
        chat_id=row["chat_id"],
        kind=row["kind"],
        payload=_payload(row),
        transactional=bool(row["transactional"]),
        enrollment_id=row["enrollment_id"],
        broadcast_id=row["broadcast_id"],
        due_at=from_db(row["due_at"]),  # type: ignore[arg-type]
        state=row["state"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        tg_message_id=row["tg_message_id"],
        lead_id=row["lead_id"],
    )


# A paused broadcast's rows are neither listed nor claimed: checked again at claim time, so pausing also
# stops the rows a drain already listed (a drain can take 20 s to get through 500 rows).
_NOT_PAUSED = "(broadcast_id IS NULL OR NOT EXISTS (SELECT 1 FROM broadcasts b WHERE b.id = outbox.broadcast_id AND b.paused = 1))"

# No row of the chat is in flight: its next row waits (per-chat order, whichever process sends it).
_CHAT_IDLE = "NOT EXISTS (SELECT 1 FROM outbox s WHERE s.chat_id = outbox.chat_id AND s.state = 'sending')"

_INSERT = (
    "INSERT INTO outbox (idempotency_key, customer_id, chat_id, kind, payload, transactional, enrollment_id,"
    " step_index, broadcast_id, lead_id, due_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (idempotency_key) DO NOTHING"
)


async def enqueue(tx: Tx, message: NewMessage, now: datetime) -> bool:
    """Queue inside the caller's transaction; False when a message with this key was queued before."""
    changed = await tx.execute(
        _INSERT,
        (
            message.key,
            message.customer_id,
            message.chat_id,
            message.kind,
            json.dumps(message.payload, ensure_ascii=False),
            int(message.transactional),
            message.enrollment_id,
            message.step_index,
            message.broadcast_id,
            message.lead_id,
            to_db(message.due_at),
            to_db(now),
        ),
    )
    return changed > 0


class OutboxRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue(self, message: NewMessage, now: datetime) -> bool:
        async with self._db.transaction() as tx:
            return await enqueue(tx, message, now)

    async def due(self, now: datetime, limit: int) -> list[QueuedMessage]:
        """Pending rows whose time has come, oldest first (an indexed range scan on state, due_at)."""
        rows = await self._db.fetch_all(
            f"{_ROWS} WHERE state = 'pending' AND due_at <= ? AND {_NOT_PAUSED} ORDER BY due_at, id LIMIT ?",
            (to_db(now), limit),
        )
        return [_queued(row) for row in rows]

    async def claim(self, message_id: int, now: datetime, claimer: str = "") -> bool:
        """Mark a row as being sent by `claimer` (an instance id); only one claimer can win it.

        A chat keeps its order across processes: a row is not claimed while another row of its chat is
        'sending' anywhere. On PostgreSQL the row is taken with ``FOR UPDATE SKIP LOCKED``, so a claimer
        never waits on a row another one is taking, it just does not get it. (The chat check reads other
        rows: it relies on write transactions being serialized, which they are on both engines.)"""
        changed = await self._db.execute(
            "UPDATE outbox SET state = 'sending', claimed_at = ?, claimed_by = ? WHERE id IN ("
            f"SELECT id FROM outbox WHERE id = ? AND state = 'pending' AND {_NOT_PAUSED} AND {_CHAT_IDLE}"
            f"{skip_locked(engine_of(self._db))})",
            (to_db(now), claimer, message_id),
        )
        return changed == 1

    async def mark_sent(self, message_id: int, tg_message_id: int | None, now: datetime) -> None:
        await self._db.execute(
            "UPDATE outbox SET state = 'sent', tg_message_id = ?, sent_at = ?, last_error = NULL WHERE id = ?",
            (tg_message_id, to_db(now), message_id),
        )

    async def release(self, message_id: int, due_at: datetime, note: str | None = None) -> None:
        """Put a claimed row back to wait (rate limit, transient error), keeping its attempt count."""
        await self._db.execute(
            "UPDATE outbox SET state = 'pending', due_at = ?, last_error = COALESCE(?, last_error)"
            " WHERE id = ? AND state = 'sending'",
            (to_db(due_at), None if note is None else redact(note), message_id),
        )

    async def retry_later(self, message_id: int, due_at: datetime, error: str) -> None:
        """A transient failure: count the attempt and try again at `due_at`."""
        await self._db.execute(
            "UPDATE outbox SET state = 'pending', attempts = attempts + 1, due_at = ?, last_error = ?"
            " WHERE id = ? AND state = 'sending'",
            (to_db(due_at), redact(error), message_id),
        )

    async def postpone(self, message_id: int, due_at: datetime, note: str) -> None:
        """Move a pending row later without sending it (quiet hours, contact budget)."""
        await self._db.execute(
            "UPDATE outbox SET due_at = ?, last_error = ? WHERE id = ? AND state = 'pending'",
            (to_db(due_at), note, message_id),
        )

    async def finish(
        self,
        message_id: int,
        state: str,
        reason: str,
        follow_up: NewMessage | None = None,
        now: datetime | None = None,
        *,
        was: str | None = None,
    ) -> bool:
        """End a row as failed, cancelled or unknown, with the reason; queue `follow_up` (a notice about it)
        in the same transaction, so the failure is reported exactly once even if the process dies right
        after. With `was`, only a row still in that state is ended (False, and no notice, otherwise): a
        row another process claimed or recovered meanwhile is left to it."""
        guard = "" if was is None else " AND state = ?"
        params: tuple[object, ...] = (state, redact(reason), message_id) + (() if was is None else (was,))
        async with self._db.transaction() as tx:
            changed = await tx.execute(f"UPDATE outbox SET state = ?, last_error = ? WHERE id = ?{guard}", params)
            if changed and follow_up is not None:
                await enqueue(tx, follow_up, now or follow_up.due_at)
        return bool(changed)

    async def cancel_pending_for_customer(self, customer_id: int, reason: str) -> int:
        """Cancel what waits for a customer who blocked the bot; rows that must report their failure
        (a manager's reply) stay, and the sender reports each of them on its turn."""
        return await self._db.execute(
            "UPDATE outbox SET state = 'cancelled', last_error = ? WHERE customer_id = ? AND state = 'pending'"
            f" AND {json_text(engine_of(self._db), 'payload', 'on_fail')} IS NULL",
            (reason, customer_id),
        )

    async def lead_of_posted(self, chat_id: int, tg_message_id: int) -> int | None:
        """The lead a message the bot posted in a chat belongs to (a manager replied to it)."""
        value = await self._db.fetch_value(
            "SELECT lead_id FROM outbox WHERE chat_id = ? AND tg_message_id = ? AND lead_id IS NOT NULL",
            (chat_id, tg_message_id),
        )
        return None if value is None else int(value)

    async def interrupted(self, alive_since: datetime, me: str = "") -> list[QueuedMessage]:
        """Rows claimed but never confirmed whose claimer is gone (a crash mid-send): their fate is unknown,
        so never resend. Gone: an instance not heard from since `alive_since`, a claim from before claims
        named their instance, or `me` (the caller, which has nothing in flight when it asks)."""
        rows = await self._db.fetch_all(
            f"{_ROWS} WHERE state = 'sending' AND (claimed_by IS NULL OR claimed_by = ? OR NOT EXISTS ("
            "SELECT 1 FROM instances i WHERE i.id = outbox.claimed_by AND i.seen_at >= ?)) ORDER BY id",
            (me, to_db(alive_since)),
        )
        return [_queued(row) for row in rows]

    async def move_chat(self, old_chat_id: int, new_chat_id: int) -> int:
        """A group became a supergroup: what still waits for it goes to its new id."""
        return await self._db.execute(
            "UPDATE outbox SET chat_id = ? WHERE chat_id = ? AND state = 'pending'", (new_chat_id, old_chat_id)
        )

    async def proactive_sent_since(self, customer_id: int, since: datetime) -> list[datetime]:
        """Send times of non-transactional messages to this customer since a moment, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT sent_at FROM outbox WHERE customer_id = ? AND sent_at >= ? AND transactional = 0"
            " AND state = 'sent' ORDER BY sent_at",
            (customer_id, to_db(since)),
        )
        return [from_db(row[0]) for row in rows]  # type: ignore[misc]

    async def counts_by_state(self) -> dict[str, int]:
        rows = await self._db.fetch_all("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        return {row[0]: row[1] for row in rows}

    async def get(self, message_id: int) -> QueuedMessage | None:
        row = await self._db.fetch_one(f"{_ROWS} WHERE id = ?", (message_id,))
        return _queued(row) if row else None

    async def for_customer(self, customer_id: int) -> list[QueuedMessage]:
        rows = await self._db.fetch_all(f"{_ROWS} WHERE customer_id = ? ORDER BY id", (customer_id,))
        return [_queued(row) for row in rows]
