"""A customer's overview (flows/people.py) made ready to show: dates in the business's zone, money and numbers
in the reader's locale, states as labels marked for translation (the template translates them).

Nothing here decides anything: it formats what the flow gathered. What people typed (names, reasons,
messages) is passed on as plain text; the templates escape it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo

from flows.codes import grouped
from flows.content import Content
from flows.formatting import date, moment, money, number
from flows.i18n import N_
from flows.lead_card import CAUSES, STATES
from flows.people import Overview
from storage.ledger import LedgerEntry

LEDGER_KINDS = {
    "accrual": N_("Earned"),
    "redemption": N_("Spent"),
    "bonus": N_("Bonus"),
    "expiry": N_("Expired"),
    "adjustment": N_("Correction"),
}
# Bonuses the bot gives by itself carry a key as their reason; a person's correction carries their words.
BONUS_REASONS = {
    "welcome": N_("Welcome bonus"),
    "birthday": N_("Birthday bonus"),
    "referral": N_("Bonus for a friend"),
}
ENROLLMENT_STATES = {
    "active": N_("running"),
    "paused": N_("paused"),
    "finished": N_("finished"),
    "exited": N_("stopped"),
}
MESSAGE_KINDS = {"text": None, "photo": N_("photo"), "document": N_("document"), "voice": N_("voice message")}


@dataclass(frozen=True)
class Line:
    """One row of a list on the page: cells already formatted, `label` a msgid the template translates."""

    when: str
    label: str
    value: str = ""
    note: str = ""  # people's words (a reason, a message): escaped by the template


@dataclass(frozen=True)
class CustomerPage:
    id: int
    name: str
    username: str | None
    phone: str | None
    card: str | None
    language: str | None
    source: str | None
    first_seen: str
    last_seen: str
    badges: list[str]  # msgids
    tags: list[str]
    tier: str
    balance: str
    purchases_count: str
    spent: str
    ledger: list[Line]
    purchases: list[Line]
    coupons: list[Line]
    sequences: list[Line]
    leads: list[Line]
    conversation: list[Line]
    can_edit: bool
    in_conversation: bool


def _local(text: Mapping[str, str], language: str, default: str) -> str:
    return text.get(language) or text.get(default) or next(iter(text.values()), "")


def _badges(overview: Overview) -> list[str]:
    customer = overview.customer
    badges = []
    if customer.in_conversation:
        badges.append(N_("talking to a manager"))
    if customer.opted_out:
        badges.append(N_("unsubscribed from messages"))
    if customer.unreachable:
        badges.append(N_("blocked the bot"))
    return badges


def page_of(overview: Overview, content: Content, zone: tzinfo, language: str) -> CustomerPage:
    """The overview as the customer's page shows it, in `language`."""
    customer, standing = overview.customer, overview.standing
    default = content.business.default_language
    currency = content.loyalty.currency

    def when(moment_: object) -> str:
        return moment(moment_, language, zone) if moment_ is not None else ""  # type: ignore[arg-type]

    ledger = [_ledger_line(entry, when(entry.created_at), language) for entry in overview.ledger]
    purchases = [
        Line(
            date(p.purchased_at, language, zone),
            N_("Purchase"),
            money(p.amount, currency, language),
            p.category or "",
        )
        for p in overview.purchases
    ]
    coupons = []
    for coupon in overview.coupons:
        campaign = next((c for c in content.loyalty.coupons if c.key == coupon.campaign), None)
        title = _local(campaign.title, language, default) if campaign else coupon.campaign
        if coupon.redeemed_at is not None:
            state, until = N_("used"), date(coupon.redeemed_at, language, zone)
        else:
            state, until = N_("valid until"), date(coupon.valid_until, language, zone)
        coupons.append(Line(until, state, grouped(coupon.code), title))
    sequences = []
    for enrollment in overview.enrollments:
        definition = next((s for s in content.sequences if s.name == enrollment.sequence), None)
        title = (definition.title if definition and definition.title else None) or enrollment.sequence
        running = enrollment.state in ("active", "paused")
        step = number(enrollment.step_index + 1, language) if running else "—"  # stored from 0
        due = when(enrollment.next_due_at) if enrollment.state == "active" else ""
        sequences.append(Line(due, ENROLLMENT_STATES.get(enrollment.state, enrollment.state), step, title))
    leads = [
        Line(
            when(lead.created_at),
            STATES.get(lead.state, lead.state),
            lead.taken_by_name or "",
            CAUSES.get(lead.cause, lead.cause),
        )
        for lead in overview.leads
    ]
    conversation = [
        Line(when(m.at), MESSAGE_KINDS.get(m.kind, m.kind) or "", "", m.text or "") for m in overview.conversation
    ]
    return CustomerPage(
        id=customer.id,
        name=customer.display_name,
        username=customer.username,
        phone=customer.phone,
        card=grouped(overview.card_code) if overview.card_code else None,
        language=customer.preferred_language,
        source=customer.source,
        first_seen=date(customer.first_seen_at, language, zone),
        last_seen=when(customer.last_seen_at),
        badges=_badges(overview),
        tags=overview.tags,
        tier=_local(standing.tier.title, language, default),
        balance=number(standing.balance, language),
        purchases_count=number(standing.purchases, language),
        spent=money(standing.spend, currency, language),
        ledger=ledger,
        purchases=purchases,
        coupons=coupons,
        sequences=sequences,
        leads=leads,
        conversation=conversation,
        can_edit=overview.can_edit,
        in_conversation=customer.in_conversation,
    )


def _ledger_line(entry: LedgerEntry, when: str, language: str) -> Line:
    if entry.kind == "bonus" and entry.reason in BONUS_REASONS:
        return Line(when, BONUS_REASONS[entry.reason], _signed(entry.delta, language))
    return Line(when, LEDGER_KINDS.get(entry.kind, entry.kind), _signed(entry.delta, language), entry.reason or "")


def _signed(delta: int, language: str) -> str:
    return ("+" if delta > 0 else "−") + number(abs(delta), language)
