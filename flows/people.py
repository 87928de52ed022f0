"""One customer as the team sees them, and what the team may do about them.

`overview` gathers the customer's page from the repositories the bot already keeps (profile, tags, card,
standing, ledger, coupons, purchases, sequences, leads, their last messages). The actions go through the
same flows the bot's commands use: a points correction is `Loyalty.correct` (the append-only ledger,
audited, once per request), "hand to a manager" is `Handoff.open_lead` (what /manager does), tags are the
customers' tags with their `tag_added` event (so sequences triggered by a tag start) plus an audit row.

Every action re-checks the actor's role when it takes effect (owners and managers may change things; a
cashier may only look) and that the customer still exists and is not forgotten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flows.clock import Clock
from flows.handoff import Handoff, LeadOutcome, RoleOf
from flows.loyalty import Correction, Loyalty, NotEnoughPoints, Standing
from flows.parsing import MAX_POINTS, ParseError, clean, parse_points_delta
from storage.coupons import Coupon
from storage.customers import Customer, add_tag_in, remove_tag_in
from storage.db import Database
from storage.enrollments import Enrollment, EnrollmentsRepo
from storage.leads import Lead
from storage.ledger import LedgerEntry
from storage.messages import RecentMessage
from storage.people import PeopleRepo
from storage.purchases import PurchaseRow
from storage.staff import audit

EDITORS = ("owner", "manager")  # may correct points, tag and hand over; a cashier may only look
READERS = ("owner", "manager", "cashier")
MAX_REASON = 200
HISTORY = 20  # rows of each list on the page
_TAG = re.compile(r"^[a-z0-9_-]{1,24}$")  # the segment language's tags (flows/segments.py)
_REQUEST = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class NotAllowed(Exception):
    """The person's role (read now) does not allow this."""


class NoSuchCustomer(Exception):
    """The customer does not exist, was forgotten, or is on the team."""


class Invalid(ValueError):
    """Input that cannot be used: which field, and a code the edge turns into words next to that field."""

    def __init__(self, field: str, code: str, **details: Any) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code
        self.details = details


@dataclass(frozen=True)
class Overview:
    """Everything the customer's page shows, newest first in each list."""

    customer: Customer
    card_code: str | None
    tags: list[str]
    standing: Standing
    ledger: list[LedgerEntry]
    coupons: list[Coupon]
    purchases: list[PurchaseRow]
    enrollments: list[Enrollment]
    leads: list[Lead]
    conversation: list[RecentMessage]  # the customer's last messages (the bot keeps a few, for managers)
    can_edit: bool = False  # whether the person looking may change anything

    @property
    def open_lead(self) -> Lead | None:
        return next((lead for lead in self.leads if lead.is_open), None)


def read_tag(text: str) -> str:
    """A tag as typed (`VIP `, `#vip`) → `vip`; `Invalid("tag", "tag_format")` when it is not one."""
    tag = clean(text).lstrip("#").lower()
    if not _TAG.match(tag):
        raise Invalid("tag", "tag_format")
    return tag


def read_delta(text: str) -> int:
    """`+50`, `-20`, `50` → a change of points; `Invalid("delta", "points_format")` otherwise (zero too)."""
    try:
        return parse_points_delta(text)
    except ParseError:
        raise Invalid("delta", "points_format", maximum=MAX_POINTS) from None


def read_reason(text: str) -> str:
    """The reason the customer is shown: required, one line, at most 200 characters."""
    reason = " ".join(clean(text).split())
    if not reason:
        raise Invalid("reason", "reason_missing")
    if len(reason) > MAX_REASON:
        raise Invalid("reason", "reason_too_long", maximum=MAX_REASON)
    return reason


@dataclass
class People:
    db: Database
    repo: PeopleRepo
    loyalty: Loyalty
    handoff: Handoff
    enrollments: EnrollmentsRepo
    role_of: RoleOf  # the team flow's answer, read when each action takes effect
    clock: Clock
    history: int = field(default=HISTORY)

    # ---- roles ----

    async def may_read(self, actor_tg_id: int) -> bool:
        return await self.role_of(actor_tg_id) in READERS

    async def may_edit(self, actor_tg_id: int) -> bool:
        return await self.role_of(actor_tg_id) in EDITORS

    async def _editor(self, actor_tg_id: int) -> None:
        if not await self.may_edit(actor_tg_id):
            raise NotAllowed

    async def _customer(self, customer_id: int) -> Customer:
        customer = await self.repo.customer(customer_id)
        if customer is None:
            raise NoSuchCustomer
        return customer

    # ---- reading ----

    async def overview(self, customer_id: int, viewer_tg_id: int | None = None) -> Overview | None:
        """The customer's page; None when there is no such (findable) customer.

        The standing applies due expiries first, as /balance does, so the page and the bot agree.
        """
        customer = await self.repo.customer(customer_id)
        if customer is None:
            return None
        limit = self.history
        return Overview(
            customer=customer,
            card_code=await self.repo.card_code(customer_id),
            tags=await self.loyalty.customers.tags(customer_id),
            standing=await self.loyalty.standing(customer_id),
            ledger=await self.loyalty.history(customer_id, limit),
            coupons=await self.repo.coupons(customer_id, limit),
            purchases=await self.repo.purchases(customer_id, limit),
            enrollments=(await self.enrollments.for_customer(customer_id))[-limit:][::-1],
            leads=await self.repo.leads(customer_id, limit),
            conversation=await self.handoff.messages.recent(customer_id, 10),
            can_edit=viewer_tg_id is not None and await self.may_edit(viewer_tg_id),
        )

    # ---- changing ----

    async def add_tag(self, actor_tg_id: int, customer_id: int, text: str) -> bool:
        """Tag the customer (audited); False when they had it already. Sequences triggered by it start."""
        tag = read_tag(text)
        await self._editor(actor_tg_id)
        customer = await self._customer(customer_id)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            added = await add_tag_in(tx, customer.id, tag, now)
            if added:
                await audit(tx, actor_tg_id, "tag_added", str(customer.id), now, tag=tag)
        return added

    async def remove_tag(self, actor_tg_id: int, customer_id: int, text: str) -> bool:
        """Take a tag off (audited); False when they did not have it."""
        tag = read_tag(text)
        await self._editor(actor_tg_id)
        customer = await self._customer(customer_id)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            removed = await remove_tag_in(tx, customer.id, tag, now)
            if removed:
                await audit(tx, actor_tg_id, "tag_removed", str(customer.id), now, tag=tag)
        return removed

    async def correct_points(
        self, actor_tg_id: int, customer_id: int, delta_text: str, reason_text: str, request: str
    ) -> Correction:
        """A points correction with a reason, through the ledger path /points uses (audited, the customer told).

        `request` names this submission (the form carries it): submitted twice, it lands once.
        `Invalid` for bad input, `NotAllowed` for a cashier, `NoSuchCustomer`, `Invalid("delta",
        "not_enough_points")` when a debit would take the balance below zero.
        """
        delta = read_delta(delta_text)
        reason = read_reason(reason_text)
        if not _REQUEST.match(request):
            raise Invalid("request", "request_format")
        await self._editor(actor_tg_id)
        customer = await self._customer(customer_id)
        try:
            return await self.loyalty.correct(customer, delta, reason, actor_tg_id, f"console:{request}")
        except NotEnoughPoints:
            raise Invalid("delta", "not_enough_points") from None

    async def hand_to_manager(self, actor_tg_id: int, customer_id: int, by: str | None = None) -> LeadOutcome:
        """Open a conversation: the customer is handed to the managers as /manager does (card, sequences held).

        `by` (who pressed it; by default their name as the bot knows them) goes on the managers' card.
        "already" when a conversation is open; "unavailable" when no managers' chat is set up.
        """
        await self._editor(actor_tg_id)
        customer = await self._customer(customer_id)
        if by is None:
            actor = await self.loyalty.customers.by_tg_id(actor_tg_id)
            by = actor.display_name if actor is not None else None
        context = f"by {by}" if by else None
        return await self.handoff.open_lead(customer.id, "console", context=context)
