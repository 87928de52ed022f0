"""Purchases and their items, sale drafts (a sale being entered in Telegram) and satisfaction scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from storage.db import Database, Row, Tx
from storage.timefmt import from_db, to_db


@dataclass(frozen=True)
class Item:
    name: str
    category: str | None = None
    quantity: Decimal = Decimal(1)
    amount: Decimal | None = None


@dataclass(frozen=True)
class PurchaseRow:
    id: int
    customer_id: int
    number: int
    amount: Decimal
    points_spent: int
    category: str | None
    source: str
    external_id: str | None
    staff_tg_id: int | None
    purchased_at: datetime
    created_at: datetime


def _purchase(row: Row) -> PurchaseRow:
    return PurchaseRow(
        id=row["id"],
        customer_id=row["customer_id"],
        number=row["number"],
        amount=Decimal(row["amount"]),
        points_spent=row["points_spent"],
        category=row["category"],
        source=row["source"],
        external_id=row["external_id"],
        staff_tg_id=row["staff_tg_id"],
        purchased_at=from_db(row["purchased_at"]),  # type: ignore[arg-type]
        created_at=from_db(row["created_at"]),  # type: ignore[arg-type]
    )


async def by_external_id(tx: Tx, source: str, external_id: str) -> PurchaseRow | None:
    row = await tx.fetch_one("SELECT * FROM purchases WHERE source = ? AND external_id = ?", (source, external_id))
    return _purchase(row) if row else None


async def purchase_in(tx: Tx, purchase_id: int) -> PurchaseRow | None:
    row = await tx.fetch_one("SELECT * FROM purchases WHERE id = ?", (purchase_id,))
    return _purchase(row) if row else None


async def stats_of(tx: Tx, customer_id: int) -> tuple[int, Decimal]:
    """(number of purchases, total spent in money) so far."""
    row = await tx.fetch_one(
        "SELECT COUNT(*), COALESCE(SUM(amount_cents), 0) FROM purchases WHERE customer_id = ?", (customer_id,)
    )
    assert row is not None
    return int(row[0]), Decimal(int(row[1])) / 100


async def make_room(tx: Tx, customer_id: int, purchased_at: datetime) -> int:
    """The number a purchase at `purchased_at` takes among the customer's purchases, in time order (ties: the
    one recorded first keeps the lower number); later purchases move up by one to make room for it.

    Numbers always follow (purchased_at, id), however purchases arrive: a CSV in any order, a back-dated API
    call, a live sale. SQLite checks UNIQUE (customer_id, number) row by row, so the shift goes through
    negative numbers. purchase_totals is kept by its insert trigger and does not depend on numbers.
    """
    stamp = to_db(purchased_at)
    row = await tx.fetch_one(
        "SELECT COUNT(*) FROM purchases WHERE customer_id = ? AND purchased_at <= ?", (customer_id, stamp)
    )
    number = int(row[0]) + 1 if row else 1
    moved = await tx.execute(
        "UPDATE purchases SET number = -(number + 1) WHERE customer_id = ? AND purchased_at > ?",
        (customer_id, stamp),
    )
    if moved:
        await tx.execute(
            "UPDATE purchases SET number = -number WHERE customer_id = ? AND number < 0", (customer_id,)
        )
    return number


async def insert_purchase(
    tx: Tx,
    *,
    customer_id: int,
    number: int,
    amount: Decimal,
    points_spent: int,
    category: str | None,
    source: str,
    external_id: str | None,
    staff_tg_id: int | None,
    purchased_at: datetime,
    now: datetime,
    items: Sequence[Item] = (),
) -> int:
    purchase_id = await tx.insert(
        "INSERT INTO purchases (customer_id, number, amount, amount_cents, points_spent, category, source,"
        " external_id, staff_tg_id, purchased_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            customer_id,
            number,
            str(amount),
            int(amount * 100),
            points_spent,
            category,
            source,
            external_id,
            staff_tg_id,
            to_db(purchased_at),
            to_db(now),
        ),
    )
    # Nobody buys before they were first seen: an imported customer's first-seen is their earliest purchase.
    await tx.execute(
        "UPDATE customers SET first_seen_at = ? WHERE id = ? AND first_seen_at > ?",
        (to_db(purchased_at), customer_id, to_db(purchased_at)),
    )
    for position, item in enumerate(items, 1):
        await tx.execute(
            "INSERT INTO purchase_items (purchase_id, position, name, category, quantity, amount)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                purchase_id,
                position,
                item.name,
                item.category,
                str(item.quantity),
                None if item.amount is None else str(item.amount),
            ),
        )
    return purchase_id


# ---- sale drafts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    id: int
    staff_tg_id: int
    customer_id: int
    state: str
    amount: Decimal | None
    category: str | None
    points: int
    purchase_id: int | None
    updated_at: datetime


def _draft(row: Row) -> Draft:
    return Draft(
        id=row["id"],
        staff_tg_id=row["staff_tg_id"],
        customer_id=row["customer_id"],
        state=row["state"],
        amount=Decimal(row["amount"]) if row["amount"] is not None else None,
        category=row["category"],
        points=row["points"],
        purchase_id=row["purchase_id"],
        updated_at=from_db(row["updated_at"]),  # type: ignore[arg-type]
    )


OPEN_STATES = ("amount", "category", "summary", "awaiting_customer")


async def draft_in(tx: Tx, draft_id: int) -> Draft | None:
    row = await tx.fetch_one("SELECT * FROM sale_drafts WHERE id = ?", (draft_id,))
    return _draft(row) if row else None


async def update_draft(tx: Tx, draft_id: int, now: datetime, **fields: object) -> None:
    names = sorted(fields)
    assignments = ", ".join(f"{name} = ?" for name in names)
    values = [str(v) if isinstance(v, Decimal) else v for v in (fields[n] for n in names)]
    await tx.execute(
        f"UPDATE sale_drafts SET {assignments}, updated_at = ? WHERE id = ?", (*values, to_db(now), draft_id)
    )


class PurchasesRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, purchase_id: int) -> PurchaseRow | None:
        row = await self._db.fetch_one("SELECT * FROM purchases WHERE id = ?", (purchase_id,))
        return _purchase(row) if row else None

    async def of_customer(self, customer_id: int) -> list[PurchaseRow]:
        rows = await self._db.fetch_all(
            "SELECT * FROM purchases WHERE customer_id = ? ORDER BY number", (customer_id,)
        )
        return [_purchase(row) for row in rows]

    async def count(self) -> int:
        return int(await self._db.fetch_value("SELECT COUNT(*) FROM purchases"))

    async def stats(self, customer_id: int) -> tuple[int, Decimal]:
        row = await self._db.fetch_one(
            "SELECT COUNT(*), COALESCE(SUM(amount_cents), 0) FROM purchases WHERE customer_id = ?",
            (customer_id,),
        )
        assert row is not None
        return int(row[0]), Decimal(int(row[1])) / 100

    async def items(self, purchase_id: int) -> list[Item]:
        rows = await self._db.fetch_all(
            "SELECT * FROM purchase_items WHERE purchase_id = ? ORDER BY position", (purchase_id,)
        )
        return [
            Item(
                row["name"],
                row["category"],
                Decimal(row["quantity"]),
                Decimal(row["amount"]) if row["amount"] is not None else None,
            )
            for row in rows
        ]

    # ---- drafts ----

    async def open_draft(self, staff_tg_id: int, customer_id: int, state: str, now: datetime) -> Draft:
        """Start a new draft for this staff member, cancelling any older open one."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE sale_drafts SET state = 'cancelled', updated_at = ? WHERE staff_tg_id = ?"
                " AND state IN ('amount', 'category', 'summary', 'awaiting_customer')",
                (to_db(now), staff_tg_id),
            )
            draft_id = await tx.insert(
                "INSERT INTO sale_drafts (staff_tg_id, customer_id, state, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (staff_tg_id, customer_id, state, to_db(now), to_db(now)),
            )
            draft = await draft_in(tx, draft_id)
        assert draft is not None
        return draft

    async def current_draft(self, staff_tg_id: int) -> Draft | None:
        row = await self._db.fetch_one(
            "SELECT * FROM sale_drafts WHERE staff_tg_id = ? AND state IN"
            " ('amount', 'category', 'summary', 'awaiting_customer') ORDER BY id DESC LIMIT 1",
            (staff_tg_id,),
        )
        return _draft(row) if row else None

    async def draft(self, draft_id: int) -> Draft | None:
        row = await self._db.fetch_one("SELECT * FROM sale_drafts WHERE id = ?", (draft_id,))
        return _draft(row) if row else None

    async def update_draft(self, draft_id: int, now: datetime, **fields: object) -> None:
        async with self._db.transaction() as tx:
            await update_draft(tx, draft_id, now, **fields)


async def record_feedback(tx: Tx, purchase_id: int, customer_id: int, score: int, now: datetime) -> bool:
    """Store the first score for a purchase; False when it was rated before."""
    changed = await tx.execute(
        "INSERT INTO purchase_feedback (purchase_id, customer_id, score, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (purchase_id) DO NOTHING",
        (purchase_id, customer_id, score, to_db(now)),
    )
    return changed == 1
