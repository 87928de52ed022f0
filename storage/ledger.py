"""The points ledger (append-only) and loyalty cards. The balance is always SUM(delta)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.customers import Customer, _customer
from storage.db import Database, Row, Tx
from storage.timefmt import from_db, to_db


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    customer_id: int
    kind: str  # accrual | redemption | bonus | expiry | adjustment
    delta: int
    purchase_id: int | None
    reason: str | None
    expires_entry_id: int | None
    expires_at: datetime | None
    key: str
    created_at: datetime


@dataclass(frozen=True)
class NewEntry:
    customer_id: int
    kind: str
    delta: int
    key: str
    purchase_id: int | None = None
    reason: str | None = None
    expires_entry_id: int | None = None
    expires_at: datetime | None = None
    actor_tg_id: int | None = None


def _entry(row: Row) -> LedgerEntry:
    return LedgerEntry(
        id=row["id"],
        customer_id=row["customer_id"],
        kind=row["kind"],
        delta=row["delta"],
        purchase_id=row["purchase_id"],
        reason=row["reason"],
        expires_entry_id=row["expires_entry_id"],
        expires_at=from_db(row["expires_at"]),
        key=row["idempotency_key"],
        created_at=from_db(row["created_at"]),  # type: ignore[arg-type]
    )


async def append_entry(tx: Tx, entry: NewEntry, now: datetime) -> int | None:
    """Append one row; None when a row with this idempotency key exists (it was applied before)."""
    cursor_rows = await tx.fetch_all(
        "INSERT INTO points_ledger (customer_id, kind, delta, purchase_id, reason, expires_entry_id, expires_at,"
        " idempotency_key, actor_tg_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        (
            entry.customer_id,
            entry.kind,
            entry.delta,
            entry.purchase_id,
            entry.reason,
            entry.expires_entry_id,
            to_db(entry.expires_at) if entry.expires_at else None,
            entry.key,
            entry.actor_tg_id,
            to_db(now),
        ),
    )
    return int(cursor_rows[0][0]) if cursor_rows else None


async def entries_of(tx: Tx, customer_id: int) -> list[LedgerEntry]:
    rows = await tx.fetch_all("SELECT * FROM points_ledger WHERE customer_id = ? ORDER BY id", (customer_id,))
    return [_entry(row) for row in rows]


async def balance_in(tx: Tx, customer_id: int) -> int:
    row = await tx.fetch_one(
        "SELECT COALESCE(SUM(delta), 0) FROM points_ledger WHERE customer_id = ?", (customer_id,)
    )
    return int(row[0]) if row else 0


async def delta_of(tx: Tx, key: str) -> int:
    """The points of the row with this idempotency key (0 when there is none)."""
    row = await tx.fetch_one("SELECT delta FROM points_ledger WHERE idempotency_key = ?", (key,))
    return int(row[0]) if row else 0


async def customers_with_credits_expiring(tx: Tx, after: datetime | None, until: datetime) -> list[int]:
    """Customers with a credit whose expiry falls in (after, until]: an indexed range on expires_at."""
    if after is None:
        rows = await tx.fetch_all(
            "SELECT DISTINCT customer_id FROM points_ledger WHERE expires_at <= ?", (to_db(until),)
        )
    else:
        rows = await tx.fetch_all(
            "SELECT DISTINCT customer_id FROM points_ledger WHERE expires_at > ? AND expires_at <= ?",
            (to_db(after), to_db(until)),
        )
    return [int(row[0]) for row in rows]


async def customer_in(tx: Tx, customer_id: int) -> Customer | None:
    row = await tx.fetch_one("SELECT * FROM customers WHERE id = ?", (customer_id,))
    return _customer(row) if row else None


async def card_of(tx: Tx, customer_id: int) -> Row | None:
    return await tx.fetch_one("SELECT * FROM loyalty_cards WHERE customer_id = ?", (customer_id,))


async def code_taken(tx: Tx, column: str, code: str) -> bool:
    assert column in ("card_code", "ref_code")
    return await tx.fetch_one(f"SELECT 1 FROM loyalty_cards WHERE {column} = ?", (code,)) is not None


async def create_card(tx: Tx, customer_id: int, card_code: str, ref_code: str, now: datetime) -> None:
    await tx.execute(
        "INSERT INTO loyalty_cards (customer_id, card_code, ref_code, created_at) VALUES (?, ?, ?, ?)",
        (customer_id, card_code, ref_code, to_db(now)),
    )


class LedgerRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def balance(self, customer_id: int) -> int:
        value = await self._db.fetch_value(
            "SELECT COALESCE(SUM(delta), 0) FROM points_ledger WHERE customer_id = ?", (customer_id,)
        )
        return int(value)

    async def history(self, customer_id: int, limit: int = 10) -> list[LedgerEntry]:
        """The newest entries first."""
        rows = await self._db.fetch_all(
            "SELECT * FROM points_ledger WHERE customer_id = ? ORDER BY id DESC LIMIT ?", (customer_id, limit)
        )
        return [_entry(row) for row in rows]

    async def entries(self, customer_id: int) -> list[LedgerEntry]:
        rows = await self._db.fetch_all(
            "SELECT * FROM points_ledger WHERE customer_id = ? ORDER BY id", (customer_id,)
        )
        return [_entry(row) for row in rows]

    async def customer_by_card(self, card_code: str) -> Customer | None:
        row = await self._db.fetch_one(
            "SELECT c.* FROM customers c JOIN loyalty_cards l ON l.customer_id = c.id WHERE l.card_code = ?",
            (card_code,),
        )
        return _customer(row) if row else None

    async def customer_by_ref(self, ref_code: str) -> Customer | None:
        row = await self._db.fetch_one(
            "SELECT c.* FROM customers c JOIN loyalty_cards l ON l.customer_id = c.id WHERE l.ref_code = ?",
            (ref_code,),
        )
        return _customer(row) if row else None

    async def customer_by_phone(self, phone: str) -> Customer | None:
        row = await self._db.fetch_one(
            "SELECT * FROM customers WHERE phone = ? AND tg_id IS NOT NULL ORDER BY id LIMIT 1", (phone,)
        )
        return _customer(row) if row else None

    async def customer_by_tg(self, tg_id: int) -> Customer | None:
        row = await self._db.fetch_one("SELECT * FROM customers WHERE tg_id = ?", (tg_id,))
        return _customer(row) if row else None
