"""/segment for owners and managers: the audience size of an expression or saved segment, and a sample."""

from __future__ import annotations

import html
from datetime import datetime
from decimal import Decimal

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from flows.clock import Clock
from flows.content import Content
from flows.formatting import money
from flows.segments import USAGE, SegmentError, Segments
from flows.staff import Staff
from handlers.filters import IsStaff
from handlers.routing import RouterSpec
from storage.segments import SampleCustomer
from storage.timefmt import from_db

router = RouterSpec("segments", message_filters=(F.chat.type == "private",))


def sample_line(customer: SampleCustomer, currency: str, now: datetime) -> str:
    name = " ".join(part for part in (customer.first_name, customer.last_name) if part) or f"#{customer.id}"
    who = html.escape(name, quote=False) + (f" (@{html.escape(customer.username)})" if customer.username else "")
    if not customer.purchases:
        return f"• {who} — no purchases yet"
    spent = money(Decimal(customer.spent_cents) / 100, currency, "en")
    last = from_db(customer.last_at)
    ago = f", last {(now - last).days} days ago" if last else ""
    return f"• {who} — {customer.purchases} purchases, {spent}{ago}"


def saved_list(content: Content) -> str:
    saved = content.segments.saved
    if not saved:
        return "No saved segments yet (add them under <code>segments.saved</code> in the content file)."
    return "Saved segments:\n" + "\n".join(
        f"• <code>{html.escape(name)}</code> — {html.escape(expr)}" for name, expr in saved.items()
    )


@router.message(Command("segment"), IsStaff("manager"))
async def segment(
    message: Message, command: CommandObject, segments: Segments, content: Content, staff: Staff, clock: Clock
) -> None:
    """Audience size and a few sample customers of a segment expression or a saved segment."""
    expression = (command.args or "").strip()
    if not expression:
        await message.answer(
            "Usage: <code>/segment bought:yoga !bought:massage last_purchase&gt;30d</code> "
            f"or a saved name.\n\n{USAGE}\n\n{saved_list(content)}"
        )
        return
    try:
        view = await segments.view(expression)
    except SegmentError as exc:
        await message.answer(f"{exc.html()}\n\n{USAGE}")
        return
    assert message.from_user is not None
    await staff.repo.audit(
        message.from_user.id, "segment_viewed", view.segment.label, clock.now(), count=view.count
    )
    title = html.escape(view.segment.label, quote=False)
    lines = [f"🎯 <b>{title}</b>"]
    if view.segment.name:
        lines.append(f"<code>{html.escape(view.segment.expression, quote=False)}</code>")
    lines.append(f"<b>{view.count:,}</b> customers (of {view.reachable:,} reachable: subscribed and not blocked)")
    if view.sample:
        lines.append("\nFor example:")
        lines += [sample_line(c, content.loyalty.currency, clock.now()) for c in view.sample]
    await message.answer("\n".join(lines))
