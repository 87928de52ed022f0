"""Queries behind the contact policy (README "Contact policy"): when a customer was last asked or answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Tx
from storage.timefmt import from_db, to_db

SATISFACTION = "satisfaction"  # the outbox kind of the satisfaction question


async def asked_or_answered_since(tx: Tx, customer_id: int, since: datetime) -> bool:
    """True when the customer was asked the satisfaction question (queued, not dropped) or rated a purchase
    at or after `since`."""
    row = await tx.fetch_one(
        "SELECT 1 FROM outbox WHERE customer_id = ? AND kind = ? AND created_at >= ?"
        " AND state NOT IN ('cancelled', 'failed')"
        " UNION ALL SELECT 1 FROM purchase_feedback WHERE customer_id = ? AND created_at >= ? LIMIT 1",
        (customer_id, SATISFACTION, to_db(since), customer_id, to_db(since)),
    )
    return row is not None


async def drop_unsent_questions(tx: Tx, customer_id: int, reason: str) -> int:
    """Cancel the satisfaction questions still waiting for this customer (they have just answered one)."""
    return await tx.execute(
        "UPDATE outbox SET state = 'cancelled', last_error = ? WHERE customer_id = ? AND kind = ? AND state = 'pending'",
        (reason, customer_id, SATISFACTION),
    )


async def broadcast_ahead(db: Database, customer_id: int, until: datetime) -> datetime | None:
    """When the next broadcast that may reach this customer is due, if before `until`: one of their queued
    broadcast messages, or a broadcast scheduled for anyone (its audience is known only when it is queued)."""
    stamp = to_db(until)
    value = await db.fetch_value(
        "SELECT MIN(due) FROM ("
        " SELECT MIN(due_at) AS due FROM outbox WHERE customer_id = ? AND broadcast_id IS NOT NULL"
        "  AND state = 'pending' AND due_at <= ?"
        " UNION ALL SELECT MIN(COALESCE(send_at, created_at)) FROM broadcasts"
        "  WHERE state IN ('scheduled', 'queuing') AND COALESCE(send_at, created_at) <= ?) AS ahead",
        (customer_id, stamp, stamp),
    )
    return from_db(value) if value else None


@dataclass(frozen=True)
class HeldBack:
    """A broadcast's messages the sender moved later: how many, why, and until when (the latest)."""

    reason: str  # 'quiet hours' | 'contact budget'
    count: int
    until: datetime


async def held_back(db: Database, broadcast_id: int) -> list[HeldBack]:
    rows = await db.fetch_all(
        "SELECT last_error, COUNT(*), MAX(due_at) FROM outbox WHERE broadcast_id = ? AND state = 'pending'"
        " AND last_error IN ('quiet hours', 'contact budget') GROUP BY last_error ORDER BY last_error DESC",
        (broadcast_id,),
    )
    return [HeldBack(row[0], int(row[1]), from_db(row[2])) for row in rows]  # type: ignore[arg-type]
