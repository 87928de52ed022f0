"""Coupons and the per-campaign issue counter (stock is enforced with one conditional UPDATE)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Row, Tx
from storage.timefmt import from_db, to_db


@dataclass(frozen=True)
class Coupon:
    id: int
    code: str
    campaign: str
    customer_id: int
    origin: str
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime
    redeemed_at: datetime | None
    redeemed_by: int | None
    purchase_id: int | None


def _coupon(row: Row) -> Coupon:
    return Coupon(
        id=row["id"],
        code=row["code"],
        campaign=row["campaign"],
        customer_id=row["customer_id"],
        origin=row["origin"],
        issued_at=from_db(row["issued_at"]),  # type: ignore[arg-type]
        valid_from=from_db(row["valid_from"]),  # type: ignore[arg-type]
        valid_until=from_db(row["valid_until"]),  # type: ignore[arg-type]
        redeemed_at=from_db(row["redeemed_at"]),
        redeemed_by=row["redeemed_by"],
        purchase_id=row["purchase_id"],
    )


async def coupon_by_key(tx: Tx, key: str) -> Coupon | None:
    row = await tx.fetch_one("SELECT * FROM coupons WHERE idempotency_key = ?", (key,))
    return _coupon(row) if row else None


async def coupon_by_code(tx: Tx, code: str) -> Coupon | None:
    row = await tx.fetch_one("SELECT * FROM coupons WHERE code = ?", (code,))
    return _coupon(row) if row else None


async def count_for_customer(tx: Tx, campaign: str, customer_id: int) -> int:
    row = await tx.fetch_one(
        "SELECT COUNT(*) FROM coupons WHERE campaign = ? AND customer_id = ?", (campaign, customer_id)
    )
    return int(row[0]) if row else 0


async def take_from_stock(tx: Tx, campaign: str, stock: int | None, now: datetime) -> bool:
    """Count one more coupon of the campaign; False when the stock is used up."""
    await tx.execute(
        "INSERT INTO coupon_campaigns (key, issued, created_at) VALUES (?, 0, ?) ON CONFLICT (key) DO NOTHING",
        (campaign, to_db(now)),
    )
    changed = await tx.execute(
        "UPDATE coupon_campaigns SET issued = issued + 1 WHERE key = ? AND (CAST(? AS BIGINT) IS NULL OR issued < ?)",
        (campaign, stock, stock),
    )
    return changed == 1


async def insert_coupon(
    tx: Tx,
    *,
    code: str,
    campaign: str,
    customer_id: int,
    origin: str,
    key: str,
    valid_from: datetime,
    valid_until: datetime,
    now: datetime,
) -> int:
    return await tx.insert(
        "INSERT INTO coupons (code, campaign, customer_id, origin, idempotency_key, issued_at, valid_from,"
        " valid_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (code, campaign, customer_id, origin, key, to_db(now), to_db(valid_from), to_db(valid_until)),
    )


async def mark_redeemed(
    tx: Tx, code: str, staff_tg_id: int | None, purchase_id: int | None, customer_id: int | None, now: datetime
) -> bool:
    """Redeem atomically: only an unused, currently valid coupon (of this customer, if given) changes."""
    changed = await tx.execute(
        "UPDATE coupons SET redeemed_at = ?, redeemed_by = ?, purchase_id = ?"
        " WHERE code = ? AND redeemed_at IS NULL AND valid_from <= ? AND valid_until > ?"
        " AND (CAST(? AS BIGINT) IS NULL OR customer_id = ?)",
        (to_db(now), staff_tg_id, purchase_id, code, to_db(now), to_db(now), customer_id, customer_id),
    )
    return changed == 1


class CouponsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def valid_for(self, customer_id: int, now: datetime) -> list[Coupon]:
        rows = await self._db.fetch_all(
            "SELECT * FROM coupons WHERE customer_id = ? AND redeemed_at IS NULL AND valid_until > ?"
            " ORDER BY valid_until, id",
            (customer_id, to_db(now)),
        )
        return [_coupon(row) for row in rows]

    async def of_customer(self, customer_id: int) -> list[Coupon]:
        rows = await self._db.fetch_all("SELECT * FROM coupons WHERE customer_id = ? ORDER BY id", (customer_id,))
        return [_coupon(row) for row in rows]

    async def by_code(self, code: str) -> Coupon | None:
        row = await self._db.fetch_one("SELECT * FROM coupons WHERE code = ?", (code,))
        return _coupon(row) if row else None

    async def issued(self, campaign: str) -> int:
        value = await self._db.fetch_value("SELECT issued FROM coupon_campaigns WHERE key = ?", (campaign,))
        return int(value or 0)

    async def count(self, campaign: str) -> int:
        return int(await self._db.fetch_value("SELECT COUNT(*) FROM coupons WHERE campaign = ?", (campaign,)))


async def customer_has_any_tag(tx: Tx, customer_id: int, tags: list[str]) -> bool:
    marks = ", ".join("?" for _ in tags)
    row = await tx.fetch_one(
        f"SELECT 1 FROM customer_tags WHERE customer_id = ? AND tag IN ({marks}) LIMIT 1", (customer_id, *tags)
    )
    return row is not None
