"""Sequence step buttons for customers; /preview and /sequences for owners."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message

from bot.messenger import keyboard
from flows.clock import Clock
from flows.content import Content, Texts
from flows.formatting import count, duration, number, percent
from flows.handoff import Handoff
from flows.markup import Html, html
from flows.sequences import Sequences, sequence_reports
from handlers.filters import IsOwner
from handlers.handoff import lead_reply
from handlers.render import pack_blocks
from handlers.routing import RouterSpec
from storage.customers import Customer
from storage.enrollments import EnrollmentsRepo

router = RouterSpec("sequences", message_filters=(F.chat.type == "private",))


class SeqCb(CallbackData, prefix="sq"):
    e: int  # enrolment (0 in a preview)
    s: int  # step index
    b: int  # button index within the step


def sequence_button_data(enrollment_id: int, step: int, button: int) -> str:
    return SeqCb(e=enrollment_id, s=step, b=button).pack()


@router.callback_query(SeqCb.filter(F.e == 0))
async def preview_button(query: CallbackQuery) -> None:
    await query.answer("Preview: buttons work in the real messages.")


@router.callback_query(SeqCb.filter())
async def step_button(
    query: CallbackQuery,
    callback_data: SeqCb,
    customer: Customer,
    t: Texts,
    sequences: Sequences,
    handoff: Handoff,
) -> None:
    """A customer pressed a button under a sequence message; the flow checks it is theirs."""
    outcome = await sequences.press(customer, callback_data.e, callback_data.s, callback_data.b)
    if outcome.action == "expired":
        await query.answer(t("button_expired"))
        return
    if outcome.action in ("more", "tagged", "enrolled"):
        await query.answer(t("tag_noted") if outcome.action == "tagged" else None)
        return
    await query.answer()
    if not isinstance(query.message, Message):
        return
    await query.message.edit_reply_markup(reply_markup=None)
    if outcome.action != "interested":
        await query.message.answer(t("sequence_left"))
        return
    lead = await handoff.open_lead(customer.id, "interested", context=outcome.detail, offer=outcome.sequence)
    # Without a manager chat the interest is still recorded (event and tag) for the owner to follow up.
    reply = t("interest_noted") if lead.status == "unavailable" else lead_reply(t, lead, handoff, customer)
    await query.message.answer(reply)


@router.message(Command("preview"), IsOwner())
async def preview(message: Message, command: CommandObject, content: Content, sequences: Sequences) -> None:
    """Send every step of a sequence to the owner, rendered as a customer will see it."""
    names = ", ".join(seq.name for seq in content.sequences) or "none"
    seq = content.sequence((command.args or "").strip())
    if seq is None:
        await message.answer(html("Usage: /preview &lt;sequence&gt;. Sequences: {}", names))
        return
    for index, step in enumerate(seq.steps):
        rendered = sequences.render(seq, index, None, 0)
        when = f"after {duration(step.delay, parts=4)}" if step.delay else "at once"
        when += f", at {step.at:%H:%M} local time" if step.at else ""
        await message.answer(html("<i>{} · step {}/{} · {}</i>", seq.name, index + 1, len(seq.steps), when))
        if rendered.photo:
            await message.answer_photo(rendered.photo, caption=rendered.text, reply_markup=keyboard(rendered))
        else:
            await message.answer(rendered.text, reply_markup=keyboard(rendered))


@router.message(Command("sequences"), IsOwner())
async def sequences_report(
    message: Message, content: Content, enrollments: EnrollmentsRepo, clock: Clock, t: Texts
) -> None:
    """How each sequence performs: enrolment states, exits, per-step sends and clicks, conversion."""
    reports = await sequence_reports(content, enrollments, clock.now())
    if not reports:
        await message.answer("No sequences in the content file yet.")
        return
    blocks: list[Html] = []
    lang = t.language

    def n(value: int) -> str:
        return number(value, lang)

    for r in reports:
        exits = ", ".join(f"{reason} {n(k)}" for reason, k in sorted((r.exits or {}).items())) or "none"
        steps = " · ".join(
            f"{i + 1}: {n(s)} sent/{count(c, 'click', 'clicks', lang)}"
            for i, (s, c) in enumerate(zip(r.sent or [], r.clicks or [], strict=True))
        )
        blocks.append(
            html(
                "<b>{}</b> ({})\nenrolled {} · active {} · paused {} · finished {}\nexited: {}\nsteps {}\n"
                "bought during or ≤7 days after: {} ({})",
                r.title,
                r.name,
                n(r.enrolled),
                n(r.active),
                n(r.paused),
                n(r.finished),
                exits,
                steps,
                n(r.converted),
                percent(r.conversion, lang),
            )
        )
    for text in pack_blocks(blocks):
        await message.answer(text)
