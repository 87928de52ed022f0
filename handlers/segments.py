"""/segment for owners and managers: the audience size of an expression or saved segment, and a sample."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from flows.clock import Clock
from flows.content import Content
from flows.formatting import money, number
from flows.i18n import Translator
from flows.markup import Html, html
from flows.segments import SegmentError, Segments, usage
from flows.staff import Staff
from flows.staff_texts import customers, purchases
from handlers.filters import IsStaff
from handlers.routing import RouterSpec
from storage.segments import SampleCustomer
from storage.timefmt import from_db

router = RouterSpec("segments", message_filters=(F.chat.type == "private",))


def sample_line(customer: SampleCustomer, currency: str, now: datetime, tr: Translator) -> Html:
    name = " ".join(part for part in (customer.first_name, customer.last_name) if part) or f"#{customer.id}"
    who = name + (f" (@{customer.username})" if customer.username else "")
    if not customer.purchases:
        return html(tr.gettext("• {who} — no purchases yet"), who=who)
    spent = money(Decimal(customer.spent_cents) / 100, currency, tr.language)
    last = from_db(customer.last_at)
    bought = purchases(customer.purchases, tr)
    if last is None:
        return html(tr.gettext("• {who} — {purchases}, {spent}"), who=who, purchases=bought, spent=spent)
    template = tr.gettext("• {who} — {purchases}, {spent}, last {when}")
    return html(template, who=who, purchases=bought, spent=spent, when=_ago((now - last).days, tr))


def _ago(days: int, tr: Translator) -> str:
    """`today`, `yesterday`, `5 days ago` (never "0 days ago")."""
    if days <= 0:
        return tr.gettext("today")
    if days == 1:
        return tr.gettext("yesterday")
    return tr.ngettext("{n} day ago", "{n} days ago", days).format(n=number(days, tr.language))


def saved_list(content: Content, tr: Translator) -> Html:
    saved = content.segments.saved
    if not saved:
        return html(
            tr.gettext("No saved segments yet (add them under <code>segments.saved</code> in the content file).")
        )
    listed = Html("\n").join(html("• <code>{}</code> — {}", n, e) for n, e in saved.items())
    return html(tr.gettext("Saved segments:\n{segments}"), segments=listed)


@router.message(Command("segment"), IsStaff("manager"))
async def segment(
    message: Message,
    command: CommandObject,
    segments: Segments,
    content: Content,
    staff: Staff,
    clock: Clock,
    tr: Translator,
) -> None:
    """Audience size and a few sample customers of a segment expression or a saved segment."""
    expression = (command.args or "").strip()
    if not expression:
        await message.answer(
            html(
                tr.gettext(
                    "Usage: <code>/segment bought:yoga !bought:massage last_purchase&gt;30d</code> "
                    "or a saved name.\n\n{syntax}\n\n{saved}"
                ),
                syntax=usage(tr),
                saved=saved_list(content, tr),
            )
        )
        return
    try:
        view = await segments.view(expression)
    except SegmentError as exc:
        await message.answer(html("{}\n\n{}", exc.html(tr), usage(tr)))
        return
    assert message.from_user is not None
    await staff.repo.audit(
        message.from_user.id, "segment_viewed", view.segment.label, clock.now(), count=view.count
    )
    lines = [html("🎯 <b>{}</b>", view.segment.label)]
    if view.segment.name:
        lines.append(html("<code>{}</code>", view.segment.expression))
    lines.append(
        html(
            tr.gettext("<b>{customers}</b> (of {reachable} reachable: subscribed and not blocked)"),
            customers=customers(view.count, tr),
            reachable=number(view.reachable, tr.language),
        )
    )
    if view.sample:
        lines.append(Html("\n") + html(tr.gettext("For example:")))
        lines += [sample_line(c, content.loyalty.currency, clock.now(), tr) for c in view.sample]
    await message.answer(Html("\n").join(lines))
