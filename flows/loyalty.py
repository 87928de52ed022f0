"""Points and tiers: the append-only ledger, earning per tier, spending within the max share, expiry.

The balance is the sum of the ledger. Credits are spent and expire oldest first: replaying the ledger
in order (FIFO) tells how much of each credit is left, and an expiry row names the credit it ends, with
the key `expiry:<credit id>`, so expiring twice is impossible. Every write runs in the caller's
transaction, before any debit the customer's due expiries are written, so a debit never uses points
that should already be gone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import ROUND_DOWN, Decimal
from typing import Protocol

from flows.clock import Clock
from flows.codes import new_code
from flows.content import Content, LoyaltyRules, Texts, Tier
from flows.formatting import points, signed_points
from flows.markup import Html, html
from flows.notices import Notices
from storage.customers import Customer, CustomersRepo
from storage.db import Database, Tx, customer_scope
from storage.kv import kv_get, kv_set
from storage.ledger import (
    LedgerEntry,
    LedgerRepo,
    NewEntry,
    append_entry,
    balance_in,
    card_of,
    code_taken,
    create_card,
    customer_in,
    customers_with_credits_expiring,
    delta_of,
    entries_of,
)
from storage.purchases import PurchasesRepo, stats_of
from storage.staff import audit
from storage.timefmt import from_db, to_db

CARD_CODE_LENGTH = 6
REF_CODE_LENGTH = 7
EXPIRY_CURSOR = "loyalty.expiry_cursor"


class NotEnoughPoints(Exception):
    """A debit larger than the balance (after due expiries)."""


# ---- pure rules --------------------------------------------------------------------------------------


def tier_for(rules: LoyaltyRules, purchases: int, spend: Decimal) -> Tier:
    """The highest tier reached by purchase count or, where a tier sets min_spend, by money spent."""
    reached = rules.tiers[0]
    for tier in rules.tiers:
        if purchases >= tier.min_purchases or (tier.min_spend is not None and spend >= tier.min_spend):
            reached = tier
    return reached


def next_tier(rules: LoyaltyRules, current: Tier) -> Tier | None:
    keys = [tier.key for tier in rules.tiers]
    index = keys.index(current.key)
    return rules.tiers[index + 1] if index + 1 < len(rules.tiers) else None


def earned_points(paid: Decimal, percent: Decimal) -> int:
    """Points for money paid at an earn rate; fractions of a point are dropped."""
    if paid <= 0:
        return 0
    return int((paid * percent / 100).to_integral_value(rounding=ROUND_DOWN))


def max_spendable(amount: Decimal, balance: int, share_percent: Decimal) -> int:
    """How many points may pay for a purchase: the balance, capped at the max share of its amount."""
    cap = int((amount * share_percent / 100).to_integral_value(rounding=ROUND_DOWN))
    return max(0, min(balance, cap))


@dataclass
class Lot:
    entry_id: int
    remaining: int
    expires_at: datetime | None


def open_lots(entries: Iterable[LedgerEntry]) -> list[Lot]:
    """Replay the ledger oldest first: what is left of each credit after debits took the oldest first."""
    lots: dict[int, Lot] = {}
    for entry in entries:
        if entry.delta > 0:
            lots[entry.id] = Lot(entry.id, entry.delta, entry.expires_at)
        elif entry.kind == "expiry" and entry.expires_entry_id in lots:
            lots[entry.expires_entry_id].remaining += entry.delta
        else:
            owed = -entry.delta
            for lot in lots.values():
                if owed == 0:
                    break
                take = min(lot.remaining, owed)
                lot.remaining -= take
                owed -= take
    return [lot for lot in lots.values() if lot.remaining > 0]


@dataclass(frozen=True)
class Standing:
    """Where a customer stands: balance, purchases, tier and the way to the next one."""

    balance: int
    purchases: int
    spend: Decimal
    tier: Tier
    next: Tier | None
    purchases_to_next: int


def standing_of(rules: LoyaltyRules, balance: int, purchases: int, spend: Decimal) -> Standing:
    tier = tier_for(rules, purchases, spend)
    following = next_tier(rules, tier)
    to_next = max(following.min_purchases - purchases, 1) if following else 0
    return Standing(balance, purchases, spend, tier, following, to_next)


def progress_text(t: Texts, standing: Standing, default_language: str) -> Html:
    """ "1 more purchase to Regular." or "You are at our top level" (HTML, to put into another text)."""
    if standing.next is None:
        return Html(t("progress_top", tier=t.local(standing.tier.title, default_language)))
    count = standing.purchases_to_next
    text = t(
        "progress_next",
        count=count,
        purchases=t.plural("purchases_word", count),
        tier=t.local(standing.next.title, default_language),
    )
    return Html(text)


# ---- the flow ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    customer_id: int
    card_code: str
    ref_code: str


@dataclass(frozen=True)
class Correction:
    """A points correction's outcome: the balance after it, and whether this call wrote it (False: the
    same request had been applied before)."""

    balance: int
    applied: bool


@dataclass
class Loyalty:
    db: Database
    ledger: LedgerRepo
    purchases: PurchasesRepo
    customers: CustomersRepo
    content: Content
    notices: Notices
    clock: Clock
    zone: tzinfo

    @property
    def rules(self) -> LoyaltyRules:
        return self.content.loyalty

    @property
    def default_language(self) -> str:
        return self.content.business.default_language

    # ---- cards ----

    async def card(self, customer_id: int) -> Card:
        """The customer's card and referral codes, created on first use."""
        # Scoped (storage/postgres.py): it reads and creates only this customer's card. The fresh codes are
        # checked against every card, so another customer's card created at the same moment with the same
        # random code (1 in 32^8) would fail on the unique index: an error, never two cards with one code.
        async with self.db.transaction(customer_scope(customer_id)) as tx:
            return await self.card_in(tx, customer_id, self.clock.now())

    async def card_in(self, tx: Tx, customer_id: int, now: datetime) -> Card:
        row = await card_of(tx, customer_id)
        if row is None:
            card_code = await _fresh_code(tx, "card_code", CARD_CODE_LENGTH)
            ref_code = await _fresh_code(tx, "ref_code", REF_CODE_LENGTH)
            await create_card(tx, customer_id, card_code, ref_code, now)
            return Card(customer_id, card_code, ref_code)
        return Card(customer_id, row["card_code"], row["ref_code"])

    # ---- ledger writes (in the caller's transaction) ----

    def expiry_for(self, now: datetime) -> datetime | None:
        days = self.rules.expire_after_days
        return now + timedelta(days=days) if days else None

    async def credit_in(
        self,
        tx: Tx,
        customer_id: int,
        kind: str,
        amount: int,
        key: str,
        now: datetime,
        *,
        reason: str | None = None,
        purchase_id: int | None = None,
        actor_tg_id: int | None = None,
    ) -> int | None:
        """Add points once per key; they expire after the configured days. None: nothing (new) added."""
        if amount <= 0:
            return None
        entry = NewEntry(
            customer_id,
            kind,
            amount,
            key,
            purchase_id=purchase_id,
            reason=reason,
            expires_at=self.expiry_for(now),
            actor_tg_id=actor_tg_id,
        )
        return await append_entry(tx, entry, now)

    async def debit_in(
        self,
        tx: Tx,
        customer: Customer,
        kind: str,
        amount: int,
        key: str,
        now: datetime,
        *,
        reason: str | None = None,
        purchase_id: int | None = None,
        actor_tg_id: int | None = None,
    ) -> int | None:
        """Take points once per key, after writing due expiries; NotEnoughPoints if the balance is short."""
        if amount <= 0:
            return None
        await self.expire_due_in(tx, customer, now)
        if await balance_in(tx, customer.id) < amount:
            raise NotEnoughPoints
        entry = NewEntry(
            customer.id, kind, -amount, key, purchase_id=purchase_id, reason=reason, actor_tg_id=actor_tg_id
        )
        return await append_entry(tx, entry, now)

    async def expire_due_in(self, tx: Tx, customer: Customer, now: datetime, *, notify: bool = True) -> int:
        """Write an expiry row for what is left of every credit past its date; notify once; return points."""
        expired = 0
        first_id: int | None = None
        for lot in open_lots(await entries_of(tx, customer.id)):
            if lot.expires_at is None or lot.expires_at > now:
                continue
            entry = NewEntry(
                customer.id, "expiry", -lot.remaining, f"expiry:{lot.entry_id}", expires_entry_id=lot.entry_id
            )
            if await append_entry(tx, entry, now) is not None:
                expired += lot.remaining
                first_id = first_id or lot.entry_id
        if expired and notify and first_id is not None:
            t = self.notices.texts(customer)
            balance = await balance_in(tx, customer.id)
            text = t("points_expired", points=points(expired, t), balance=points(balance, t))
            await self.notices.to_customer(tx, customer, f"expired:{customer.id}:{first_id}", text, now)
        return expired

    # ---- reading ----

    async def standing(self, customer_id: int) -> Standing:
        """Balance (due expiries applied first), purchases, tier and progress."""
        now = self.clock.now()
        # Scoped (storage/postgres.py): it reads this customer's ledger and appends to it (the ledger's
        # never-negative trigger locks the customer's row), and queues the notice by a row-locked insert
        # keyed for this customer.
        async with self.db.transaction(customer_scope(customer_id)) as tx:
            customer = await customer_in(tx, customer_id)
            if customer is not None:
                await self.expire_due_in(tx, customer, now)
            return await self.standing_in(tx, customer_id)

    async def standing_in(self, tx: Tx, customer_id: int) -> Standing:
        balance = await balance_in(tx, customer_id)
        count, spend = await stats_of(tx, customer_id)
        return standing_of(self.rules, balance, count, spend)

    async def history(self, customer_id: int, limit: int = 10) -> list[LedgerEntry]:
        """The newest ledger entries first."""
        return await self.ledger.history(customer_id, limit)

    def ledger_label(self, t: Texts, entry: LedgerEntry) -> Html:
        """How a ledger row reads in /balance; a manager's reason is their free text, shown as typed."""
        if entry.kind == "bonus" and entry.reason in ("welcome", "birthday", "referral"):
            return t(f"ledger_{entry.reason}")
        label = t(f"ledger_{entry.kind}")
        if entry.kind == "adjustment" and entry.reason:
            return html("{}: {}", label, entry.reason)
        return label

    # ---- bonuses and adjustments ----

    async def adjust(
        self, customer: Customer, delta: int, reason: str, actor_tg_id: int, request: str | None = None
    ) -> int:
        """A manager's correction (+/-), written to the ledger and the audit log; returns the new balance.

        `request` names the manager's message: the ledger key, so the same message handled twice applies once.
        """
        return (await self.correct(customer, delta, reason, actor_tg_id, request)).balance

    async def correct(
        self, customer: Customer, delta: int, reason: str, actor_tg_id: int, request: str | None = None
    ) -> Correction:
        """`adjust`, telling whether this call applied it: the same request again (a message handled twice,
        a form submitted twice) finds its ledger row and changes nothing — no second audit row or notice,
        and no "not enough points" for a debit that already happened."""
        now = self.clock.now()
        async with self.db.transaction() as tx:
            key = f"adjust:{customer.id}:{actor_tg_id}:" + (
                f"msg:{request}" if request else f"{now.timestamp()}:{delta}"
            )
            if await delta_of(tx, key):
                return Correction(await balance_in(tx, customer.id), applied=False)
            if delta > 0:
                await self.credit_in(
                    tx, customer.id, "adjustment", delta, key, now, reason=reason, actor_tg_id=actor_tg_id
                )
            else:
                await self.debit_in(
                    tx, customer, "adjustment", -delta, key, now, reason=reason, actor_tg_id=actor_tg_id
                )
            await audit(tx, actor_tg_id, "points_adjusted", str(customer.id), now, delta=delta, reason=reason)
            balance = await balance_in(tx, customer.id)
            t = self.notices.texts(customer)
            text = t("points_adjusted", delta=signed_points(delta, t), reason=reason, balance=points(balance, t))
            await self.notices.to_customer(tx, customer, f"adjusted:{key}", text, now)
        return Correction(balance, applied=True)

    async def expire_all(self) -> int:
        """The periodic job: expire credits whose date passed since the last run (an indexed range)."""
        now = self.clock.now()
        async with self.db.transaction() as tx:
            cursor = from_db(await kv_get(tx, EXPIRY_CURSOR))
            customer_ids = await customers_with_credits_expiring(tx, cursor, now)
        total = 0
        for customer_id in customer_ids:
            async with self.db.transaction() as tx:
                customer = await customer_in(tx, customer_id)
                if customer is not None:
                    total += await self.expire_due_in(tx, customer, now)
        async with self.db.transaction() as tx:
            await kv_set(tx, EXPIRY_CURSOR, to_db(now))
        return total

    async def birthdays(self, today: date, coupons: CouponIssuer | None = None) -> int:
        """The daily job: birthday points (and coupon) once per customer per year."""
        if not self.rules.birthday_points and not (self.rules.birthday_coupon and coupons):
            return 0
        now = self.clock.now()
        given = 0
        for customer_id in await self.customers.birthdays_on(today):
            async with self.db.transaction() as tx:
                customer = await customer_in(tx, customer_id)
                if customer is None:
                    continue
                key = f"birthday:{customer_id}:{today.year}"
                added = await self.credit_in(
                    tx, customer_id, "bonus", self.rules.birthday_points, key, now, reason="birthday"
                )
                coupon_line = None
                if coupons is not None and self.rules.birthday_coupon:
                    coupon_line = await coupons.coupon_line_in(
                        tx, self.rules.birthday_coupon, customer, "birthday", key, now
                    )
                if added is None and coupon_line is None:
                    continue  # already celebrated this year
                given += 1
                # One greeting with everything in it, rather than a message for the points and one for the coupon.
                t = self.notices.texts(customer)
                balance = await balance_in(tx, customer_id)
                text = t(
                    "bonus_birthday", points=points(self.rules.birthday_points, t), balance=points(balance, t)
                )
                if coupon_line:
                    text = html("{}\n\n{}", text, coupon_line)
                await self.notices.to_customer(tx, customer, f"birthday-points:{key}", text, now)
        return given


class CouponIssuer(Protocol):
    """What `Loyalty.birthdays` needs from the coupons flow (kept abstract to avoid an import cycle)."""

    async def coupon_line_in(
        self, tx: Tx, campaign: str, customer: Customer, origin: str, key: str, now: datetime
    ) -> Html | None: ...


async def _fresh_code(tx: Tx, column: str, length: int) -> str:
    while True:
        code = new_code(length)
        if not await code_taken(tx, column, code):
            return code
