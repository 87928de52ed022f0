"""Deep links that mean more than a source: a card scanned by a cashier, a staff invite, a friend's
invitation, a coupon to claim. Tried before /start; anything that is also a normal start (a customer
following an invitation or claiming a coupon) passes on to the usual welcome with SkipHandler.
"""

from __future__ import annotations

from aiogram import F
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message

from bot.settings import Settings
from flows.codes import grouped
from flows.content import Content, Texts
from flows.coupons import Coupons, IssueOutcome
from flows.formatting import points
from flows.i18n import Translator
from flows.markup import Html, html
from flows.referrals import REF_PREFIX, LinkOutcome, Referrals
from flows.sales import CARD_PREFIX, Sales
from flows.staff import STAFF_PREFIX, Staff
from flows.staff_texts import role_name
from handlers.routing import RouterSpec
from handlers.sales import ask_amount
from storage.customers import Customer

router = RouterSpec("deeplinks", message_filters=(F.chat.type == "private",))
COUPON_PREFIX = "cp-"


def _payload(prefix: str) -> CommandStart:
    return CommandStart(deep_link=True, magic=F.args.startswith(prefix))


@router.message(_payload(CARD_PREFIX))
async def card_scanned(
    message: Message, command: CommandObject, staff: Staff, sales: Sales, tr: Translator
) -> None:
    """A cashier scanned a customer's QR: "new purchase for <customer>". Anyone else: a normal start."""
    assert message.from_user is not None
    if not await staff.is_staff(message.from_user.id):
        raise SkipHandler
    code = (command.args or "").removeprefix(CARD_PREFIX)
    customer = await sales.customer_by_card(code)
    if customer is None:
        await message.answer(tr.gettext("No customer has this card. Ask them to open /card in the bot again."))
        return
    draft = await sales.begin(message.from_user.id, customer)
    await ask_amount(message, draft.id, customer, sales, tr)


@router.message(_payload(STAFF_PREFIX))
async def staff_invite(
    message: Message, command: CommandObject, staff: Staff, settings: Settings, tr: Translator
) -> None:
    """Someone opened a one-time staff invite link."""
    assert message.from_user is not None
    if message.from_user.id in settings.owner_ids:
        await message.answer(tr.gettext("You are an owner already; this link is for the person you invite."))
        return
    token = (command.args or "").removeprefix(STAFF_PREFIX)
    role = await staff.accept(token, message.from_user.id, message.from_user.full_name)
    if role is None:
        await message.answer(
            tr.gettext(
                "This invite link is not valid: it was used already, revoked or expired. Ask the owner for a new one."
            )
        )
        return
    welcome = tr.gettext(
        "Welcome to the team! Your role: <b>{role}</b>.\n"
        "Scan a customer's card QR with your phone camera to record a sale, or type "
        "<code>/sale CARD AMOUNT [category]</code>. <code>/redeem CODE</code> redeems a coupon."
    )
    lines = [html(welcome, role=role_name(role, tr))]
    if role == "manager":
        lines.append(html(tr.gettext("<code>/points CARD +50 reason</code> corrects a balance.")))
    await message.answer(Html("\n").join(lines))


@router.message(_payload(REF_PREFIX))
async def invited(
    message: Message, command: CommandObject, customer: Customer, t: Texts, referrals: Referrals, content: Content
) -> None:
    """A newcomer following a friend's invitation is linked to them, then welcomed as usual."""
    link = await referrals.link(customer, (command.args or "").removeprefix(REF_PREFIX))
    if link.outcome is LinkOutcome.LINKED and link.referrer is not None:
        friend_points = points(content.loyalty.referral.friend_points, t)
        await message.answer(
            t(
                "referral_welcome",
                name=link.referrer.first_name or link.referrer.display_name,
                points=friend_points,
            )
        )
    elif link.outcome is LinkOutcome.OWN_LINK:
        await message.answer(t("referral_own_link"))
    elif link.outcome in (LinkOutcome.EXISTING, LinkOutcome.LOOP):
        await message.answer(t("referral_existing"))
    raise SkipHandler


@router.message(_payload(COUPON_PREFIX))
async def claim_coupon(
    message: Message, command: CommandObject, customer: Customer, t: Texts, coupons: Coupons
) -> None:
    """A link to claim a coupon of a claimable campaign (limited stock: first come, first served)."""
    issued = await coupons.claim(customer, (command.args or "").removeprefix(COUPON_PREFIX))
    if issued.outcome is IssueOutcome.ISSUED and issued.coupon is not None:
        coupon = issued.coupon
        await message.answer(
            t(
                "coupon_issued",
                title=coupons.title(coupon, t),
                code=grouped(coupon.code),
                until=coupons.until(coupon, t.language),
            )
        )
    elif issued.outcome is IssueOutcome.SOLD_OUT:
        await message.answer(t("coupon_sold_out"))
    elif issued.outcome in (IssueOutcome.LIMIT, IssueOutcome.ALREADY):
        await message.answer(t("coupon_limit_reached"))
    else:
        await message.answer(t("coupon_not_available"))
    raise SkipHandler
