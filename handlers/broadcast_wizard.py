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
from flows.broadcast_input import (
    MAX_COUPON_LIMIT,
    InputError,
    NoCampaigns,
    button_help,
    parse_limit,
    parse_when,
    when_help,
)
from flows.broadcasts import Broadcasts
from flows.content import Content
from flows.formatting import datetime as moment_text
from flows.formatting import number
from flows.i18n import Translator
from flows.markup import Html, html
from flows.messenger import Delivery
from flows.parsing import ParseError
from flows.redaction import redact
from flows.segments import SegmentError, usage
from flows.staff import Staff
from flows.staff_texts import customers
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
        # The role first: it is kept in memory (flows/staff.py), so a customer's message reads nothing; the
        # draft is read from the database, where any process may have begun it.
        if await staff.role_of(event_from_user.id) not in ("owner", "manager"):
            return False  # a customer, or demoted since the draft began
        draft = await broadcasts.draft_of(event_from_user.id)
        if draft is None or draft.step not in (*TEXT_STEPS, *BUTTON_STEPS):
            return False
        return {"draft": draft}


def _markup(draft_id: int, tr: Translator, *buttons: tuple[str, str, str]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for text, action, value in buttons:
        builder.button(text=text, callback_data=WizCb(d=draft_id, a=action, v=value))
    builder.button(text="✖️ " + tr.gettext("Cancel"), callback_data=WizCb(d=draft_id, a="x"))
    builder.adjust(1)
    return builder.as_markup()


async def ask_segment(message: Message, draft: Broadcast, content: Content, tr: Translator) -> None:
    saved = [(f"🎯 {name}", "seg", name) for name in content.segments.saved if len(name.encode()) <= 32]
    await message.answer(
        tr.gettext(
            "📣 <b>New broadcast.</b> Who should get it?\n"
            "Send a segment, e.g. <code>bought:yoga !bought:massage last_purchase&gt;30d</code>, or pick one "
            "below.\nOnly subscribed customers who have not blocked the bot are counted."
        ),
        reply_markup=_markup(draft.id, tr, ("👥 " + tr.gettext("Everyone"), "seg", "everyone"), *saved),
    )


async def ask_message(message: Message, draft: Broadcast, label: str, count: int, tr: Translator) -> None:
    text = html(
        tr.gettext(
            "🎯 <b>{segment}</b>: {customers} right now.\n\n"
            "Now send the message <b>exactly as it should go out</b>: text, or a photo or a video with a "
            "caption. Bold, italics and links are kept."
        ),
        segment=label,
        customers=customers(count, tr),
    )
    await message.answer(text, reply_markup=_markup(draft.id, tr))


async def ask_buttons(message: Message, draft: Broadcast, tr: Translator) -> None:
    await message.answer(
        html(tr.gettext("Buttons under the message?\n{help}"), help=button_help(tr)),
        reply_markup=_markup(draft.id, tr, (tr.gettext("No buttons"), "nob", "")),
    )


async def ask_coupon(
    message: Message, draft: Broadcast, content: Content, broadcasts: Broadcasts, tr: Translator
) -> None:
    options = []
    for choice in await broadcasts.coupon_choices():
        left = ""
        if choice.left is not None:
            left = " · " + tr.gettext("{n} left").format(n=number(choice.left, tr.language))
        options.append((f"🎟 {choice.title}{left}"[:60], "cp", choice.key))
    await message.answer(
        tr.gettext("Attach a coupon? Everyone who presses the coupon button gets a code of their own."),
        reply_markup=_markup(draft.id, tr, *options, (tr.gettext("No coupon"), "cp", "")),
    )


async def ask_limit(message: Message, draft: Broadcast, tr: Translator) -> None:
    await message.answer(
        tr.gettext(
            "How many coupons at most? Send a number — e.g. <code>5</code>: the first five to press get one, "
            "the rest are told they are all taken."
        ),
        reply_markup=_markup(draft.id, tr, (tr.gettext("No limit"), "nol", "")),
    )


async def show_preview(
    message: Message, draft: Broadcast, bot: Bot, broadcasts: Broadcasts, content: Content, tr: Translator
) -> None:
    """The message exactly as customers get it, then the audience and the choice of when."""
    result = await AiogramMessenger(bot).deliver(message.chat.id, broadcasts.render(draft))
    if result.status is not Delivery.SENT:
        await broadcasts.repo.update_draft(draft.id, draft.created_by, step="message")
        refused = tr.gettext("⚠️ Telegram refused this message: {error}\nSend the message again.")
        error = redact(result.error) if result.error else tr.gettext("unknown error")
        await message.answer(html(refused, error=error), reply_markup=_markup(draft.id, tr))
        return
    summary = await broadcasts.summary(draft)
    lines = [
        html(tr.gettext("👆 This is how customers will see it.")),
        html(
            tr.gettext("Audience now: <b>{customers}</b> ({segment})."),
            customers=customers(summary.audience, tr),
            segment=summary.segment.label,
        ),
    ]
    if draft.coupon:
        campaign = content.loyalty.campaign(draft.coupon)
        title = campaign.title.get(content.business.default_language, draft.coupon) if campaign else draft.coupon
        if draft.coupon_limit:
            limit = number(draft.coupon_limit, tr.language)
            lines.append(html(tr.gettext("Coupon: {title}, only {limit}."), title=title, limit=limit))
        else:
            lines.append(html(tr.gettext("Coupon: {title}."), title=title))
    lines.append(html(tr.gettext("When should it go out?")))
    buttons = (tr.gettext("🚀 Now"), "now", ""), (tr.gettext("⏰ At a date and time…"), "later", "")
    await message.answer(Html("\n").join(lines), reply_markup=_markup(draft.id, tr, *buttons))


async def ask_confirm(
    message: Message,
    draft: Broadcast,
    broadcasts: Broadcasts,
    settings: Settings,
    send_at: datetime | None,
    tr: Translator,
) -> None:
    summary = await broadcasts.summary(draft)
    zone = settings.zone
    audience = customers(summary.audience, tr)
    if send_at is None:
        lines = [html(tr.gettext("Send to <b>{customers}</b> now?"), customers=audience)]
    else:
        when = moment_text(send_at, tr.language, zone)
        template = tr.gettext("Send to <b>{customers}</b> on {when} ({zone})?")
        lines = [html(template, customers=audience, when=when, zone=settings.timezone)]
    plan = broadcasts.plan(summary.audience, send_at)
    if plan.quiet_until is not None:
        quiet = tr.gettext("🌙 That is within quiet hours: messages start at {time}.")
        lines.append(html(quiet, time=f"{plan.quiet_until.astimezone(zone):%H:%M}"))
    minutes = round(plan.minutes)
    takes = tr.ngettext(
        "Sending takes about {n} minute at the send rate.",
        "Sending takes about {n} minutes at the send rate.",
        minutes,
    )
    lines.append(html(takes, n=number(minutes, tr.language)))
    confirm_button = (tr.gettext("✅ Confirm"), "ok", "")
    await message.answer(Html("\n").join(lines), reply_markup=_markup(draft.id, tr, confirm_button))


# ---- commands and typed answers --------------------------------------------------------------------


@router.message(Command("broadcast"), IsStaff("manager"))
async def start_wizard(
    message: Message, command: CommandObject, broadcasts: Broadcasts, content: Content, tr: Translator
) -> None:
    """Start a broadcast; `/broadcast <segment>` skips the first question."""
    assert message.from_user is not None
    draft = await broadcasts.begin(message.from_user.id)
    if command.args:
        await segment_typed(message, draft, broadcasts, command.args, tr)
        return
    await ask_segment(message, draft, content, tr)


async def segment_typed(
    message: Message, draft: Broadcast, broadcasts: Broadcasts, expression: str, tr: Translator
) -> None:
    try:
        count = await broadcasts.choose_segment(draft, expression)
    except SegmentError as exc:
        again = tr.gettext("Send the segment again.")
        await message.answer(
            html("{}\n\n{}\n\n{}", exc.html(tr), usage(tr), again), reply_markup=_markup(draft.id, tr)
        )
        return
    await ask_message(message, draft, broadcasts.segments.parse(expression).label, count, tr)


@router.message(WizardInput())
async def wizard_input(
    message: Message,
    draft: Broadcast,
    broadcasts: Broadcasts,
    settings: Settings,
    content: Content,
    tr: Translator,
) -> None:
    """Whatever the owner types or sends while the wizard waits for it."""
    if draft.step in BUTTON_STEPS:
        await message.answer(tr.gettext("Please answer with the buttons above, or start over with /broadcast."))
    elif draft.step == "segment":
        await segment_typed(message, draft, broadcasts, message.text or "", tr)
    elif draft.step == "message":
        await message_sent(message, draft, broadcasts, tr)
    elif draft.step == "buttons":
        await buttons_typed(message, draft, broadcasts, content, tr)
    elif draft.step == "limit":
        await limit_typed(message, draft, broadcasts, tr)
    else:
        await when_typed(message, draft, broadcasts, settings, tr)


async def message_sent(message: Message, draft: Broadcast, broadcasts: Broadcasts, tr: Translator) -> None:
    photo = message.photo[-1].file_id if message.photo else None
    video = message.video.file_id if message.video else None
    if not (message.text or photo or video):
        await message.answer(
            tr.gettext(
                "Send text, a photo or a video (with a caption if you like); other kinds cannot go out as a "
                "broadcast."
            ),
            reply_markup=_markup(draft.id, tr),
        )
        return
    await broadcasts.set_message(
        draft, message.html_text if (message.text or message.caption) else "", photo, video
    )
    await ask_buttons(message, draft, tr)


async def buttons_typed(
    message: Message, draft: Broadcast, broadcasts: Broadcasts, content: Content, tr: Translator
) -> None:
    no_buttons = (tr.gettext("No buttons"), "nob", "")
    try:
        buttons = broadcasts.check_buttons(message.text or "")
    except NoCampaigns:
        none = tr.gettext("There are no coupon campaigns in the content file (loyalty.coupons) to attach.")
        await message.answer(html(none), reply_markup=_markup(draft.id, tr, no_buttons))
        return
    except InputError as exc:
        await message.answer(exc.html(tr), reply_markup=_markup(draft.id, tr, no_buttons))
        return
    await after_buttons(message, draft, broadcasts, content, await broadcasts.set_buttons(draft, buttons), tr)


async def after_buttons(
    message: Message, draft: Broadcast, broadcasts: Broadcasts, content: Content, step: str, tr: Translator
) -> None:
    fresh = await broadcasts.draft(draft.id, draft.created_by)
    if fresh is None:
        return
    if step == "coupon":
        await ask_coupon(message, fresh, content, broadcasts, tr)
    else:
        await show_preview(message, fresh, message.bot, broadcasts, content, tr)  # type: ignore[arg-type]


async def limit_typed(message: Message, draft: Broadcast, broadcasts: Broadcasts, tr: Translator) -> None:
    try:
        limit = parse_limit(message.text, what=tr.gettext("number of coupons"))
    except ParseError as exc:
        hint = tr.gettext("{problem} Send a whole number from 1 to {maximum}, or press No limit.")
        await message.answer(
            html(hint, problem=exc.html(tr), maximum=number(MAX_COUPON_LIMIT, tr.language)),
            reply_markup=_markup(draft.id, tr, (tr.gettext("No limit"), "nol", "")),
        )
        return
    await broadcasts.set_limit(draft, limit)
    fresh = await broadcasts.draft(draft.id, draft.created_by)
    if fresh is not None:
        await show_preview(message, fresh, message.bot, broadcasts, broadcasts.content, tr)  # type: ignore[arg-type]


async def when_typed(
    message: Message, draft: Broadcast, broadcasts: Broadcasts, settings: Settings, tr: Translator
) -> None:
    try:
        send_at = parse_when(message.text or "", broadcasts.clock.now(), settings.zone)
    except InputError as exc:
        zone = tr.gettext("(time in {zone})").format(zone=settings.timezone)
        await message.answer(html("{} {}", exc.html(tr), zone), reply_markup=_markup(draft.id, tr))
        return
    await broadcasts.set_when(draft, send_at)
    await ask_confirm(message, draft, broadcasts, settings, send_at, tr)


# ---- the wizard's buttons --------------------------------------------------------------------------------


@router.callback_query(WizCb.filter(), IsStaff("manager"))
async def wizard_button(
    query: CallbackQuery,
    callback_data: WizCb,
    broadcasts: Broadcasts,
    content: Content,
    settings: Settings,
    bot: Bot,
    tr: Translator,
) -> None:
    """Every wizard button: the draft must be the presser's and still open, and the step must fit."""
    draft = await broadcasts.draft(callback_data.d, query.from_user.id)
    message = query.message if isinstance(query.message, Message) else None
    if draft is None or message is None:
        gone = tr.gettext("This draft is finished or not yours. Start again with /broadcast.")
        await query.answer(gone, show_alert=True)
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
        await query.answer(tr.gettext("Cancelled."))
        await message.edit_reply_markup(reply_markup=None)
        await message.answer(tr.gettext("Broadcast cancelled; nothing was sent."))
        return
    if action == "ok":
        await confirm(query, message, draft, broadcasts, tr)
        return
    if expected.get(action) != draft.step:
        answered = tr.gettext("That question was already answered. Use the latest message.")
        await query.answer(answered, show_alert=True)
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    if action == "seg":
        await segment_typed(message, draft, broadcasts, value, tr)
    elif action == "nob":
        await after_buttons(message, draft, broadcasts, content, await broadcasts.set_buttons(draft, []), tr)
    elif action == "cp":
        if value and content.loyalty.campaign(value) is None:
            await message.answer(tr.gettext("That coupon is no longer in the content file."))
            return
        step = await broadcasts.set_coupon(draft, value or None)
        fresh = await broadcasts.draft(draft.id, draft.created_by)
        if fresh is not None and step == "limit":
            await ask_limit(message, fresh, tr)
        elif fresh is not None:
            await show_preview(message, fresh, bot, broadcasts, content, tr)
    elif action == "nol":
        await broadcasts.set_limit(draft, None)
        fresh = await broadcasts.draft(draft.id, draft.created_by)
        if fresh is not None:
            await show_preview(message, fresh, bot, broadcasts, content, tr)
    elif action == "now":
        await broadcasts.set_when(draft, None)
        await ask_confirm(message, draft, broadcasts, settings, None, tr)
    else:
        await broadcasts.ask_when(draft)
        when = tr.gettext("When? {help} (time in {zone}).")
        await message.answer(
            html(when, help=when_help(tr), zone=settings.timezone), reply_markup=_markup(draft.id, tr)
        )


async def confirm(
    query: CallbackQuery, message: Message, draft: Broadcast, broadcasts: Broadcasts, tr: Translator
) -> None:
    if draft.step != "confirm":
        await query.answer(tr.gettext("Answer the questions above first."), show_alert=True)
        return
    broadcast = await broadcasts.confirm(draft, message.chat.id)
    if broadcast is None:
        gone = tr.gettext("This draft can no longer be sent. Start again with /broadcast.")
        await query.answer(gone, show_alert=True)
        return
    await query.answer(tr.gettext("Confirmed."))
    await message.edit_reply_markup(reply_markup=None)
    text = await broadcasts.progress_text(broadcast)
    progress = await message.answer(text, reply_markup=control_markup(broadcast, tr.language))
    await broadcasts.attach_progress(broadcast, message.chat.id, progress.message_id, text)
