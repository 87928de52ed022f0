"""/segment for owners and managers: the audience size of an expression or saved segment, and a sample."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from flows.clock import Clock
from flows.content import Content, Texts
from flows.formatting import count, money, number
from flows.i18n import Translator
from flows.markup import Html, html
from flows.segments import USAGE, SegmentError, Segments, usage
from flows.staff import Staff
from handlers.filters import IsStaff
from handlers.routing import RouterSpec
from storage.segments import SampleCustomer
from storage.timefmt import from_db

router = RouterSpec("segments", message_filters=(F.chat.type == "private",))


def sample_line(customer: SampleCustomer, currency: str, now: datetime, language: str = "en") -> Html:
    name = " ".join(part for part in (customer.first_name, customer.last_name) if part) or f"#{customer.id}"
    who = name + (f" (@{customer.username})" if customer.username else "")
    if not customer.purchases:
        return html("• {} — no purchases yet", who)
    spent = money(Decimal(customer.spent_cents) / 100, currency, language)
    last = from_db(customer.last_at)
    ago = f", last {_ago((now - last).days, language)}" if last else ""
    return html("• {} — {}, {}{}", who, count(customer.purchases, "purchase", "purchases", language), spent, ago)


def _ago(days: int, language: str) -> str:
    """`today`, `yesterday`, `5 days ago` (never "0 days ago")."""
    if days <= 0:
        return "today"
    return "yesterday" if days == 1 else f"{count(days, 'day', 'days', language)} ago"


def saved_list(content: Content) -> Html:
    saved = content.segments.saved
    if not saved:
        return html("No saved segments yet (add them under <code>segments.saved</code> in the content file).")
    return html(
        "Saved segments:\n{}", Html("\n").join(html("• <code>{}</code> — {}", n, e) for n, e in saved.items())
    )


@router.message(Command("segment"), IsStaff("manager"))
async def segment(
    message: Message,
    command: CommandObject,
    segments: Segments,
    content: Content,
    staff: Staff,
    clock: Clock,
    t: Texts,
    tr: Translator,
) -> None:
    """Audience size and a few sample customers of a segment expression or a saved segment."""
    expression = (command.args or "").strip()
    if not expression:
        await message.answer(
            html(
                "Usage: <code>/segment bought:yoga !bought:massage last_purchase&gt;30d</code> "
                "or a saved name.\n\n{}\n\n{}",
                USAGE,
                saved_list(content),
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
            "<b>{}</b> (of {} reachable: subscribed and not blocked)",
            count(view.count, "customer", "customers", t.language),
            number(view.reachable, t.language),
        )
    )
    if view.sample:
        lines.append(html("\nFor example:"))
        lines += [sample_line(c, content.loyalty.currency, clock.now(), t.language) for c in view.sample]
    await message.answer(Html("\n").join(lines))
