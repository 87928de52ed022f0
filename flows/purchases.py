"""Recording a purchase: ONE code path for Telegram, the HTTP API and CSV imports.

Everything a purchase causes happens in the same transaction as the purchase row: points spent and
earned (ledger), a coupon used with it, referral rewards, gift coupons, the `purchase` event the
sequences read, the audit row, and the queued receipt and satisfaction question. Either all of it is
written or none of it (a refusal raises, the transaction rolls back); the same external id, or the same
sale draft, can never record twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum

from flows.clock import Clock
from flows.codes import grouped
from flows.content import Content, Tier
from flows.coupons import Coupons, RedeemOutcome
from flows.formatting import money, points
from flows.i18n import N_
from flows.loyalty import (
    Loyalty,
    NotEnoughPoints,
    earned_points,
    max_spendable,
    progress_text,
    standing_of,
    tier_for,
)
from flows.markup import Html, html
from flows.messenger import Button
from flows.notices import Notices
from flows.referrals import Referrals
from flows.team_text import TeamText
from storage.contact_policy import asked_or_answered_since
from storage.coupons import Coupon
from storage.customers import Customer
from storage.db import Database, Tx
from storage.events import append_event
from storage.ledger import NewEntry, append_entry, balance_in, customer_in, delta_of
from storage.purchases import Item, by_external_id, insert_purchase, make_room, stats_of
from storage.staff import audit

SOURCES = ("telegram", "api", "csv")


class Refusal(Enum):
    UNKNOWN_CUSTOMER = "unknown_customer"
    BAD_AMOUNT = "bad_amount"
    UNKNOWN_CATEGORY = "unknown_category"
    POINTS_OVER_BALANCE = "points_over_balance"
    POINTS_OVER_SHARE = "points_over_share"
    COUPON = "coupon"


class PurchaseRefused(Exception):
    """A purchase not recorded: the reason, and (for a coupon) the staff-facing text saying why."""

    def __init__(self, reason: Refusal, detail: str | TeamText = "") -> None:
        super().__init__(str(detail) or reason.value)
        self.reason = reason
        self.detail = str(detail) or reason.value
        self.said = detail if isinstance(detail, TeamText) else None


@dataclass(frozen=True)
class NewPurchase:
    customer_id: int
    amount: Decimal  # the full price; points_to_spend pay a part of it
    source: str
    category: str | None = None
    items: Sequence[Item] = ()
    external_id: str | None = None
    staff_tg_id: int | None = None
    points_to_spend: int = 0
    coupon_code: str | None = None
    purchased_at: datetime | None = None
    notify: bool = True  # receipts and the satisfaction question (off for old, imported purchases)


@dataclass(frozen=True)
class Recorded:
    purchase_id: int
    customer_id: int
    number: int
    amount: Decimal
    earned: int
    spent: int
    balance: int
    tier_before: Tier
    tier_after: Tier
    duplicate: bool = False
    gifts: list[Coupon] = field(default_factory=list)
    coupon: Coupon | None = None
    bonuses: dict[str, int] = field(default_factory=dict)  # text key → points (welcome, invitation)

    @property
    def to_collect(self) -> Decimal:
        """What the cashier takes in money: the amount less the points paid (a point is worth one unit)."""
        return self.amount - self.spent

    @property
    def tier_changed(self) -> bool:
        return self.tier_before.key != self.tier_after.key


@dataclass
class Purchases:
    db: Database
    content: Content
    loyalty: Loyalty
    coupons: Coupons
    referrals: Referrals
    notices: Notices
    clock: Clock
    feedback_every: timedelta = timedelta(days=30)  # the satisfaction question at most once in this time

    async def record(self, purchase: NewPurchase) -> Recorded:
        """Record one purchase and everything it causes, atomically; PurchaseRefused if it cannot be."""
        async with self.db.transaction() as tx:
            return await self.record_in(tx, purchase, self.clock.now())

    async def record_in(self, tx: Tx, new: NewPurchase, now: datetime) -> Recorded:
        """The one code path, in the caller's transaction (a CSV import runs every row in one)."""
        assert new.source in SOURCES
        rules = self.content.loyalty
        if new.external_id:
            existing = await by_external_id(tx, new.source, new.external_id)
            if existing is not None:
                return await self._replay(tx, existing.id, existing.customer_id, existing.number, existing.amount)
        customer = await customer_in(tx, new.customer_id)
        if customer is None:
            raise PurchaseRefused(Refusal.UNKNOWN_CUSTOMER)
        if new.amount <= 0:
            raise PurchaseRefused(Refusal.BAD_AMOUNT)
        if new.category is not None and rules.category(new.category) is None:
            raise PurchaseRefused(Refusal.UNKNOWN_CATEGORY, new.category)
        await self.loyalty.expire_due_in(tx, customer, now)
        count, spend = await stats_of(tx, customer.id)
        purchased_at = new.purchased_at or now
        # Tiers, gifts and the first-purchase bonuses go by how many purchases the customer has (an order-free
        # count); the purchase's own number goes by its time (`make_room` renumbers later ones).
        tier_before = tier_for(rules, count, spend)
        tier_after = tier_for(rules, count + 1, spend + new.amount)
        spent = new.points_to_spend
        if spent:
            balance = await balance_in(tx, customer.id)
            if spent > balance:
                raise PurchaseRefused(
                    Refusal.POINTS_OVER_BALANCE, TeamText(N_("the balance is {balance}"), balance=balance)
                )
            if spent > max_spendable(new.amount, balance, rules.max_points_share):
                raise PurchaseRefused(
                    Refusal.POINTS_OVER_SHARE,
                    TeamText(N_("at most {percent}% of the amount"), percent=rules.max_points_share),
                )
        number = await make_room(tx, customer.id, purchased_at)
        purchase_id = await insert_purchase(
            tx,
            customer_id=customer.id,
            number=number,
            amount=new.amount,
            points_spent=spent,
            category=new.category,
            source=new.source,
            external_id=new.external_id,
            staff_tg_id=new.staff_tg_id,
            purchased_at=purchased_at,
            now=now,
            items=new.items,
        )
        if spent:
            try:
                await self.loyalty.debit_in(
                    tx, customer, "redemption", spent, f"redeem:{purchase_id}", now, purchase_id=purchase_id
                )
            except NotEnoughPoints:
                raise PurchaseRefused(Refusal.POINTS_OVER_BALANCE) from None
        # Points are earned on the part paid with money, at the tier this purchase reaches.
        earned = earned_points(new.amount - spent, tier_after.earn_percent)
        if earned:
            await append_entry(
                tx,
                NewEntry(
                    customer.id,
                    "accrual",
                    earned,
                    f"accrual:{purchase_id}",
                    purchase_id=purchase_id,
                    expires_at=self.loyalty.expiry_for(now),
                ),
                now,
            )
        used: Coupon | None = None
        if new.coupon_code:
            result = await self.coupons.redeem_in(
                tx, new.coupon_code, new.staff_tg_id, customer.id, purchase_id, now
            )
            if result.outcome is not RedeemOutcome.REDEEMED:
                raise PurchaseRefused(Refusal.COUPON, self.coupons.refusal(result, new.coupon_code))
            used = result.coupon
        bonuses: dict[str, int] = {}
        if count == 0:
            # Welcome and invitation bonuses come with the first purchase, not on sign-up, so an account
            # made only to collect them earns nothing.
            if rules.welcome_points and await self.loyalty.credit_in(
                tx, customer.id, "bonus", rules.welcome_points, f"welcome:{customer.id}", now, reason="welcome"
            ):
                bonuses["bonus_welcome"] = rules.welcome_points
            invited = await self.referrals.reward_in(tx, customer, purchase_id, now)
            if invited:
                bonuses["bonus_referred"] = invited
        gifts = []
        for rule in rules.gifts:
            # The gift for the Nth purchase comes when the customer has N, whichever arrived last; once (its
            # key), and a gift given before a back-dated purchase renumbered the others stays given.
            if rule.on_purchase == count + 1:
                issued = await self.coupons.issue_in(
                    tx,
                    rule.coupon,
                    customer,
                    "gift",
                    f"{customer.id}:{count + 1}:{rule.coupon}",
                    now,
                    notify=False,
                )
                if issued.coupon is not None:
                    gifts.append(issued.coupon)
        categories = sorted({c for c in [new.category, *(i.category for i in new.items)] if c})
        # Purchases imported long after the fact must not start "thank you for coming today" sequences.
        backdated = new.purchased_at is not None and (now - new.purchased_at).days >= 1
        await append_event(
            tx,
            customer.id,
            "purchase_imported" if backdated else "purchase",
            now,
            {"number": number, "categories": categories, "amount": str(new.amount), "purchase_id": purchase_id},
        )
        if new.staff_tg_id is not None:
            await audit(
                tx,
                new.staff_tg_id,
                "sale",
                str(customer.id),
                now,
                purchase=purchase_id,
                amount=str(new.amount),
                points_spent=spent,
                coupon=used.code if used else None,
            )
        balance = await balance_in(tx, customer.id)
        recorded = Recorded(
            purchase_id,
            customer.id,
            number,
            new.amount,
            earned,
            spent,
            balance,
            tier_before,
            tier_after,
            gifts=gifts,
            coupon=used,
            bonuses=bonuses,
        )
        if new.notify:
            await self._queue_receipt(tx, customer, recorded, now, new.staff_tg_id)
            await self._queue_question(tx, customer, purchase_id, now)
        return recorded

    async def _replay(self, tx: Tx, purchase_id: int, customer_id: int, number: int, amount: Decimal) -> Recorded:
        """The answer for a purchase sent again (same external id): what was recorded, nothing new."""
        rules = self.content.loyalty
        count, spend = await stats_of(tx, customer_id)
        tier = tier_for(rules, count, spend)
        return Recorded(
            purchase_id,
            customer_id,
            number,
            amount,
            await delta_of(tx, f"accrual:{purchase_id}"),
            0,
            await balance_in(tx, customer_id),
            tier,
            tier,
            duplicate=True,
        )

    async def _queue_receipt(
        self, tx: Tx, customer: Customer, r: Recorded, now: datetime, cashier: int | None = None
    ) -> None:
        """One message: amount, points, balance, progress — plus a tier change and gifts if any.

        The cashier who recorded the sale is told if it did not (or may not) reach the customer."""
        t = self.notices.texts(customer)
        rules = self.content.loyalty
        default = self.content.business.default_language
        count, spend = await stats_of(tx, customer.id)
        standing = standing_of(rules, r.balance, count, spend)
        parts = [
            t(
                "receipt",
                amount=money(r.amount, rules.currency, t.language),
                earned=points(r.earned, t),
                balance=points(r.balance, t),
                # A new top tier is announced below; "you are at our top level" before it reads as two news.
                progress=Html()
                if r.tier_changed and standing.next is None
                else progress_text(t, standing, default),
            )
        ]
        if r.spent:
            parts.append(
                t(
                    "receipt_spent",
                    spent=points(r.spent, t),
                    value=money(Decimal(r.spent), rules.currency, t.language),
                    paid=money(r.to_collect, rules.currency, t.language),
                )
            )
        for key, amount in r.bonuses.items():
            parts.append(t(key, points=points(amount, t)))
        if r.coupon is not None:
            parts.append(t("receipt_coupon", title=self.coupons.title(r.coupon, t), code=grouped(r.coupon.code)))
        if r.tier_changed:
            perks = t.local(r.tier_after.perks, default) if r.tier_after.perks else ""
            parts.append(
                t(
                    "tier_up",
                    tier=t.local(r.tier_after.title, default),
                    percent=f"{r.tier_after.earn_percent.normalize():f}",
                    perks=f"\n✨ {perks}" if perks else "",
                )
            )
        for coupon in r.gifts:
            parts.append(
                t(
                    "gift_coupon",
                    number=count,  # the gift is for reaching this many purchases, whatever their dates
                    title=self.coupons.title(coupon, t),
                    code=grouped(coupon.code),
                    until=self.coupons.until(coupon, t.language),
                )
            )
        on_fail = None
        if cashier is not None:
            tr = await self.notices.staff_tr(tx, cashier)
            whose = {"name": customer.display_name, "number": r.number}
            on_fail = {
                "chat_id": cashier,
                "text": html(
                    tr.gettext("⚠️ The receipt for {name} (purchase #{number}) was not delivered: {{reason}}."),
                    **whose,
                ),
                "unknown_text": html(
                    tr.gettext(
                        "⚠️ The receipt for {name} (purchase #{number}) may not have been delivered: {{reason}}."
                    ),
                    **whose,
                ),
                "language": tr.language,  # of the reason the sender fills in
            }
        key = f"receipt:{r.purchase_id}"
        await self.notices.to_customer(tx, customer, key, Html("\n\n").join(parts), now, on_fail=on_fail)

    async def _queue_question(self, tx: Tx, customer: Customer, purchase_id: int, now: datetime) -> None:
        """The one-tap satisfaction question, a while later; it waits for quiet hours like any message.

        Marketing, not a receipt: asked at most once per customer in `feedback_every`, and not again in that
        time once they answered (README "Contact policy")."""
        if self.feedback_every and await asked_or_answered_since(tx, customer.id, now - self.feedback_every):
            return
        t = self.notices.texts(customer)
        buttons = [
            [Button(str(score), data=self.notices.buttons.rate(purchase_id, score)) for score in range(1, 6)]
        ]
        await self.notices.to_customer(
            tx,
            customer,
            f"satisfaction:{purchase_id}",
            t("satisfaction_question"),
            now,
            kind="satisfaction",
            transactional=False,
            due_at=now + self.content.loyalty.satisfaction_after,
            buttons=buttons,
        )
