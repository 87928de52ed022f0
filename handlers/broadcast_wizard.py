"""/broadcast for owners and managers: segment → message → buttons → coupon → preview → when → confirm.

The answers live in the draft's database row (flows/broadcasts.py), so a restart mid-dialog continues at
the same question. Every button carries only the draft id; the handler checks the presser's role and that
the draft is theirs and still a draft.
"""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot, F
from aiogram.filters import Command, CommandObject, Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, User
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.messenger import AiogramMessenger
from bot.settings import Settings
from flows.broadcast_input import BUTTON_HELP, MAX_COUPON_LIMIT, WHEN_HELP, InputError, parse_limit, parse_when
from flows.broadcasts import Broadcasts
from flows.content import Content
from flows.formatting import count as counted
from flows.markup import Html, html
from flows.messenger import Delivery
from flows.parsing import ParseError
from flows.redaction import redact
from flows.segments import USAGE, SegmentError
from flows.staff import Staff
from handlers.broadcasts import control_markup
from handlers.filters import IsStaff
from handlers.routing import RouterSpec
from storage.broadcasts import Broadcast

router = RouterSpec("broadcast_wizard", message_filters=(F.chat.type == "private",))
TEXT_STEPS = ("segment", "message", "buttons", "limit", "when")
BUTTON_STEPS = ("coupon", "preview", "confirm")  # typing here gets a hint instead of going to the FAQ


class WizCb(CallbackData, prefix="bw"):
    d: int  # the draft
    a: str  # seg | nob | cp | nol | now | later | ok | x
    v: str = ""  # a saved segment's name, a campaign key


class WizardInput(Filter):
    """A message from an owner or manager whose draft waits for typed input; puts `draft` in the data."""

    async def __call__(
        self, message: Message, broadcasts: Broadcasts, staff: Staff, event_from_user: User | None = None
    ) -> bool | dict[str, Broadcast]:
        if event_from_user is None or (message.text or "").startswith("/"):
            return False  # commands keep working mid-dialog
        draft = await broadcasts.draft_of(event_from_user.id)  # an in-memory check first: customers pay nothing
        if draft is None or draft.step not in (*TEXT_STEPS, *BUTTON_STEPS):
            return False
        if await staff.role_of(event_from_user.id) not in ("owner", "manager"):
            return False  # demoted since the draft began
        return {"draft": draft}


def _markup(draft_id: int, *buttons: tuple[str, str, str]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for text, action, value in buttons:
        builder.button(text=text, callback_data=WizCb(d=draft_id, a=action, v=value))
    builder.button(text="✖️ Cancel", callback_data=WizCb(d=draft_id, a="x"))
    builder.adjust(1)
    return builder.as_markup()


async def ask_segment(message: Message, draft: Broadcast, content: Content) -> None:
    saved = [(f"🎯 {name}", "seg", name) for name in content.segments.saved if len(name.encode()) <= 32]
    await message.answer(
        "📣 <b>New broadcast.</b> Who should get it?\n"
        "Send a segment, e.g. <code>bought:yoga !bought:massage last_purchase&gt;30d</code>, or pick one below.\n"
        "Only subscribed customers who have not blocked the bot are counted.",
        reply_markup=_markup(draft.id, ("👥 Everyone", "seg", "everyone"), *saved),
    )


async def ask_message(message: Message, draft: Broadcast, label: str, count: int) -> None:
    text = html(
        "🎯 <b>{}</b>: {} right now.\n\n"
        "Now send the message <b>exactly as it should go out</b>: text, or a photo or a video with a caption. "
        "Bold, italics and links are kept.",
        label,
        counted(count, "customer", "customers", "en"),
    )
    await message.answer(text, reply_markup=_markup(draft.id))


async def ask_buttons(message: Message, draft: Broadcast) -> None:
    await message.answer(
        html("Buttons under the message?\n{}", BUTTON_HELP),
        reply_markup=_markup(draft.id, ("No buttons", "nob", "")),
    )


async def ask_coupon(message: Message, draft: Broadcast, content: Content, broadcasts: Broadcasts) -> None:
    options = []
    for choice in await broadcasts.coupon_choices():
        left = "" if choice.left is None else f" · {choice.left} left"
        options.append((f"🎟 {choice.title}{left}"[:60], "cp", choice.key))
    await message.answer(
        "Attach a coupon? Everyone who presses the coupon button gets a code of their own.",
        reply_markup=_markup(draft.id, *options, ("No coupon", "cp", "")),
    )


async def ask_limit(message: Message, draft: Broadcast) -> None:
    await message.answer(
        "How many coupons at most? Send a number — e.g. <code>5</code>: the first five to press get one, "
        "the rest are told they are all taken.",
        reply_markup=_markup(draft.id, ("No limit", "nol", "")),
    )


async def show_preview(
    message: Message, draft: Broadcast, bot: Bot, broadcasts: Broadcasts, content: Content
) -> None:
    """The message exactly as customers get it, then the audience and the choice of when."""
    result = await AiogramMessenger(bot).deliver(message.chat.id, broadcasts.render(draft))
    if result.status is not Delivery.SENT:
        await broadcasts.repo.update_draft(draft.id, draft.created_by, step="message")
        await message.answer(
            html(
                "⚠️ Telegram refused this message: {}\nSend the message again.",
                redact(result.error or "unknown error"),
            ),
            reply_markup=_markup(draft.id),
        )
        return
    summary = await broadcasts.summary(draft)
    lines = [
        Html("👆 This is how customers will see it."),
        html(
            "Audience now: <b>{}</b> ({}).",
            counted(summary.audience, "customer", "customers", "en"),
            summary.segment.label,
        ),
    ]
    if draft.coupon:
        campaign = content.loyalty.campaign(draft.coupon)
        title = campaign.title.get(content.business.default_language, draft.coupon) if campaign else draft.coupon
        limit = f", only {draft.coupon_limit:,}" if draft.coupon_limit else ""
        lines.append(html("Coupon: {}{}.", title, limit))
    lines.append(Html("When should it go out?"))
    await message.answer(
        Html("\n").join(lines),
        reply_markup=_markup(draft.id, ("🚀 Now", "now", ""), ("⏰ At a date and time…", "later", "")),
    )


async def ask_confirm(
    message: Message, draft: Broadcast, broadcasts: Broadcasts, settings: Settings, send_at: datetime | None
) -> None:
    summary = await broadcasts.summary(draft)
    zone = settings.zone
    when = "now" if send_at is None else f"on {send_at.astimezone(zone):%d.%m.%Y at %H:%M} ({settings.timezone})"
    lines = [html("Send to <b>{:,}</b> customers {}?", summary.audience, when)]
    plan = broadcasts.plan(summary.audience, send_at)
    if plan.quiet_until is not None:
        lines.append(
            html("🌙 That is within quiet hours: messages start at {:%H:%M}.", plan.quiet_until.astimezone(zone))
        )
    lines.append(html("Sending takes about {:.0f} min at the send rate.", plan.minutes))
    await message.answer(Html("\n").join(lines), reply_markup=_markup(draft.id, ("✅ Confirm", "ok", "")))


# ---- commands and typed answers --------------------------------------------------------------------


@router.message(Command("broadcast"), IsStaff("manager"))
async def start_wizard(message: Message, command: CommandObject, broadcasts: Broadcasts, content: Content) -> None:
    """Start a broadcast; `/broadcast <segment>` skips the first question."""
    assert message.from_user is not None
    draft = await broadcasts.begin(message.from_user.id)
    if command.args:
        await segment_typed(message, draft, broadcasts, command.args)
        return
    await ask_segment(message, draft, content)


async def segment_typed(message: Message, draft: Broadcast, broadcasts: Broadcasts, expression: str) -> None:
    try:
        count = await broadcasts.choose_segment(draft, expression)
    except SegmentError as exc:
        await message.answer(
            html("{}\n\n{}\n\nSend the segment again.", exc.html(), USAGE), reply_markup=_markup(draft.id)
        )
        return
    await ask_message(message, draft, broadcasts.segments.parse(expression).label, count)


@router.message(WizardInput())
async def wizard_input(
    message: Message, draft: Broadcast, broadcasts: Broadcasts, settings: Settings, content: Content
) -> None:
    """Whatever the owner types or sends while the wizard waits for it."""
    if draft.step in BUTTON_STEPS:
        await message.answer("Please answer with the buttons above, or start over with /broadcast.")
    elif draft.step == "segment":
        await segment_typed(message, draft, broadcasts, message.text or "")
    elif draft.step == "message":
        await message_sent(message, draft, broadcasts)
    elif draft.step == "buttons":
        await buttons_typed(message, draft, broadcasts, content)
    elif draft.step == "limit":
        await limit_typed(message, draft, broadcasts)
    else:
        await when_typed(message, draft, broadcasts, settings)


async def message_sent(message: Message, draft: Broadcast, broadcasts: Broadcasts) -> None:
    photo = message.photo[-1].file_id if message.photo else None
    video = message.video.file_id if message.video else None
    if not (message.text or photo or video):
        await message.answer(
            "Send text, a photo or a video (with a caption if you like); other kinds cannot go out as a broadcast.",
            reply_markup=_markup(draft.id),
        )
        return
    await broadcasts.set_message(
        draft, message.html_text if (message.text or message.caption) else "", photo, video
    )
    await ask_buttons(message, draft)


async def buttons_typed(message: Message, draft: Broadcast, broadcasts: Broadcasts, content: Content) -> None:
    try:
        buttons = broadcasts.check_buttons(message.text or "")
    except InputError as exc:
        await message.answer(exc.markup, reply_markup=_markup(draft.id, ("No buttons", "nob", "")))
        return
    await after_buttons(message, draft, broadcasts, content, await broadcasts.set_buttons(draft, buttons))


async def after_buttons(
    message: Message, draft: Broadcast, broadcasts: Broadcasts, content: Content, step: str
) -> None:
    fresh = await broadcasts.draft(draft.id, draft.created_by)
    if fresh is None:
        return
    if step == "coupon":
        await ask_coupon(message, fresh, content, broadcasts)
    else:
        await show_preview(message, fresh, message.bot, broadcasts, content)  # type: ignore[arg-type]


async def limit_typed(message: Message, draft: Broadcast, broadcasts: Broadcasts) -> None:
    try:
        limit = parse_limit(message.text)
    except ParseError as exc:
        await message.answer(
            html("{} Send a whole number from 1 to {:,}, or press No limit.", str(exc), MAX_COUPON_LIMIT),
            reply_markup=_markup(draft.id, ("No limit", "nol", "")),
        )
        return
    await broadcasts.set_limit(draft, limit)
    fresh = await broadcasts.draft(draft.id, draft.created_by)
    if fresh is not None:
        await show_preview(message, fresh, message.bot, broadcasts, broadcasts.content)  # type: ignore[arg-type]


async def when_typed(message: Message, draft: Broadcast, broadcasts: Broadcasts, settings: Settings) -> None:
    try:
        send_at = parse_when(message.text or "", broadcasts.clock.now(), settings.zone)
    except InputError as exc:
        await message.answer(
            html("{} (time in {})", exc.markup, settings.timezone), reply_markup=_markup(draft.id)
        )
        return
    await broadcasts.set_when(draft, send_at)
    await ask_confirm(message, draft, broadcasts, settings, send_at)


# ---- the wizard's buttons --------------------------------------------------------------------------------


@router.callback_query(WizCb.filter(), IsStaff("manager"))
async def wizard_button(
    query: CallbackQuery,
    callback_data: WizCb,
    broadcasts: Broadcasts,
    content: Content,
    settings: Settings,
    bot: Bot,
) -> None:
    """Every wizard button: the draft must be the presser's and still open, and the step must fit."""
    draft = await broadcasts.draft(callback_data.d, query.from_user.id)
    message = query.message if isinstance(query.message, Message) else None
    if draft is None or message is None:
        await query.answer("This draft is finished or not yours. Start again with /broadcast.", show_alert=True)
        return
    action, value = callback_data.a, callback_data.v
    expected = {
        "seg": "segment",
        "nob": "buttons",
        "cp": "coupon",
        "nol": "limit",
        "now": "preview",
        "later": "preview",
    }
    if action == "x":
        await broadcasts.discard(draft)
        await query.answer("Cancelled.")
        await message.edit_reply_markup(reply_markup=None)
        await message.answer("Broadcast cancelled; nothing was sent.")
        return
    if action == "ok":
        await confirm(query, message, draft, broadcasts)
        return
    if expected.get(action) != draft.step:
        await query.answer("That question was already answered. Use the latest message.", show_alert=True)
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    if action == "seg":
        await segment_typed(message, draft, broadcasts, value)
    elif action == "nob":
        await after_buttons(message, draft, broadcasts, content, await broadcasts.set_buttons(draft, []))
    elif action == "cp":
        if value and content.loyalty.campaign(value) is None:
            await message.answer("That coupon is no longer in the content file.")
            return
        step = await broadcasts.set_coupon(draft, value or None)
        fresh = await broadcasts.draft(draft.id, draft.created_by)
        if fresh is not None and step == "limit":
            await ask_limit(message, fresh)
        elif fresh is not None:
            await show_preview(message, fresh, bot, broadcasts, content)
    elif action == "nol":
        await broadcasts.set_limit(draft, None)
        fresh = await broadcasts.draft(draft.id, draft.created_by)
        if fresh is not None:
            await show_preview(message, fresh, bot, broadcasts, content)
    elif action == "now":
        await broadcasts.set_when(draft, None)
        await ask_confirm(message, draft, broadcasts, settings, None)
    else:
        await broadcasts.ask_when(draft)
        await message.answer(
            html("When? {} (time in {}).", WHEN_HELP, settings.timezone), reply_markup=_markup(draft.id)
        )


async def confirm(query: CallbackQuery, message: Message, draft: Broadcast, broadcasts: Broadcasts) -> None:
    if draft.step != "confirm":
        await query.answer("Answer the questions above first.", show_alert=True)
        return
    broadcast = await broadcasts.confirm(draft, message.chat.id)
    if broadcast is None:
        await query.answer("This draft can no longer be sent. Start again with /broadcast.", show_alert=True)
        return
    await query.answer("Confirmed.")
    await message.edit_reply_markup(reply_markup=None)
    text = await broadcasts.progress_text(broadcast)
    progress = await message.answer(text, reply_markup=control_markup(broadcast))
    await broadcasts.attach_progress(broadcast, message.chat.id, progress.message_id, text)
