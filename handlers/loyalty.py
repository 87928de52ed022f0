"""Customers' loyalty commands: /card (QR), /balance, /coupons, /invite; the points and rating buttons."""

from __future__ import annotations

import io

import segno
from aiogram import Bot, F
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from flows.codes import grouped
from flows.content import Content, Texts
from flows.coupons import Coupons
from flows.feedback import Feedback, Rated
from flows.formatting import points, short_day, signed_points
from flows.loyalty import Loyalty, progress_text
from flows.markup import html
from flows.notices import LoyaltyButtons
from flows.referrals import Referrals
from flows.sales import CARD_PREFIX, DraftProblem, Sales
from handlers.render import pack_blocks
from handlers.routing import RouterSpec
from storage.customers import Customer

router = RouterSpec("loyalty", message_filters=(F.chat.type == "private",))


class SpendCb(CallbackData, prefix="ps"):
    d: int  # sale draft
    y: bool  # yes: spend


class RateCb(CallbackData, prefix="rt"):
    p: int  # purchase
    s: int  # score 1–5


def loyalty_buttons() -> LoyaltyButtons:
    return LoyaltyButtons(
        spend=lambda draft, yes: SpendCb(d=draft, y=yes).pack(),
        rate=lambda purchase, score: RateCb(p=purchase, s=score).pack(),
    )


def card_qr_png(link: str) -> bytes:
    """The card's QR code: the deep link a cashier's phone camera opens in the bot."""
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=8, border=3)
    return buffer.getvalue()


async def card_link(bot: Bot, card_code: str) -> str:
    me = await bot.me()
    return f"https://t.me/{me.username}?start={CARD_PREFIX}{card_code}"


@router.message(Command("card"))
async def card(
    message: Message, bot: Bot, customer: Customer, t: Texts, loyalty: Loyalty, content: Content
) -> None:
    """The loyalty card: a QR code for the cashier, the short code, tier and balance."""
    card = await loyalty.card(customer.id)
    standing = await loyalty.standing(customer.id)
    default = content.business.default_language
    caption = t(
        "card",
        name=customer.first_name or customer.display_name,
        code=grouped(card.card_code, 3),
        tier=t.local(standing.tier.title, default),
        balance=points(standing.balance, t),
        progress=progress_text(t, standing, default),
    )
    photo = BufferedInputFile(card_qr_png(await card_link(bot, card.card_code)), filename="card.png")
    await message.answer_photo(photo, caption=caption)


@router.message(Command("balance"))
async def balance(message: Message, customer: Customer, t: Texts, loyalty: Loyalty, content: Content) -> None:
    """Answer /balance with points, tier, progress and the recent history."""
    standing = await loyalty.standing(customer.id)
    default = content.business.default_language
    head = t(
        "balance",
        balance=points(standing.balance, t),
        tier=t.local(standing.tier.title, default),
        percent=f"{standing.tier.earn_percent.normalize():f}",
        progress=progress_text(t, standing, default),
    )
    entries = await loyalty.history(customer.id, limit=15)
    if not entries:
        await message.answer(html("{}\n\n{}", head, t("balance_history_empty")))
        return
    lines = [
        html(
            "{} · {} · {}",
            short_day(entry.created_at.astimezone(loyalty.zone).date(), t.language),
            signed_points(entry.delta, t),
            loyalty.ledger_label(t, entry),
        )
        for entry in entries
    ]
    for text in pack_blocks([head, t("balance_history"), *lines], separator="\n"):
        await message.answer(text)


@router.message(Command("coupons"))
async def coupons_list(message: Message, customer: Customer, t: Texts, coupons: Coupons) -> None:
    """The customer's valid coupons with codes and dates."""
    valid = await coupons.valid_for(customer.id)
    if not valid:
        await message.answer(t("coupons_none"))
        return
    lines = [
        t("coupon_line", title=coupons.title(c, t), code=grouped(c.code), until=coupons.until(c, t.language))
        for c in valid
    ]
    for text in pack_blocks([t("coupons_list"), *lines], separator="\n"):
        await message.answer(text)


@router.message(Command("invite"))
async def invite(
    message: Message, bot: Bot, customer: Customer, t: Texts, referrals: Referrals, content: Content
) -> None:
    """A personal invitation link; rewards come after the friend's first purchase."""
    me = await bot.me()
    link = await referrals.link_for(customer.id, me.username or "")
    rules = content.loyalty.referral
    await message.answer(
        t(
            "invite",
            link=link,
            points=points(rules.referrer_points, t),
            friend_points=points(rules.friend_points, t),
        )
    )


@router.callback_query(SpendCb.filter())
async def spend_answer(
    query: CallbackQuery, callback_data: SpendCb, customer: Customer, t: Texts, sales: Sales, content: Content
) -> None:
    """The customer confirms (or declines) paying with points; the flow checks the request is theirs."""
    answer = await sales.answer_spend(callback_data.d, customer, callback_data.y)
    if answer.problem is DraftProblem.WITHDRAWN:
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.edit_text(t("spend_withdrawn"))
        return
    if answer.problem is not None and not isinstance(answer.problem, DraftProblem):
        await query.answer(t("button_expired"))
        if isinstance(query.message, Message):
            await query.message.edit_reply_markup(reply_markup=None)
        return
    if answer.problem is not None:
        await query.answer(t("button_expired"))
        if answer.problem is not DraftProblem.NOT_YOURS and isinstance(query.message, Message):
            await query.message.edit_reply_markup(reply_markup=None)
        return
    await query.answer()
    if isinstance(query.message, Message):
        if answer.recorded is not None:
            text = t("spend_confirmed", points=points(answer.recorded.spent, t))
        else:
            text = t("spend_declined")
        await query.message.edit_text(text)


@router.callback_query(RateCb.filter())
async def rate(
    query: CallbackQuery, callback_data: RateCb, customer: Customer, t: Texts, feedback: Feedback
) -> None:
    """A tap on the satisfaction question; re-checks the purchase is this customer's."""
    outcome = await feedback.rate(customer, callback_data.p, callback_data.s)
    if outcome is Rated.NOT_YOURS:
        await query.answer(t("button_expired"))
        return
    await query.answer()
    key = {
        Rated.THANKS: "satisfaction_thanks",
        Rated.SORRY: "satisfaction_sorry",
        Rated.ALREADY: "satisfaction_already",
    }
    if isinstance(query.message, Message):
        await query.message.edit_text(
            html("{}\n\n{}\n{}", t("satisfaction_question"), "⭐" * callback_data.s, t(key[outcome]))
        )


__all__ = ["card_qr_png", "loyalty_buttons", "router"]
