"""Referrals: a personal link; the new customer is linked to whoever invited them; both are rewarded
after the new customer's first purchase (so accounts made only to collect a bonus earn nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from flows.clock import Clock
from flows.codes import normalize
from flows.formatting import points
from flows.loyalty import Loyalty
from flows.notices import Notices
from storage.customers import Customer
from storage.db import Database, Tx
from storage.events import append_event
from storage.ledger import LedgerRepo, balance_in, customer_in
from storage.referrals import has_history, insert_referral, mark_rewarded, referral_of

REF_PREFIX = "ref-"


class LinkOutcome(Enum):
    LINKED = "linked"
    OWN_LINK = "own_link"
    EXISTING = "existing"  # already a customer, or already referred
    LOOP = "loop"  # the inviter was (indirectly) invited by this customer
    UNKNOWN = "unknown"  # no such code: ignored


@dataclass(frozen=True)
class Link:
    outcome: LinkOutcome
    referrer: Customer | None = None


@dataclass
class Referrals:
    db: Database
    ledger: LedgerRepo
    loyalty: Loyalty
    notices: Notices
    clock: Clock

    async def link_for(self, customer_id: int, bot_username: str) -> str:
        """The customer's personal invitation link."""
        card = await self.loyalty.card(customer_id)
        return f"https://t.me/{bot_username}?start={REF_PREFIX}{card.ref_code}"

    async def link(self, customer: Customer, ref_code: str) -> Link:
        """Link a newcomer to the customer whose invitation they followed; refuse self-referral and loops."""
        referrer = await self.ledger.customer_by_ref(normalize(ref_code))
        if referrer is None or referrer.tg_id is None:
            return Link(LinkOutcome.UNKNOWN)
        if referrer.id == customer.id:
            return Link(LinkOutcome.OWN_LINK, referrer)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            if await has_history(tx, customer.id) or await referral_of(tx, customer.id) is not None:
                return Link(LinkOutcome.EXISTING, referrer)
            if await self._invited_by_chain(tx, referrer.id, customer.id):
                return Link(LinkOutcome.LOOP, referrer)
            await insert_referral(tx, customer.id, referrer.id, now)
            await append_event(tx, customer.id, "referred", now, {"referrer": referrer.id})
        return Link(LinkOutcome.LINKED, referrer)

    @staticmethod
    async def _invited_by_chain(tx: Tx, start: int, target: int) -> bool:
        """True when `target` appears among the inviters of `start` (A→B→A would be a loop)."""
        seen: set[int] = set()
        current: int | None = start
        while current is not None and current not in seen:
            seen.add(current)
            row = await referral_of(tx, current)
            current = int(row["referrer_id"]) if row else None
            if current == target:
                return True
        return False

    async def reward_in(self, tx: Tx, customer: Customer, purchase_id: int, now: datetime) -> int:
        """On a referred customer's first purchase: points for both, once (keys name the referral).

        The inviter is told in their chat; returns the newcomer's points, which their receipt shows.
        """
        row = await referral_of(tx, customer.id)
        if row is None or row["rewarded_at"] is not None:
            return 0
        await mark_rewarded(tx, customer.id, purchase_id, now)
        rules = self.loyalty.rules.referral
        referrer = await customer_in(tx, int(row["referrer_id"]))
        if referrer is not None and referrer.tg_id is not None and rules.referrer_points:
            key = f"referral:{customer.id}:referrer"
            if await self.loyalty.credit_in(
                tx, referrer.id, "bonus", rules.referrer_points, key, now, reason="referral"
            ):
                t = self.notices.texts(referrer)
                balance = await balance_in(tx, referrer.id)
                text = t(
                    "bonus_referrer",
                    friend=customer.first_name or customer.display_name,
                    points=points(rules.referrer_points, t),
                    balance=points(balance, t),
                )
                await self.notices.to_customer(tx, referrer, key, text, now)
        if rules.friend_points:
            key = f"referral:{customer.id}:friend"
            if await self.loyalty.credit_in(
                tx, customer.id, "bonus", rules.friend_points, key, now, reason="referral"
            ):
                t = self.notices.texts(customer)
                balance = await balance_in(tx, customer.id)
                text = t("bonus_referred", points=points(rules.friend_points, t), balance=points(balance, t))
                await self.notices.to_customer(tx, customer, key, text, now)
        return True
