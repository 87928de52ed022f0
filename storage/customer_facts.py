"""Purchase and points figures of one customer, for the lead card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from storage.db import Database
from storage.timefmt import from_db


@dataclass(frozen=True)
class PurchaseFacts:
    count: int | None = None
    total: Decimal | None = None
    last_at: datetime | None = None
    points: int | None = None
    tier: str | None = None


async def purchase_facts(db: Database, customer_id: int) -> PurchaseFacts:
    """Number, total and last time of purchases, and the points balance (the tier is the flow's to add)."""
    row = await db.fetch_one(
        "SELECT COUNT(*), COALESCE(SUM(amount_cents), 0), MAX(purchased_at) FROM purchases WHERE customer_id = ?",
        (customer_id,),
    )
    assert row is not None
    points = await db.fetch_value(
        "SELECT COALESCE(SUM(delta), 0) FROM points_ledger WHERE customer_id = ?", (customer_id,)
    )
    return PurchaseFacts(
        count=int(row[0]),
        total=Decimal(int(row[1])) / 100,
        last_at=from_db(row[2]) if row[2] else None,
        points=int(points),
    )
