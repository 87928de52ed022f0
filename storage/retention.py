"""Pruning old rows, table by table, in small batches: each batch is one short write transaction found by an
indexed range, and the writer lock is let go between batches, so the running bot's writes wait for one batch
at most, never for the whole clean-up. Batches are up to 2,000 rows and shrink when one holds the writer longer
than 100 ms (a slow disk, a loaded machine, a table with many indexes).

Only finished rows go: outbox rows that were sent, failed, cancelled or whose fate is unknown; closed leads;
drafts and invites nobody can use any more. Purchases, their items and the points ledger are the business's
books and are never pruned here. What a row still means to someone is kept: an outbox row a lead card points
at, messages of a conversation still open, events the sequences have not read yet.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from storage.db import Database, Params, Tx
from storage.kv import kv_get, kv_set
from storage.timefmt import to_db

BATCH = 2_000  # rows per transaction at most
MIN_BATCH = 100
HOLD_TARGET = 0.1  # seconds one batch may hold the writer before the next one is made smaller
EVENTS_MARK = "retention.events_upto"  # events with ids up to here were looked at already
FINISHED = "('sent', 'failed', 'cancelled', 'unknown')"
Step = Callable[[Tx, int], Awaitable[tuple[int, bool]]]


async def _paced(db: Database, step: Step, batch: int) -> int:
    """Run `step` (one batch of at most `size` rows → rows deleted, whether it was the last) in its own
    transaction until it is done; rows deleted. Batches start at `MIN_BATCH` rows; a quick one doubles the
    next (up to `batch`), one that held the writer longer than `HOLD_TARGET` halves it, so the bot's own
    writes wait about that long at most whatever the disk, the table or the machine's load."""
    floor = min(MIN_BATCH, batch)
    total, size = 0, floor  # start small: the first batch of a cold table is the slowest
    while True:
        async with db.transaction() as tx:
            started = time.perf_counter()
            deleted, done = await step(tx, size)
        held = time.perf_counter() - started
        total += max(deleted, 0)
        if done:
            return total
        if held > HOLD_TARGET:
            size = max(floor, size // 2)
        elif held < HOLD_TARGET / 4:
            size = min(batch, size * 2)
        await asyncio.sleep(0)  # let the writes that queued up meanwhile take the writer


async def _in_batches(db: Database, delete: str, params: Params, batch: int) -> int:
    """Run `delete` (ending in `LIMIT ?`) batch by batch until it deletes fewer than asked; rows deleted."""

    async def step(tx: Tx, size: int) -> tuple[int, bool]:
        deleted = await tx.execute(delete, (*params, size))
        return deleted, deleted < size

    return await _paced(db, step, batch)


async def prune_events(
    db: Database, before: datetime, upto_id: int, keep_kinds: Sequence[str], batch: int = BATCH
) -> int:
    """Delete events older than `before`, except `keep_kinds` and any event after `upto_id` (the sequences'
    cursor: what triggers have not read yet stays, however old).

    Events are walked by id (the primary key, in time order) from a mark kept in `kv`, a batch of ids per
    transaction, so the kept kinds left behind are never scanned again and no index on the time is needed.
    """
    marks = ", ".join("?" for _ in keep_kinds) or "NULL"

    async def step(tx: Tx, size: int) -> tuple[int, bool]:
        done, deleted = await _events_batch(tx, to_db(before), upto_id, tuple(keep_kinds), marks, size)
        return deleted, done

    return await _paced(db, step, batch)


async def _events_batch(
    tx: Tx, before: str, upto_id: int, keep: tuple[str, ...], marks: str, batch: int
) -> tuple[bool, int]:
    start = int(await kv_get(tx, EVENTS_MARK) or 0)
    row = await tx.fetch_one(
        "SELECT COUNT(*), MAX(id), MIN(CASE WHEN created_at >= ? THEN id END) FROM"
        " (SELECT id, created_at FROM events WHERE id > ? AND id <= ? ORDER BY id LIMIT ?) AS batch",
        (before, start, upto_id, batch),
    )
    assert row is not None
    count, last, first_young = int(row[0]), row[1], row[2]
    if count == 0:
        return True, 0
    end = int(first_young) - 1 if first_young is not None else int(last)
    deleted = await tx.execute(
        f"DELETE FROM events WHERE id > ? AND id <= ? AND kind NOT IN ({marks})", (start, end, *keep)
    )
    await kv_set(tx, EVENTS_MARK, str(end))
    return first_young is not None or count < batch, max(deleted, 0)


async def prune_outbox(db: Database, before: datetime, batch: int = BATCH) -> int:
    """Finished outbox rows due before `before`, except broadcasts' (they go with their broadcast, after its
    results are kept), lead cards a lead still points at and messages of conversations still open."""
    return await _in_batches(
        db,
        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
        # `+` keeps the planner on outbox_due (state, due_at): the old rows, not every non-broadcast row.
        f" WHERE state IN {FINISHED} AND due_at < ? AND +broadcast_id IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.card_outbox_id = outbox.id)"
        " AND (lead_id IS NULL OR NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = outbox.lead_id"
        " AND l.state IN ('open', 'taken'))) LIMIT ?)",
        (to_db(before),),
        batch,
    )


async def prune_broadcast_rows(db: Database, broadcast_id: int, batch: int = BATCH) -> int:
    """All finished outbox rows of one broadcast (whose results were kept on the broadcast first)."""
    return await _in_batches(
        db,
        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
        f" WHERE broadcast_id = ? AND state IN {FINISHED} LIMIT ?)",
        (broadcast_id,),
        batch,
    )


async def broadcasts_to_settle(db: Database, finished_before: datetime) -> list[int]:
    """Ended broadcasts whose rows are no longer needed (finished before the moment) and still there."""
    rows = await db.fetch_all(
        "SELECT b.id FROM broadcasts b WHERE b.state IN ('done', 'cancelled') AND b.finished_at < ?"
        " AND EXISTS (SELECT 1 FROM outbox o WHERE o.broadcast_id = b.id) ORDER BY b.finished_at",
        (to_db(finished_before),),
    )
    return [int(row[0]) for row in rows]


async def prune_ended_broadcasts(db: Database, before: datetime, batch: int = BATCH) -> int:
    """Broadcasts that ended before `before` and whose outbox rows are gone (their figures with them)."""
    return await _in_batches(
        db,
        "DELETE FROM broadcasts WHERE id IN (SELECT id FROM broadcasts WHERE state IN ('done', 'cancelled')"
        " AND finished_at < ? AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.broadcast_id = broadcasts.id)"
        " LIMIT ?)",
        (to_db(before),),
        batch,
    )


async def prune_broadcast_drafts(db: Database, before: datetime, batch: int = BATCH) -> int:
    """Broadcast drafts left or discarded before `before`."""
    return await _in_batches(
        db,
        "DELETE FROM broadcasts WHERE id IN (SELECT id FROM broadcasts WHERE state IN ('draft', 'discarded')"
        " AND created_at < ? LIMIT ?)",
        (to_db(before),),
        batch,
    )


async def prune_leads(db: Database, before: datetime, batch: int = BATCH) -> int:
    """Leads closed (won or lost) before `before`; the outbox rows that named them forget the link."""

    async def step(tx: Tx, size: int) -> tuple[int, bool]:
        rows = await tx.fetch_all(
            # `state || ''` keeps SQLite's planner on leads_closed (unary + would, but PostgreSQL has no + for text).
            "SELECT id FROM leads WHERE closed_at < ? AND state || '' IN ('won', 'lost') LIMIT ?",
            (to_db(before), size),
        )
        ids = [int(row[0]) for row in rows]
        if ids:
            marks = ", ".join("?" for _ in ids)
            await tx.execute(f"UPDATE outbox SET lead_id = NULL WHERE lead_id IN ({marks})", ids)
            await tx.execute(f"DELETE FROM leads WHERE id IN ({marks})", ids)
        return len(ids), len(ids) < size

    return await _paced(db, step, batch)


async def prune_by_time(db: Database, table: str, column: str, before: datetime, batch: int = BATCH) -> int:
    """Rows of a log table (`audit_log`, `faq_log`, `customer_messages`, `processed_updates`, `sale_drafts`)
    older than `before`, by the indexed time column."""
    if (table, column) not in _TIMED:
        raise ValueError(f"not a pruned log table: {table}.{column}")
    key = "update_id" if table == "processed_updates" else "id"
    return await _in_batches(
        db,
        f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {column} < ? LIMIT ?)",
        (to_db(before),),
        batch,
    )


_TIMED = frozenset(
    {
        ("audit_log", "created_at"),
        ("faq_log", "created_at"),
        ("customer_messages", "created_at"),
        ("processed_updates", "seen_at"),
        ("sale_drafts", "updated_at"),
    }
)


async def prune_processed_updates(db: Database, before: datetime, batch: int = BATCH) -> int:
    """Handled-update marks older than `before` (Telegram re-delivers updates for a day at most)."""
    return await prune_by_time(db, "processed_updates", "seen_at", before, batch)


async def prune_invites(db: Database, before: datetime, batch: int = BATCH) -> int:
    """Staff invites that expired (used or not) before `before`."""
    return await _in_batches(
        db,
        "DELETE FROM staff_invites WHERE token IN (SELECT token FROM staff_invites WHERE expires_at < ? LIMIT ?)",
        (to_db(before),),
        batch,
    )
