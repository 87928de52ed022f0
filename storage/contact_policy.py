"""Queries behind the contact policy (README "Contact policy"): when a customer was last asked or answered."""

from __future__ import annotations

from datetime import datetime

from storage.db import Tx
from storage.timefmt import to_db

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
