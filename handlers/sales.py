"""Staff at the counter: the sale dialog (after scanning a card), /sale, /redeem and /points.

Every handler here is behind `IsStaff`, which reads the role from the database on each update; the
buttons carry only a draft id, and the flow checks the draft belongs to whoever pressed.
"""

from __future__ import annotations

from decimal import Decimal

from aiogram import F
from aiogram.filters import Command, CommandObject, Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, User
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.settings import Settings
from flows.codes import grouped
from flows.content import Content, Texts
from flows.coupons import Coupons, RedeemOutcome
from flows.formatting import count, money
from flows.i18n import Translator
from flows.loyalty import Loyalty, NotEnoughPoints
from flows.markup import Html, html, trusted
from flows.money import amount_hint
from flows.parsing import ParseError, parse_points_delta, shorten
from flows.purchases import PurchaseRefused, Recorded
from flows.sales import DraftProblem, Sales, Summary, match_category, parse_sale_line, refusal_text
from handlers.filters import IsStaff, PlainText
from handlers.routing import RouterSpec
from storage.customers import Customer
from storage.purchases import Draft

router = RouterSpec("sales", message_filters=(F.chat.type == "private",))

DRAFT_PROBLEMS = {
    DraftProblem.GONE: "This sale is already finished or cancelled.",
    DraftProblem.NOT_YOURS: "This sale was opened by someone else.",
    DraftProblem.EXPIRED: "This request has expired.",
    DraftProblem.NO_POINTS: "The customer has no points that can pay for this purchase.",
    DraftProblem.WITHDRAWN: "You no longer have access to sales; this sale was closed.",
}


class SaleCb(CallbackData, prefix="sl"):
    d: int  # draft
    a: str  # cat | rec | pts | x (cancel)
    c: str = ""  # category key ("" = none)


class AwaitingAmount(Filter):
    """A staff member whose open sale waits for the amount; puts the draft into the handler data."""

    async def __call__(
        self, message: Message, sales: Sales, event_from_user: User | None = None
    ) -> bool | dict[str, Draft]:
        if event_from_user is None:
            return False
        draft = await sales.current(event_from_user.id)
        return {"draft": draft} if draft is not None and draft.state == "amount" else False


def _cancel_only(draft_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text="✖ Cancel", callback_data=SaleCb(d=draft_id, a="x"))
    return builder.as_markup()


async def ask_amount(
    message: Message, draft_id: int, customer: Customer, sales: Sales, language: str = "en"
) -> None:
    standing = await sales.loyalty.standing(customer.id)
    card = await sales.loyalty.card(customer.id)
    default = sales.content.business.default_language
    tier = standing.tier.title.get(default, standing.tier.key)
    text = html(
        "🧾 New purchase for <b>{}</b> (card {})\n{} · {} · {}\n\n"
        "Send the amount, e.g. <code>1500</code> or <code>1 500,50</code>.",
        customer.display_name,
        grouped(card.card_code, 3),
        tier,
        count(standing.purchases, "purchase", "purchases", language),
        count(standing.balance, "point", "points", language),
    )
    await message.answer(text, reply_markup=_cancel_only(draft_id))


def request_key(message: Message) -> str:
    """A staff member's message, named for good: the same on every delivery of it, never another message's
    (chat, message id and Telegram's timestamp; message ids alone restart in a new sandbox run)."""
    return f"{message.chat.id}:{message.message_id}:{int(message.date.timestamp())}"


def _category_keyboard(draft_id: int, content: Content) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    default = content.business.default_language
    for entry in content.loyalty.catalog:
        builder.button(
            text=entry.title.get(default, entry.key), callback_data=SaleCb(d=draft_id, a="cat", c=entry.key)
        )
    builder.button(text="No category", callback_data=SaleCb(d=draft_id, a="cat"))
    builder.button(text="✖ Cancel", callback_data=SaleCb(d=draft_id, a="x"))
    builder.adjust(2)
    return builder.as_markup()


def _summary_text(summary: Summary, content: Content, language: str = "en") -> Html:
    draft = summary.draft
    rules = content.loyalty
    amount = money(draft.amount or Decimal(0), rules.currency, language)
    category = rules.category(draft.category) if draft.category else None
    default = content.business.default_language
    parts = [html("<b>{}</b>", summary.customer.display_name), amount]
    if category is not None:
        parts.append(category.title.get(default, category.key))
    lines = [
        Html(" · ").join(parts),
        html(
            "Earns +{}. Balance: {}.",
            count(summary.earns, "point", "points", language),
            count(summary.standing.balance, "point", "points", language),
        ),
    ]
    if summary.spendable:
        lines.append(
            html(
                "Up to {} can pay for this purchase (the customer confirms in their chat).",
                count(summary.spendable, "point", "points", language),
            )
        )
    return Html("\n").join(lines)


def _summary_keyboard(summary: Summary) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    draft_id = summary.draft.id
    builder.button(text="✅ Record sale", callback_data=SaleCb(d=draft_id, a="rec"))
    if summary.spendable:
        builder.button(text=f"⭐ Pay {summary.spendable} with points", callback_data=SaleCb(d=draft_id, a="pts"))
    builder.button(text="✖ Cancel", callback_data=SaleCb(d=draft_id, a="x"))
    builder.adjust(1)
    return builder.as_markup()


def recorded_text(recorded: Recorded, customer_name: str, content: Content, language: str = "en") -> Html:
    """The cashier's confirmation; purchases are numbered "#N" everywhere the team reads them."""
    amount = money(recorded.amount, content.loyalty.currency, language)
    paid = f", {count(recorded.spent, 'point', 'points', language)} paid" if recorded.spent else ""
    lines = [
        html("✅ Sale recorded for <b>{}</b>: {} (purchase #{}).", customer_name, amount, recorded.number),
        html(
            "+{} earned{}. Balance: {}.",
            count(recorded.earned, "point", "points", language),
            paid,
            count(recorded.balance, "point", "points", language),
        ),
    ]
    if recorded.spent:
        to_collect = money(recorded.to_collect, content.loyalty.currency, language)
        lines.append(html("💵 <b>Collect {}</b> in money (the rest is paid with points).", to_collect))
    if recorded.coupon is not None:
        lines.append(html("Coupon {} redeemed.", grouped(recorded.coupon.code)))
    if recorded.tier_changed:
        default = content.business.default_language
        lines.append(html("🎉 New tier: {}.", recorded.tier_after.title.get(default, recorded.tier_after.key)))
    for gift in recorded.gifts:
        campaign = content.loyalty.campaign(gift.campaign)
        title = campaign.title.get(content.business.default_language, gift.campaign) if campaign else gift.campaign
        lines.append(html("🎁 Gift coupon issued: {}.", title))
    return Html("\n").join(lines)


@router.message(IsStaff(), AwaitingAmount(), PlainText())
async def amount_typed(
    message: Message, draft: Draft, sales: Sales, settings: Settings, content: Content, t: Texts, tr: Translator
) -> None:
    parsed = await sales.set_amount(draft, message.text or "")
    if parsed.error is not None:
        await message.answer(
            Html(amount_hint(parsed.error, settings.max_purchase_amount, tr)), reply_markup=_cancel_only(draft.id)
        )
        return
    if content.loyalty.catalog:
        await message.answer(
            html("Amount: {}. Category?", money(parsed.value or Decimal(0), content.loyalty.currency, t.language)),
            reply_markup=_category_keyboard(draft.id, content),
        )
        return
    assert message.from_user is not None
    fresh = await sales.current(message.from_user.id)
    if fresh is not None:
        summary = await sales.summary(fresh)
        await message.answer(_summary_text(summary, content, t.language), reply_markup=_summary_keyboard(summary))


@router.callback_query(IsStaff(), SaleCb.filter())
async def sale_button(
    query: CallbackQuery, callback_data: SaleCb, sales: Sales, content: Content, t: Texts, tr: Translator
) -> None:
    staff_id = query.from_user.id
    message = query.message if isinstance(query.message, Message) else None
    action = callback_data.a
    if action == "x":
        cancelled = await sales.cancel(callback_data.d, staff_id)
        await query.answer("Cancelled." if cancelled else DRAFT_PROBLEMS[DraftProblem.GONE])
        if message is not None and cancelled:
            await message.edit_text("Sale cancelled.")
        return
    if action == "cat":
        draft = await sales.set_category(callback_data.d, staff_id, callback_data.c or None)
        if isinstance(draft, DraftProblem):
            await query.answer(DRAFT_PROBLEMS[draft])
            return
        await query.answer()
        summary = await sales.summary(draft)
        if message is not None:
            await message.edit_text(
                _summary_text(summary, content, t.language), reply_markup=_summary_keyboard(summary)
            )
        return
    if action == "pts":
        asked = await sales.propose_points(callback_data.d, staff_id)
        if isinstance(asked, DraftProblem):
            await query.answer(DRAFT_PROBLEMS[asked], show_alert=True)
            return
        await query.answer()
        if message is not None:
            builder = InlineKeyboardBuilder()
            builder.button(text="✅ Record without points", callback_data=SaleCb(d=callback_data.d, a="rec"))
            builder.button(text="✖ Cancel", callback_data=SaleCb(d=callback_data.d, a="x"))
            builder.adjust(1)
            await message.edit_text(
                html(
                    "{}\n\n⏳ Asked the customer to confirm paying {} points in their chat. "
                    "You will get a message when they answer.",
                    trusted(message.html_text),  # the bot's own summary, as aiogram re-renders it
                    asked,
                ),
                reply_markup=builder.as_markup(),
            )
        return
    if action == "rec":
        try:
            recorded = await sales.record(callback_data.d, staff_id)
        except PurchaseRefused as refused:
            await query.answer(refusal_text(refused, tr), show_alert=True)
            return
        if isinstance(recorded, DraftProblem):
            await query.answer(DRAFT_PROBLEMS[recorded], show_alert=True)
            return
        await query.answer()
        customer = await sales.loyalty.customers.get(recorded.customer_id)
        name = customer.display_name if customer else "the customer"
        if message is not None:
            await message.edit_text(recorded_text(recorded, name, content, t.language))
        return
    await query.answer(DRAFT_PROBLEMS[DraftProblem.GONE])


SALE_USAGE = (
    "Usage: <code>/sale CARD AMOUNT [category] [coupon]</code>, e.g. <code>/sale 7KD4QX 1 500,50 yoga</code>.\n"
    "Or scan the customer's card QR with your phone camera."
)


@router.message(Command("sale"), IsStaff())
async def sale_line(
    message: Message,
    command: CommandObject,
    sales: Sales,
    settings: Settings,
    content: Content,
    t: Texts,
    tr: Translator,
) -> None:
    """The one-line sale for speed: recorded at once; the customer gets the receipt."""
    assert message.from_user is not None
    catalog = content.loyalty.catalog
    line = parse_sale_line(command.args or "", catalog, settings.max_purchase_amount)
    if line is None:
        await message.answer(SALE_USAGE)
        return
    customer = await sales.customer_by_card(line.card)
    if customer is None:
        await message.answer(
            html("No customer has card <code>{}</code>. Check the code on their /card.", shorten(line.card))
        )
        return
    if line.amount.error is not None:
        if line.category is not None and match_category(line.category, catalog) is None:
            known = ", ".join(entry.key for entry in catalog) or "none"
            await message.answer(html("Unknown category «{}». Categories: {}.", line.category, known))
            return
        await message.answer(Html(amount_hint(line.amount.error, settings.max_purchase_amount, tr)))
        return
    try:
        recorded = await sales.one_line(message.from_user.id, customer, line, request_key(message))
    except PurchaseRefused as refused:
        await message.answer(Html(refusal_text(refused, tr)))
        return
    await message.answer(recorded_text(recorded, customer.display_name, content, t.language))


@router.message(Command("redeem"), IsStaff())
async def redeem(message: Message, command: CommandObject, coupons: Coupons, sales: Sales, t: Texts) -> None:
    """Redeem a coupon code; with a card code, also check the coupon is that customer's."""
    assert message.from_user is not None
    args = (command.args or "").split()
    if not args:
        await message.answer("Usage: <code>/redeem COUPON [CARD]</code>, e.g. <code>/redeem ABCD-EFGH</code>.")
        return
    customer_id = None
    if len(args) > 1:
        customer = await sales.customer_by_card(args[1])
        if customer is None:
            await message.answer(html("No customer has card <code>{}</code>.", shorten(args[1])))
            return
        customer_id = customer.id
    result = await coupons.redeem(args[0], message.from_user.id, customer_id)
    if result.outcome is RedeemOutcome.REDEEMED and result.coupon is not None:
        owner = await sales.loyalty.customers.get(result.coupon.customer_id)
        campaign = coupons.campaign(result.coupon.campaign)
        title = (
            campaign.title.get(sales.content.business.default_language, campaign.key)
            if campaign
            else result.coupon.campaign
        )
        name = owner.display_name if owner else "a former customer"
        await message.answer(
            html("✅ Coupon {} redeemed: <b>{}</b> for {}.", grouped(result.coupon.code), title, name)
        )
        return
    await message.answer(html("❌ {}", coupons.reason(result, shorten(args[0]), t.language)))


@router.message(Command("points"), IsStaff("manager"))
async def adjust_points(
    message: Message, command: CommandObject, sales: Sales, loyalty: Loyalty, tr: Translator
) -> None:
    """A manager corrects a balance: `/points CARD +50 reason` (the reason is shown to the customer)."""
    assert message.from_user is not None
    parts = (command.args or "").split(maxsplit=2)
    usage = "Usage: <code>/points CARD +50 reason</code> or <code>/points CARD -20 reason</code>."
    if len(parts) < 3:
        await message.answer(usage)
        return
    try:
        delta = parse_points_delta(parts[1])
    except ParseError as exc:
        await message.answer(html("{}\n{}", exc.html(tr), trusted(usage)))
        return
    customer = await sales.customer_by_card(parts[0])
    if customer is None:
        await message.answer(html("No customer has card <code>{}</code>.", shorten(parts[0])))
        return
    try:
        balance = await loyalty.adjust(
            customer, delta, parts[2].strip()[:200], message.from_user.id, request_key(message)
        )
    except NotEnoughPoints:
        await message.answer("The customer does not have that many points; the balance cannot go below zero.")
        return
    await message.answer(html("Done. {} now has {} points.", customer.display_name, balance))
