"""Loyalty and purchase figures for the lead card, read defensively.

The purchases and points tables arrive with the loyalty feature; until then (or if their shape
differs) every figure is None and the card shows "—". Extend `purchase_facts` when loyalty lands.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from storage.db import Database
from storage.timefmt import from_db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurchaseFacts:
    count: int | None = None
    total: Decimal | None = None
    last_at: datetime | None = None
    points: int | None = None
    tier: str | None = None


async def _columns(db: Database, table: str) -> set[str]:
    rows = await db.fetch_all("SELECT name FROM pragma_table_info(?)", (table,))
    return {row[0] for row in rows}


async def purchase_facts(db: Database, customer_id: int) -> PurchaseFacts:
    """Purchases (number, total, last) and points of a customer, or Nones where the data is not there."""
    count = total = last_at = points = None
    try:
        purchase_columns = await _columns(db, "purchases")
        if {"customer_id", "amount", "created_at"} <= purchase_columns:
            row = await db.fetch_one(
                "SELECT COUNT(*), COALESCE(SUM(amount), 0), MAX(created_at) FROM purchases WHERE customer_id = ?",
                (customer_id,),
            )
            if row is not None:
                count, total = int(row[0]), Decimal(str(row[1]))
                last_at = from_db(row[2]) if row[2] else None
        if {"customer_id", "delta"} <= await _columns(db, "points_ledger"):
            points = int(
                await db.fetch_value(
                    "SELECT COALESCE(SUM(delta), 0) FROM points_ledger WHERE customer_id = ?", (customer_id,)
                )
            )
    except (sqlite3.Error, ValueError, ArithmeticError):  # a card without figures beats no card at all
        log.warning("could not read purchase figures for customer %s", customer_id, exc_info=True)
    return PurchaseFacts(count=count, total=total, last_at=last_at, points=points)
