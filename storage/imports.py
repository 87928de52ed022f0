"""Customers from a file: create or fill in (never overwrite what the customer told the bot)."""

from __future__ import annotations

from datetime import datetime

from storage.db import Database, Tx
from storage.timefmt import to_db


async def upsert_imported_customer(
    tx: Tx,
    *,
    tg_id: int,
    first_name: str | None,
    last_name: str | None,
    phone: str | None,
    birthday: tuple[int, int, int | None] | None,
    now: datetime,
    first_seen: datetime | None = None,
) -> tuple[int, bool]:
    """(customer id, created?) — existing customers only get the fields they have empty; a `first_seen`
    earlier than the one known moves it back."""
    seen = to_db(first_seen or now)
    day, month, year = birthday if birthday else (None, None, None)
    existing = await tx.fetch_one("SELECT id FROM customers WHERE tg_id = ?", (tg_id,))
    if existing is not None:
        await tx.execute(
            "UPDATE customers SET first_name = COALESCE(first_name, ?), last_name = COALESCE(last_name, ?),"
            " phone = COALESCE(phone, ?), birthday_day = COALESCE(birthday_day, ?),"
            " birthday_month = COALESCE(birthday_month, ?), birthday_year = COALESCE(birthday_year, ?),"
            " first_seen_at = CASE WHEN first_seen_at > ? THEN ? ELSE first_seen_at END WHERE id = ?",
            (first_name, last_name, phone, day, month, year, seen, seen, existing[0]),
        )
        return int(existing[0]), False
    # Opted out until their own /start, like every record not made by /start: an import is not consent.
    customer_id = await tx.insert(
        "INSERT INTO customers (tg_id, first_name, last_name, phone, birthday_day, birthday_month, birthday_year,"
        " source, first_seen_at, last_seen_at, opted_out) VALUES (?, ?, ?, ?, ?, ?, ?, 'import', ?, ?, 1)",
        (tg_id, first_name, last_name, phone, day, month, year, seen, to_db(now)),
    )
    return customer_id, True


async def purchase_exists(db: Database, source: str, external_id: str) -> bool:
    """Whether a purchase with this sender's id is already recorded (a dry run counts what a run would skip)."""
    row = await db.fetch_one("SELECT 1 FROM purchases WHERE source = ? AND external_id = ?", (source, external_id))
    return row is not None


async def customer_exists(db: Database, tg_id: int) -> bool:
    row = await db.fetch_one("SELECT 1 FROM customers WHERE tg_id = ?", (tg_id,))
    return row is not None
