"""Who invited whom; a customer is referred at most once (the primary key)."""

from __future__ import annotations

from datetime import datetime

from storage.db import Database, Row, Tx
from storage.timefmt import to_db


async def referral_of(tx: Tx, referred_id: int) -> Row | None:
    return await tx.fetch_one("SELECT * FROM referrals WHERE referred_id = ?", (referred_id,))


async def has_history(tx: Tx, customer_id: int) -> bool:
    """True when the customer had been with us before (a /start or a purchase recorded)."""
    row = await tx.fetch_one(
        "SELECT EXISTS (SELECT 1 FROM events WHERE customer_id = ? AND kind = 'started')"
        " OR EXISTS (SELECT 1 FROM purchases WHERE customer_id = ?)",
        (customer_id, customer_id),
    )
    return bool(row and row[0])


async def insert_referral(tx: Tx, referred_id: int, referrer_id: int, now: datetime) -> bool:
    changed = await tx.execute(
        "INSERT INTO referrals (referred_id, referrer_id, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT (referred_id) DO NOTHING",
        (referred_id, referrer_id, to_db(now)),
    )
    if changed:
        await tx.execute(
            "UPDATE customers SET referrer_id = ?, source = COALESCE(source, 'referral') WHERE id = ?",
            (referrer_id, referred_id),
        )
    return changed == 1


async def mark_rewarded(tx: Tx, referred_id: int, purchase_id: int, now: datetime) -> bool:
    changed = await tx.execute(
        "UPDATE referrals SET rewarded_at = ?, purchase_id = ? WHERE referred_id = ? AND rewarded_at IS NULL",
        (to_db(now), purchase_id, referred_id),
    )
    return changed == 1


class ReferralsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def invited_by(self, referrer_id: int) -> list[int]:
        rows = await self._db.fetch_all(
            "SELECT referred_id FROM referrals WHERE referrer_id = ? ORDER BY created_at", (referrer_id,)
        )
        return [int(row[0]) for row in rows]
