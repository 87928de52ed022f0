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
from flows.content import Content
from flows.coupons import Coupons, RedeemOutcome
from flows.formatting import money
from flows.i18n import N_, Translator
from flows.loyalty import Loyalty, NotEnoughPoints
from flows.markup import Html, html, trusted
from flows.money import amount_hint
from flows.parsing import ParseError, parse_points_delta, shorten
from flows.purchases import PurchaseRefused, Recorded
from flows.sales import DraftProblem, Sales, Summary, match_category, parse_sale_line, refusal_text
from flows.staff_texts import points, purchases
from handlers.filters import IsStaff, PlainText
from handlers.routing import RouterSpec
from storage.customers import Customer
from storage.purchases import Draft

router = RouterSpec("sales", message_filters=(F.chat.type == "private",))

DRAFT_PROBLEMS = {
    DraftProblem.GONE: N_("This sale is already finished or cancelled."),
    DraftProblem.NOT_YOURS: N_("This sale was opened by someone else."),
    DraftProblem.EXPIRED: N_("This request has expired."),
    DraftProblem.NO_POINTS: N_("The customer has no points that can pay for this purchase."),
    DraftProblem.WITHDRAWN: N_("You no longer have access to sales; this sale was closed."),
}


def problem_text(problem: DraftProblem, tr: Translator) -> str:
    return tr.gettext(DRAFT_PROBLEMS[problem])


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


def _cancel_button(builder: InlineKeyboardBuilder, draft_id: int, tr: Translator) -> None:
    builder.button(text="✖ " + tr.gettext("Cancel"), callback_data=SaleCb(d=draft_id, a="x"))


def _cancel_only(draft_id: int, tr: Translator) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    _cancel_button(builder, draft_id, tr)
    return builder.as_markup()


async def ask_amount(message: Message, draft_id: int, customer: Customer, sales: Sales, tr: Translator) -> None:
    standing = await sales.loyalty.standing(customer.id)
    card = await sales.loyalty.card(customer.id)
    default = sales.content.business.default_language
    tier = standing.tier.title.get(default, standing.tier.key)
    text = html(
        tr.gettext(
            "🧾 New purchase for <b>{name}</b> (card {card})\n{tier} · {purchases} · {points}\n\n"
            "Send the amount, e.g. <code>1500</code> or <code>1 500,50</code>."
        ),
        name=customer.display_name,
        card=grouped(card.card_code, 3),
        tier=tier,
        purchases=purchases(standing.purchases, tr),
        points=points(standing.balance, tr),
    )
    await message.answer(text, reply_markup=_cancel_only(draft_id, tr))


def request_key(message: Message) -> str:
    """A staff member's message, named for good: the same on every delivery of it, never another message's
    (chat, message id and Telegram's timestamp; message ids alone restart in a new sandbox run)."""
    return f"{message.chat.id}:{message.message_id}:{int(message.date.timestamp())}"


def _category_keyboard(draft_id: int, content: Content, tr: Translator) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    default = content.business.default_language
    for entry in content.loyalty.catalog:
        builder.button(
            text=entry.title.get(default, entry.key), callback_data=SaleCb(d=draft_id, a="cat", c=entry.key)
        )
    builder.button(text=tr.gettext("No category"), callback_data=SaleCb(d=draft_id, a="cat"))
    _cancel_button(builder, draft_id, tr)
    builder.adjust(2)
    return builder.as_markup()


def _summary_text(summary: Summary, content: Content, tr: Translator) -> Html:
    draft = summary.draft
    rules = content.loyalty
    amount = money(draft.amount or Decimal(0), rules.currency, tr.language)
    category = rules.category(draft.category) if draft.category else None
    default = content.business.default_language
    parts = [html("<b>{}</b>", summary.customer.display_name), amount]
    if category is not None:
        parts.append(category.title.get(default, category.key))
    lines = [
        Html(" · ").join(parts),
        html(
            tr.gettext("Earns +{earns}. Balance: {balance}."),
            earns=points(summary.earns, tr),
            balance=points(summary.standing.balance, tr),
        ),
    ]
    if summary.spendable:
        lines.append(
            html(
                tr.gettext("Up to {points} can pay for this purchase (the customer confirms in their chat)."),
                points=points(summary.spendable, tr),
            )
        )
    return Html("\n").join(lines)


def _summary_keyboard(summary: Summary, tr: Translator) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    draft_id = summary.draft.id
    builder.button(text=tr.gettext("✅ Record sale"), callback_data=SaleCb(d=draft_id, a="rec"))
    if summary.spendable:
        pay = tr.gettext("⭐ Pay {n} with points").format(n=summary.spendable)
        builder.button(text=pay, callback_data=SaleCb(d=draft_id, a="pts"))
    _cancel_button(builder, draft_id, tr)
    builder.adjust(1)
    return builder.as_markup()


def recorded_text(recorded: Recorded, customer_name: str, content: Content, tr: Translator) -> Html:
    """The cashier's confirmation, in their language; purchases are numbered "#N" everywhere the team
    reads them."""
    amount = money(recorded.amount, content.loyalty.currency, tr.language)
    lines = [
        html(
            tr.gettext("✅ Sale recorded for <b>{name}</b>: {amount} (purchase #{number})."),
            name=customer_name,
            amount=amount,
            number=recorded.number,
        ),
    ]
    earned, balance = points(recorded.earned, tr), points(recorded.balance, tr)
    if recorded.spent:
        template = tr.gettext("+{earned} earned, {spent} paid. Balance: {balance}.")
        lines.append(html(template, earned=earned, spent=points(recorded.spent, tr), balance=balance))
        to_collect = money(recorded.to_collect, content.loyalty.currency, tr.language)
        lines.append(
            html(
                tr.gettext("💵 <b>Collect {amount}</b> in money (the rest is paid with points)."),
                amount=to_collect,
            )
        )
    else:
        lines.append(html(tr.gettext("+{earned} earned. Balance: {balance}."), earned=earned, balance=balance))
    if recorded.coupon is not None:
        lines.append(html(tr.gettext("Coupon {code} redeemed."), code=grouped(recorded.coupon.code)))
    if recorded.tier_changed:
        default = content.business.default_language
        tier = recorded.tier_after.title.get(default, recorded.tier_after.key)
        lines.append(html(tr.gettext("🎉 New tier: {tier}."), tier=tier))
    for gift in recorded.gifts:
        campaign = content.loyalty.campaign(gift.campaign)
        title = campaign.title.get(content.business.default_language, gift.campaign) if campaign else gift.campaign
        lines.append(html(tr.gettext("🎁 Gift coupon issued: {title}."), title=title))
    return Html("\n").join(lines)


@router.message(IsStaff(), AwaitingAmount(), PlainText())
async def amount_typed(
    message: Message, draft: Draft, sales: Sales, settings: Settings, content: Content, tr: Translator
) -> None:
    parsed = await sales.set_amount(draft, message.text or "")
    if parsed.error is not None:
        await message.answer(
            Html(amount_hint(parsed.error, settings.max_purchase_amount, tr)),
            reply_markup=_cancel_only(draft.id, tr),
        )
        return
    if content.loyalty.catalog:
        await message.answer(
            html(
                tr.gettext("Amount: {amount}. Category?"),
                amount=money(parsed.value or Decimal(0), content.loyalty.currency, tr.language),
            ),
            reply_markup=_category_keyboard(draft.id, content, tr),
        )
        return
    assert message.from_user is not None
    fresh = await sales.current(message.from_user.id)
    if fresh is not None:
        summary = await sales.summary(fresh)
        await message.answer(_summary_text(summary, content, tr), reply_markup=_summary_keyboard(summary, tr))


@router.callback_query(IsStaff(), SaleCb.filter())
async def sale_button(
    query: CallbackQuery, callback_data: SaleCb, sales: Sales, content: Content, tr: Translator
) -> None:
    staff_id = query.from_user.id
    message = query.message if isinstance(query.message, Message) else None
    action = callback_data.a
    if action == "x":
        cancelled = await sales.cancel(callback_data.d, staff_id)
        await query.answer(tr.gettext("Cancelled.") if cancelled else problem_text(DraftProblem.GONE, tr))
        if message is not None and cancelled:
            await message.edit_text(tr.gettext("Sale cancelled."))
        return
    if action == "cat":
        draft = await sales.set_category(callback_data.d, staff_id, callback_data.c or None)
        if isinstance(draft, DraftProblem):
            await query.answer(problem_text(draft, tr))
            return
        await query.answer()
        summary = await sales.summary(draft)
        if message is not None:
            await message.edit_text(
                _summary_text(summary, content, tr), reply_markup=_summary_keyboard(summary, tr)
            )
        return
    if action == "pts":
        asked = await sales.propose_points(callback_data.d, staff_id)
        if isinstance(asked, DraftProblem):
            await query.answer(problem_text(asked, tr), show_alert=True)
            return
        await query.answer()
        if message is not None:
            builder = InlineKeyboardBuilder()
            builder.button(
                text=tr.gettext("✅ Record without points"), callback_data=SaleCb(d=callback_data.d, a="rec")
            )
            _cancel_button(builder, callback_data.d, tr)
            builder.adjust(1)
            asking = tr.gettext(
                "⏳ Asked the customer to confirm paying {points} in their chat. You will get a message when they answer."
            )
            await message.edit_text(
                html(
                    "{}\n\n{}",
                    trusted(message.html_text),  # the bot's own summary, as aiogram re-renders it
                    html(asking, points=points(asked, tr)),
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
            await query.answer(problem_text(recorded, tr), show_alert=True)
            return
        await query.answer()
        customer = await sales.loyalty.customers.get(recorded.customer_id)
        name = customer.display_name if customer else tr.gettext("the customer")
        if message is not None:
            await message.edit_text(recorded_text(recorded, name, content, tr))
        return
    await query.answer(problem_text(DraftProblem.GONE, tr))


SALE_USAGE = N_(
    "Usage: <code>/sale CARD AMOUNT [category] [coupon]</code>, e.g. <code>/sale 7KD4QX 1 500,50 yoga</code>.\n"
    "Or scan the customer's card QR with your phone camera."
)


@router.message(Command("sale"), IsStaff())
async def sale_line(
    message: Message, command: CommandObject, sales: Sales, settings: Settings, content: Content, tr: Translator
) -> None:
    """The one-line sale for speed: recorded at once; the customer gets the receipt."""
    assert message.from_user is not None
    catalog = content.loyalty.catalog
    line = parse_sale_line(command.args or "", catalog, settings.max_purchase_amount)
    if line is None:
        await message.answer(tr.gettext(SALE_USAGE))
        return
    customer = await sales.customer_by_card(line.card)
    if customer is None:
        await message.answer(
            html(
                tr.gettext("No customer has card <code>{card}</code>. Check the code on their /card."),
                card=shorten(line.card),
            )
        )
        return
    if line.amount.error is not None:
        if line.category is not None and match_category(line.category, catalog) is None:
            known = ", ".join(entry.key for entry in catalog) or "—"
            await message.answer(
                html(
                    tr.gettext("Unknown category «{category}». Categories: {known}."),
                    category=line.category,
                    known=known,
                )
            )
            return
        await message.answer(Html(amount_hint(line.amount.error, settings.max_purchase_amount, tr)))
        return
    try:
        recorded = await sales.one_line(message.from_user.id, customer, line, request_key(message))
    except PurchaseRefused as refused:
        await message.answer(Html(refusal_text(refused, tr)))
        return
    await message.answer(recorded_text(recorded, customer.display_name, content, tr))


@router.message(Command("redeem"), IsStaff())
async def redeem(message: Message, command: CommandObject, coupons: Coupons, sales: Sales, tr: Translator) -> None:
    """Redeem a coupon code; with a card code, also check the coupon is that customer's."""
    assert message.from_user is not None
    args = (command.args or "").split()
    if not args:
        await message.answer(
            tr.gettext("Usage: <code>/redeem COUPON [CARD]</code>, e.g. <code>/redeem ABCD-EFGH</code>.")
        )
        return
    customer_id = None
    if len(args) > 1:
        customer = await sales.customer_by_card(args[1])
        if customer is None:
            await message.answer(
                html(tr.gettext("No customer has card <code>{card}</code>."), card=shorten(args[1]))
            )
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
        name = owner.display_name if owner else tr.gettext("a former customer")
        await message.answer(
            html(
                tr.gettext("✅ Coupon {code} redeemed: <b>{title}</b> for {name}."),
                code=grouped(result.coupon.code),
                title=title,
                name=name,
            )
        )
        return
    await message.answer(html("❌ {}", coupons.reason(result, shorten(args[0]), tr.language)))


@router.message(Command("points"), IsStaff("manager"))
async def adjust_points(
    message: Message, command: CommandObject, sales: Sales, loyalty: Loyalty, tr: Translator
) -> None:
    """A manager corrects a balance: `/points CARD +50 reason` (the reason is shown to the customer)."""
    assert message.from_user is not None
    parts = (command.args or "").split(maxsplit=2)
    usage = tr.gettext("Usage: <code>/points CARD +50 reason</code> or <code>/points CARD -20 reason</code>.")
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
        await message.answer(html(tr.gettext("No customer has card <code>{card}</code>."), card=shorten(parts[0])))
        return
    try:
        balance = await loyalty.adjust(
            customer, delta, parts[2].strip()[:200], message.from_user.id, request_key(message)
        )
    except NotEnoughPoints:
        await message.answer(
            tr.gettext("The customer does not have that many points; the balance cannot go below zero.")
        )
        return
    await message.answer(
        html(tr.gettext("Done. {name} now has {points}."), name=customer.display_name, points=points(balance, tr))
    )
