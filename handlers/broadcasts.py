"""Broadcasts after the wizard: pause/resume/cancel, /broadcasts with results, and customers' button presses.

Owner-side buttons are behind `IsStaff("manager")` (checked on every press); a customer's press is checked
by the flow against the outbox: only someone the broadcast was delivered to can click, claim or ask.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal

from aiogram import F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.messenger import keyboard
from flows.broadcasts import STATE_NAMES, Broadcasts
from flows.codes import grouped
from flows.content import Content, Texts
from flows.coupons import Coupons, IssueOutcome
from flows.formatting import datetime, money, number
from flows.handoff import Handoff
from flows.i18n import Translator, translator
from flows.markup import Html, html
from flows.messenger import Button, Outgoing
from flows.staff_texts import purchases
from handlers.filters import IsStaff
from handlers.handoff import lead_reply
from handlers.render import pack_blocks
from handlers.routing import RouterSpec
from storage.broadcasts import Broadcast, Results
from storage.customers import Customer

router = RouterSpec("broadcasts")
LISTED = 10


class BcBtnCb(CallbackData, prefix="bb"):
    b: int  # broadcast
    i: int  # button index


class BcCtlCb(CallbackData, prefix="bx"):
    b: int  # broadcast
    a: str  # p (pause) | r (resume) | c (cancel?) | cy (yes, cancel) | cn (no) | v (show progress here)


def broadcast_button_data(broadcast_id: int, index: int) -> str:
    return BcBtnCb(b=broadcast_id, i=index).pack()


def control_buttons(broadcast: Broadcast, language: str | None = None) -> list[list[Button]]:
    """Pause or resume, and cancel, while a broadcast is live; nothing after it ended. In `language`: the
    progress message's reader, its author (flows.broadcasts redraws that message and should pass the
    author's language, as its progress text is in it; without one the buttons are in English)."""
    if not broadcast.live:
        return []
    tr = translator(language)
    row = []
    if broadcast.state != "scheduled":
        action, label = ("r", tr.gettext("▶️ Resume")) if broadcast.paused else ("p", tr.gettext("⏸ Pause"))
        row.append(Button(label, data=BcCtlCb(b=broadcast.id, a=action).pack()))
    row.append(Button("✖️ " + tr.gettext("Cancel"), data=BcCtlCb(b=broadcast.id, a="c").pack()))
    return [row]


def control_markup(broadcast: Broadcast, language: str | None = None) -> InlineKeyboardMarkup | None:
    return keyboard(Outgoing(buttons=control_buttons(broadcast, language)))


def _cancel_question(broadcast: Broadcast, tr: Translator) -> InlineKeyboardMarkup | None:
    return keyboard(
        Outgoing(
            buttons=[
                [Button(tr.gettext("Yes, cancel the rest"), data=BcCtlCb(b=broadcast.id, a="cy").pack())],
                [Button(tr.gettext("No, keep it going"), data=BcCtlCb(b=broadcast.id, a="cn").pack())],
            ],
        )
    )


# ---- owners and managers ---------------------------------------------------------------------------


@router.callback_query(BcCtlCb.filter(), IsStaff("manager"))
async def control(query: CallbackQuery, callback_data: BcCtlCb, broadcasts: Broadcasts, tr: Translator) -> None:
    """Pause, resume or cancel; the progress message is redrawn at once."""
    broadcast = await broadcasts.get(callback_data.b)
    message = query.message if isinstance(query.message, Message) else None
    if broadcast is None:
        await query.answer(tr.gettext("No such broadcast."), show_alert=True)
        return
    who, action = query.from_user.id, callback_data.a
    if action == "c" and broadcast.live:
        await query.answer()
        if message is not None:
            await message.edit_reply_markup(reply_markup=_cancel_question(broadcast, tr))
        return
    await query.answer(await _control_answer(broadcasts, broadcast, who, action, tr))
    fresh = await broadcasts.get(broadcast.id)
    if fresh is None or message is None:
        return
    text = await broadcasts.progress_text(fresh)
    if action == "v":  # from /broadcasts: a new progress message here, edited from now on
        sent = await message.answer(text, reply_markup=control_markup(fresh, tr.language))
        await broadcasts.attach_progress(fresh, sent.chat.id, sent.message_id, text)
        return
    with contextlib.suppress(TelegramBadRequest):  # "not modified": a second press on the same state
        await message.edit_text(text, reply_markup=control_markup(fresh, tr.language))
    if fresh.progress_message_id == message.message_id:
        await broadcasts.repo.set_progress_text(fresh.id, text, broadcasts.clock.now())


async def _control_answer(
    broadcasts: Broadcasts, broadcast: Broadcast, who: int, action: str, tr: Translator
) -> str | None:
    """Pause, resume or cancel the rest (re-checked by the flow as it takes effect); what the presser reads."""
    ended = tr.gettext("This broadcast has already ended.")
    if action == "p":
        paused = await broadcasts.pause(broadcast.id, who)
        return tr.gettext("Paused: nothing more goes out until you resume.") if paused else ended
    if action == "r":
        return tr.gettext("Resumed.") if await broadcasts.resume(broadcast.id, who) else ended
    if action == "cy":
        cancelled = await broadcasts.cancel(broadcast.id, who)
        if cancelled is None:
            return ended
        rest = tr.ngettext(
            "Cancelled: {n} message will not go out.", "Cancelled: {n} messages will not go out.", cancelled
        )
        return rest.format(n=number(cancelled, tr.language))
    if action in ("cn", "v"):
        return None if broadcast.live else ended  # "keep it going", or the progress shown here
    return tr.gettext("This button is no longer active.")


def _result_block(
    broadcast: Broadcast, results: Results, content: Content, broadcasts: Broadcasts, tr: Translator
) -> Html:
    c = results.counts
    language = tr.language

    def n(value: int) -> str:
        return number(value, language)

    when = broadcast.started_at or broadcast.send_at or broadcast.confirmed_at or broadcast.created_at
    state = "paused" if broadcast.paused and broadcast.live else broadcast.state
    delivery = [tr.gettext("Delivered {delivered} · blocked {blocked} · failed {failed}")]
    if c.remaining:
        delivery.append(tr.gettext("waiting {remaining}"))
    if c.cancelled:
        delivery.append(tr.gettext("cancelled {cancelled}"))
    figures = {
        "delivered": n(c.delivered),
        "blocked": n(c.blocked),
        "failed": n(c.failed),
        "remaining": n(c.remaining),
        "cancelled": n(c.cancelled),
    }
    clicks = tr.ngettext("{n} click", "{n} clicks", results.clicks).format(n=n(results.clicks))
    people = tr.ngettext("{n} person", "{n} people", results.clickers).format(n=n(results.clickers))
    leads = tr.ngettext("{n} lead", "{n} leads", results.leads).format(n=n(results.leads))
    lines = [
        html(
            "<b>#{}</b> · {} · {} · {}",
            broadcast.id,
            tr.gettext(STATE_NAMES[state]) if state in STATE_NAMES else state,
            datetime(when, language, broadcasts.zone),
            broadcast.segment or tr.gettext("everyone"),
        ),
        html(" · ".join(delivery), **figures),
        html(tr.gettext("{clicks} by {people} · {leads}"), clicks=clicks, people=people, leads=leads),
    ]
    if broadcast.coupon:
        taken = n(results.coupons_issued) + (f"/{n(broadcast.coupon_limit)}" if broadcast.coupon_limit else "")
        used = n(results.coupons_redeemed)
        lines.append(html(tr.gettext("Coupons {taken} taken, {used} used"), taken=taken, used=used))
    revenue = money(Decimal(results.revenue_cents) / 100, content.loyalty.currency, language)
    bought = purchases(results.purchases, tr)
    lines.append(html(tr.gettext("{purchases} · revenue {revenue}"), purchases=bought, revenue=revenue))
    return Html("\n").join(lines)


@router.message(F.chat.type == "private", Command("broadcasts"), IsStaff("manager"))
async def broadcasts_report(message: Message, broadcasts: Broadcasts, content: Content, tr: Translator) -> None:
    """The latest broadcasts: delivery, clicks, leads, coupons, purchases and revenue after delivery."""
    listed = await broadcasts.results(LISTED)
    if not listed:
        await message.answer(tr.gettext("No broadcasts yet. Start one with /broadcast."))
        return
    header = html(
        tr.ngettext(
            "📣 <b>Broadcasts</b> (latest {listed}). Purchases count when made within {n} day after delivery "
            "(to the latest broadcast the customer got).",
            "📣 <b>Broadcasts</b> (latest {listed}). Purchases count when made within {n} days after delivery "
            "(to the latest broadcast the customer got).",
            broadcasts.attribution_days,
        ),
        listed=LISTED,
        n=broadcasts.attribution_days,
    )
    blocks = [header, *(_result_block(b, r, content, broadcasts, tr) for b, r in listed)]
    live = [b for b, _ in listed if b.live]
    manage = tr.gettext("Manage #{id}")
    markup = keyboard(
        Outgoing(buttons=[[Button(manage.format(id=b.id), data=BcCtlCb(b=b.id, a="v").pack())] for b in live])
    )
    messages = pack_blocks(blocks)
    for index, text in enumerate(messages):
        await message.answer(text, reply_markup=markup if index == len(messages) - 1 else None)


@router.message(F.chat.type == "private", Command("segment", "broadcast", "broadcasts"), IsStaff())
async def not_for_cashiers(message: Message, tr: Translator) -> None:
    """Cashiers are staff, but segments and broadcasts are the owners' and managers'."""
    await message.answer(
        tr.gettext("Segments and broadcasts are for owners and managers. Ask the owner if you need them.")
    )


# ---- customers -------------------------------------------------------------------------------------


@router.callback_query(BcBtnCb.filter())
async def broadcast_button(
    query: CallbackQuery,
    callback_data: BcBtnCb,
    customer: Customer,
    t: Texts,
    broadcasts: Broadcasts,
    handoff: Handoff,
    coupons: Coupons,
    tr: Translator,
) -> None:
    """ "I'm interested" or "Get my coupon" under a broadcast, pressed by someone it was delivered to."""
    press = await broadcasts.press(customer, callback_data.b, callback_data.i, query.from_user.id)
    if press.action == "preview":  # its author, who reads the team's language
        await query.answer(tr.gettext("Preview: buttons work in the real messages."))
        return
    if press.action == "expired" or press.broadcast is None or not isinstance(query.message, Message):
        await query.answer(t("button_expired"))
        return
    await query.answer()
    if press.action == "interested":
        outcome = await handoff.open_lead(
            customer.id,
            "offer",
            context=f"broadcast #{press.broadcast.id}",
            offer=broadcasts.offer(press.broadcast.id),
        )
        reply = (
            t("interest_noted") if outcome.status == "unavailable" else lead_reply(t, outcome, handoff, customer)
        )
        await query.message.answer(reply)
        return
    issued = press.issued
    assert issued is not None
    if issued.outcome in (IssueOutcome.ISSUED, IssueOutcome.ALREADY) and issued.coupon is not None:
        coupon = issued.coupon
        text = t(
            "coupon_issued",
            title=coupons.title(coupon, t),
            code=grouped(coupon.code),
            until=coupons.until(coupon, t.language),
        )
    else:
        text = t(
            {
                IssueOutcome.SOLD_OUT: "coupon_sold_out",
                IssueOutcome.LIMIT: "coupon_limit_reached",
            }.get(issued.outcome, "coupon_not_available")
        )
    await query.message.answer(text)
