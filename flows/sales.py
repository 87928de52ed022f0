"""A sale entered in Telegram by staff: customer (card QR or code) → amount → category → summary → record.

The draft lives in the database, so a restart mid-sale loses nothing, and the buttons carry only its id:
whoever presses one is checked against the draft (the staff member who opened it, or the customer whose
points are to be spent). Recording closes the draft in the same transaction, and the purchase's external
id is the draft's, so a double tap or a race between "record" and the customer's "yes" records once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum

from flows.clock import Clock
from flows.codes import looks_like, normalize
from flows.content import CatalogEntry, Content
from flows.coupons import COUPON_CODE_LENGTH
from flows.formatting import money, number, points
from flows.i18n import N_, Translator
from flows.loyalty import Loyalty, Standing, earned_points, max_spendable, tier_for
from flows.markup import html
from flows.messenger import Button
from flows.money import AmountError, ParsedAmount, parse_amount
from flows.notices import Notices
from flows.purchases import NewPurchase, PurchaseRefused, Purchases, Recorded, Refusal
from flows.team_text import ENGLISH
from storage.customers import Customer
from storage.db import Database, Tx
from storage.ledger import LedgerRepo, customer_in
from storage.purchases import Draft, PurchasesRepo, draft_in, update_draft
from storage.staff import active_role_in, audit

SPEND_REQUEST_TTL = timedelta(minutes=15)
CARD_PREFIX = "card-"


@dataclass(frozen=True)
class SaleLine:
    """`/sale <card> <amount> [category] [coupon]`, parsed."""

    card: str
    amount: ParsedAmount
    category: str | None
    coupon: str | None


def parse_sale_line(args: str, catalog: list[CatalogEntry], maximum: Decimal) -> SaleLine | None:
    """Split the one-line form; None when there is no card and amount at all."""
    tokens = args.split()
    if len(tokens) < 2:
        return None
    card, rest = tokens[0], tokens[1:]
    coupon = None
    if len(rest) > 1 and looks_like(rest[-1], COUPON_CODE_LENGTH):
        coupon = normalize(rest.pop())
    category = None
    if len(rest) > 1:
        found = match_category(rest[-1], catalog)
        if found is not None:
            category = found.key
            rest.pop()
        elif not any(ch.isdigit() for ch in rest[-1]):
            return SaleLine(card, ParsedAmount(None, AmountError.NOT_A_NUMBER), rest[-1], coupon)
    return SaleLine(card, parse_amount(" ".join(rest), maximum), category, coupon)


def match_category(word: str, catalog: list[CatalogEntry]) -> CatalogEntry | None:
    """A catalog entry by key or by its title in any language, ignoring case."""
    wanted = word.strip().casefold()
    for entry in catalog:
        if wanted == entry.key.casefold() or any(wanted == title.casefold() for title in entry.title.values()):
            return entry
    return None


class DraftProblem(Enum):
    GONE = "gone"  # finished, cancelled or never existed
    NOT_YOURS = "not_yours"
    EXPIRED = "expired"
    NO_POINTS = "no_points"
    WITHDRAWN = "withdrawn"  # the staff member who opened it has lost access since


@dataclass(frozen=True)
class Summary:
    draft: Draft
    customer: Customer
    standing: Standing
    earns: int
    spendable: int


@dataclass(frozen=True)
class SpendAnswer:
    recorded: Recorded | None = None
    problem: DraftProblem | PurchaseRefused | None = None
    declined: bool = False


@dataclass
class Sales:
    db: Database
    repo: PurchasesRepo
    ledger: LedgerRepo
    purchases: Purchases
    loyalty: Loyalty
    content: Content
    notices: Notices
    clock: Clock
    max_amount: Decimal
    owner_ids: frozenset[int] = frozenset()

    async def customer_by_card(self, code: str) -> Customer | None:
        customer = await self.ledger.customer_by_card(normalize(code))
        return customer if customer is not None and customer.tg_id is not None else None

    async def begin(self, staff_tg_id: int, customer: Customer) -> Draft:
        """Open a new sale for this customer (an older unfinished one of this staff member is dropped)."""
        return await self.repo.open_draft(staff_tg_id, customer.id, "amount", self.clock.now())

    async def current(self, staff_tg_id: int) -> Draft | None:
        return await self.repo.current_draft(staff_tg_id)

    async def set_amount(self, draft: Draft, text: str) -> ParsedAmount:
        """Take the typed amount; on success move on to the category (or straight to the summary)."""
        parsed = parse_amount(text, self.max_amount)
        if parsed.value is not None:
            state = "category" if self.content.loyalty.catalog else "summary"
            await self.repo.update_draft(draft.id, self.clock.now(), amount=parsed.value, state=state)
        return parsed

    async def set_category(self, draft_id: int, staff_tg_id: int, key: str | None) -> Draft | DraftProblem:
        draft = await self._own(draft_id, staff_tg_id, ("category", "summary"))
        if isinstance(draft, DraftProblem):
            return draft
        if key is not None and self.content.loyalty.category(key) is None:
            return DraftProblem.GONE
        await self.repo.update_draft(draft.id, self.clock.now(), category=key, state="summary")
        fresh = await self.repo.draft(draft.id)
        assert fresh is not None
        return fresh

    async def summary(self, draft: Draft) -> Summary:
        customer = await self.loyalty.customers.get(draft.customer_id)
        assert customer is not None and draft.amount is not None
        standing = await self.loyalty.standing(customer.id)
        rules = self.content.loyalty
        tier = tier_for(rules, standing.purchases + 1, standing.spend + draft.amount)
        spendable = max_spendable(draft.amount, standing.balance, rules.max_points_share)
        return Summary(draft, customer, standing, earned_points(draft.amount, tier.earn_percent), spendable)

    async def record(self, draft_id: int, staff_tg_id: int, coupon: str | None = None) -> Recorded | DraftProblem:
        """Record the draft without spending points; PurchaseRefused propagates with its reason."""
        draft = await self._own(draft_id, staff_tg_id, ("summary", "awaiting_customer"))
        if isinstance(draft, DraftProblem):
            return draft
        return await self._finish(draft, points=0, coupon=coupon)

    async def cancel(self, draft_id: int, staff_tg_id: int) -> bool:
        draft = await self._own(draft_id, staff_tg_id, ("amount", "category", "summary", "awaiting_customer"))
        if isinstance(draft, DraftProblem):
            return False
        await self.repo.update_draft(draft.id, self.clock.now(), state="cancelled")
        return True

    async def propose_points(self, draft_id: int, staff_tg_id: int) -> int | DraftProblem:
        """Ask the customer, in their own chat, to confirm paying the most points allowed; returns that number."""
        draft = await self._own(draft_id, staff_tg_id, ("summary", "awaiting_customer"))
        if isinstance(draft, DraftProblem):
            return draft
        summary = await self.summary(draft)
        if summary.spendable <= 0:
            return DraftProblem.NO_POINTS
        now = self.clock.now()
        customer = summary.customer
        t = self.notices.texts(customer)
        currency = self.content.loyalty.currency
        amount = draft.amount or Decimal(0)
        text = t(
            "spend_request",
            points=points(summary.spendable, t),
            value=money(Decimal(summary.spendable), currency, t.language),
            amount=money(amount, currency, t.language),
            balance=points(summary.standing.balance, t),
        )
        buttons = [
            [
                Button(
                    t("spend_yes_button", points=points(summary.spendable, t)),
                    data=self.notices.buttons.spend(draft.id, True),
                )
            ],
            [Button(t("spend_no_button"), data=self.notices.buttons.spend(draft.id, False))],
        ]
        async with self.db.transaction() as tx:
            await update_draft(tx, draft.id, now, state="awaiting_customer", points=summary.spendable)
            # A new key per proposal: the cashier may ask again after the customer said no.
            key = f"spend:{draft.id}:{summary.spendable}:{now.timestamp()}"
            await self.notices.to_customer(tx, customer, key, text, now, buttons=buttons)
            await audit(
                tx, staff_tg_id, "points_proposed", str(customer.id), now, draft=draft.id, points=summary.spendable
            )
        return summary.spendable

    async def answer_spend(self, draft_id: int, customer: Customer, yes: bool) -> SpendAnswer:
        """The customer's button: only theirs, only while the request is open and fresh."""
        draft = await self.repo.draft(draft_id)
        if draft is None or draft.customer_id != customer.id:
            return SpendAnswer(problem=DraftProblem.NOT_YOURS)
        if draft.state != "awaiting_customer":
            return SpendAnswer(problem=DraftProblem.GONE)
        now = self.clock.now()
        if now - draft.updated_at > SPEND_REQUEST_TTL:
            return SpendAnswer(problem=DraftProblem.EXPIRED)
        if not yes:
            async with self.db.transaction() as tx:
                if await self._withdrawn_in(tx, draft, now):
                    return SpendAnswer(problem=DraftProblem.WITHDRAWN)
                await update_draft(tx, draft.id, now, state="summary", points=0)
                tr = await self.notices.staff_tr(tx, draft.staff_tg_id)
                text = html(
                    tr.gettext("{name} declined paying with points. Record the sale without them, or cancel."),
                    name=customer.display_name,
                )
                await self.notices.to_chat(
                    tx, draft.staff_tg_id, f"spend-no:{draft.id}:{now.timestamp()}", text, now
                )
            return SpendAnswer(declined=True)
        try:
            recorded = await self._finish(draft, points=draft.points, notify_staff=True)
        except PurchaseRefused as refused:
            return SpendAnswer(problem=refused)
        if isinstance(recorded, DraftProblem):
            return SpendAnswer(problem=recorded)
        return SpendAnswer(recorded=recorded)

    async def one_line(self, staff_tg_id: int, customer: Customer, line: SaleLine, request: str) -> Recorded:
        """`/sale …`: recorded at once (no points: spending needs the customer's confirmation).

        `request` names the staff member's message; it is the purchase's external id, so the same message
        handled twice records one purchase.
        """
        assert line.amount.value is not None
        return await self.purchases.record(
            NewPurchase(
                customer_id=customer.id,
                amount=line.amount.value,
                source="telegram",
                external_id=f"msg:{request}",
                category=line.category,
                staff_tg_id=staff_tg_id,
                coupon_code=line.coupon,
            )
        )

    async def _own(self, draft_id: int, staff_tg_id: int, states: tuple[str, ...]) -> Draft | DraftProblem:
        draft = await self.repo.draft(draft_id)
        if draft is None or draft.staff_tg_id != staff_tg_id:
            return DraftProblem.NOT_YOURS if draft is not None else DraftProblem.GONE
        if draft.state not in states:
            return DraftProblem.GONE
        return draft

    async def _finish(
        self, draft: Draft, *, points: int, coupon: str | None = None, notify_staff: bool = False
    ) -> Recorded | DraftProblem:
        now = self.clock.now()
        assert draft.amount is not None
        async with self.db.transaction() as tx:
            current = await draft_in(tx, draft.id)
            if current is None or current.state not in ("summary", "awaiting_customer"):
                return DraftProblem.GONE
            if await self._withdrawn_in(tx, current, now):
                return DraftProblem.WITHDRAWN
            recorded = await self.purchases.record_in(
                tx,
                NewPurchase(
                    customer_id=draft.customer_id,
                    amount=draft.amount,
                    source="telegram",
                    category=draft.category,
                    external_id=f"draft:{draft.id}",
                    staff_tg_id=draft.staff_tg_id,
                    points_to_spend=points,
                    coupon_code=coupon,
                ),
                now,
            )
            await update_draft(tx, draft.id, now, state="done", purchase_id=recorded.purchase_id)
            if notify_staff:
                customer = await customer_in(tx, draft.customer_id)
                name = customer.display_name if customer else f"#{draft.customer_id}"
                currency = self.content.loyalty.currency
                tr = await self.notices.staff_tr(tx, draft.staff_tg_id)  # the cashier's language
                lang = tr.language
                text = html(
                    tr.gettext(
                        "✅ {name} confirmed paying {points}.\n💵 <b>Collect {collect}</b> in money ({amount} less "
                        "{value} in points).\nSale recorded: purchase #{number}, +{earned} earned."
                    ),
                    name=name,
                    points=point_count(tr, recorded.spent),
                    collect=money(recorded.to_collect, currency, lang),
                    amount=money(recorded.amount, currency, lang),
                    value=money(Decimal(recorded.spent), currency, lang),
                    number=recorded.number,
                    earned=point_count(tr, recorded.earned),
                )
                await self.notices.to_chat(tx, draft.staff_tg_id, f"spend-yes:{draft.id}", text, now)
        return recorded

    async def _withdrawn_in(self, tx: Tx, draft: Draft, now: datetime) -> bool:
        """Re-read, as the sale takes effect, whether whoever opened it may still sell; if not, close it.

        A button may be pressed long after it was shown (the customer's "yes" to a pending points
        payment): the role checked then says nothing about now. The staff member is told why.
        """
        if draft.staff_tg_id in self.owner_ids or await active_role_in(tx, draft.staff_tg_id) is not None:
            return False
        await update_draft(tx, draft.id, now, state="cancelled")
        customer = await customer_in(tx, draft.customer_id)
        tr = await self.notices.staff_tr(tx, draft.staff_tg_id)
        text = html(
            tr.gettext(
                "The sale for {name} was not recorded: you no longer have access to sales. "
                "Ask the owner if this is a mistake."
            ),
            name=customer.display_name if customer else f"#{draft.customer_id}",
        )
        await self.notices.to_chat(tx, draft.staff_tg_id, f"sale-withdrawn:{draft.id}", text, now)
        return True


REFUSAL_TEXT = {
    Refusal.UNKNOWN_CUSTOMER: N_("Unknown customer."),
    Refusal.BAD_AMOUNT: N_("The amount must be more than zero."),
    Refusal.UNKNOWN_CATEGORY: N_("Unknown category."),
    Refusal.POINTS_OVER_BALANCE: N_("The customer does not have that many points any more."),
    Refusal.POINTS_OVER_SHARE: N_("That is more points than may pay for this purchase."),
}


def refusal_text(refused: PurchaseRefused, tr: Translator = ENGLISH) -> str:
    """A staff-facing sentence for a refused purchase, in `tr`'s language (English for the API)."""
    if refused.reason is Refusal.COUPON:
        return refused.said.text(tr) if refused.said is not None else refused.detail
    return tr.gettext(REFUSAL_TEXT[refused.reason])


def point_count(tr: Translator, n: int) -> str:
    """`1 point`, `21 балл`, `5 балів`: a number of points in a team text, in `tr`'s language."""
    return tr.ngettext("{n} point", "{n} points", n).format(n=number(n, tr.language))
