"""Sequence step buttons for customers; /preview and /sequences for owners."""

from __future__ import annotations

from datetime import time, timedelta

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message

from bot.messenger import keyboard, media_input, remember_upload
from flows.clock import Clock
from flows.content import Content, Texts
from flows.formatting import duration, number, percent
from flows.handoff import Handoff
from flows.i18n import N_, Translator
from flows.markup import Html, html
from flows.media import Media
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


# Why an enrolment ended (flows/sequences.py), as the owner reads it; "tag X" is shown as "tag X".
EXIT_REASONS = {
    "purchased": N_("purchased"),
    "opted_out": N_("opted out"),
    "blocked": N_("blocked the bot"),
    "forgotten": N_("data deleted"),
    "declined": N_("declined"),
    "unknown": N_("unknown"),
    "removed": N_("sequence removed"),
}


def exit_reason(reason: str, tr: Translator) -> str:
    if reason.startswith("tag "):
        return tr.gettext("tag {tag}").format(tag=reason.removeprefix("tag "))
    return tr.gettext(EXIT_REASONS[reason]) if reason in EXIT_REASONS else reason


def sequence_button_data(enrollment_id: int, step: int, button: int) -> str:
    return SeqCb(e=enrollment_id, s=step, b=button).pack()


@router.callback_query(SeqCb.filter(F.e == 0))
async def preview_button(query: CallbackQuery, tr: Translator) -> None:
    await query.answer(tr.gettext("Preview: buttons work in the real messages."))


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
async def preview(
    message: Message,
    command: CommandObject,
    content: Content,
    sequences: Sequences,
    tr: Translator,
    media: Media,
) -> None:
    """Send every step of a sequence to the owner, rendered as a customer will see it."""
    names = ", ".join(seq.name for seq in content.sequences) or "—"
    seq = content.sequence((command.args or "").strip())
    if seq is None:
        usage = tr.gettext("Usage: /preview &lt;sequence&gt;. Sequences: {names}")
        await message.answer(html(usage, names=names))
        return
    for index, step in enumerate(seq.steps):
        rendered = sequences.render(seq, index, None, 0)
        when = _when(step.delay, step.at, tr)
        heading = tr.gettext("<i>{name} · step {step}/{steps} · {when}</i>")
        await message.answer(html(heading, name=seq.name, step=index + 1, steps=len(seq.steps), when=when))
        if rendered.photo:
            photo = await media_input(rendered.photo, media)
            sent = await message.answer_photo(photo, caption=rendered.text, reply_markup=keyboard(rendered))
            await remember_upload(rendered.photo, sent, media)
        else:
            await message.answer(rendered.text, reply_markup=keyboard(rendered))


def _when(delay: timedelta | None, at: time | None, tr: Translator) -> str:
    """When a step goes out, as the owner reads it: `after 2 d, at 10:00 local time`."""
    if delay:
        after = duration(delay, tr.language, parts=4)
        if at:
            return tr.gettext("after {delay}, at {time} local time").format(delay=after, time=f"{at:%H:%M}")
        return tr.gettext("after {delay}").format(delay=after)
    if at:
        return tr.gettext("at once, at {time} local time").format(time=f"{at:%H:%M}")
    return tr.gettext("at once")


@router.message(Command("sequences"), IsOwner())
async def sequences_report(
    message: Message, content: Content, enrollments: EnrollmentsRepo, clock: Clock, tr: Translator
) -> None:
    """How each sequence performs: enrolment states, exits, per-step sends and clicks, conversion."""
    reports = await sequence_reports(content, enrollments, clock.now())
    if not reports:
        await message.answer(tr.gettext("No sequences in the content file yet."))
        return
    blocks: list[Html] = []
    lang = tr.language

    def n(value: int) -> str:
        return number(value, lang)

    for r in reports:
        exits = (
            ", ".join(f"{exit_reason(reason, tr)} {n(k)}" for reason, k in sorted((r.exits or {}).items())) or "—"
        )
        steps = " · ".join(
            tr.ngettext("{step}: {sent} sent/{n} click", "{step}: {sent} sent/{n} clicks", c).format(
                step=i + 1, sent=n(s), n=n(c)
            )
            for i, (s, c) in enumerate(zip(r.sent or [], r.clicks or [], strict=True))
        )
        report = tr.gettext(
            "<b>{title}</b> ({name})\nenrolled {enrolled} · active {active} · paused {paused} · "
            "finished {finished}\nexited: {exits}\nsteps {steps}\n"
            "bought during or ≤7 days after: {converted} ({conversion})"
        )
        blocks.append(
            html(
                report,
                title=r.title,
                name=r.name,
                enrolled=n(r.enrolled),
                active=n(r.active),
                paused=n(r.paused),
                finished=n(r.finished),
                exits=exits,
                steps=steps,
                converted=n(r.converted),
                conversion=percent(r.conversion, lang),
            )
        )
    for text in pack_blocks(blocks):
        await message.answer(text)
