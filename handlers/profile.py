"""/profile (what we store, with edit buttons), /stop and /forget."""

from __future__ import annotations

from datetime import datetime

from aiogram import F
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_date

from flows.content import LANGUAGE_NAMES, Content, Texts
from flows.customers import Customers
from flows.forgetting import Forgetting
from flows.markup import Html
from flows.onboarding import Birthday, Onboarding
from flows.staff import Staff
from handlers.onboarding import ask, birthday_text
from handlers.routing import RouterSpec
from handlers.start import language_keyboard
from storage.customers import Customer

router = RouterSpec("profile", message_filters=(F.chat.type == "private",))


class ProfileCb(CallbackData, prefix="pf"):
    action: str  # phone | birthday | interests | language


class ForgetCb(CallbackData, prefix="fg"):
    confirm: bool


async def render_profile(customer: Customer, t: Texts, onboarding: Onboarding, content: Content) -> Html:
    unset = t("not_set")
    birthday: str = unset
    if customer.birthday_day and customer.birthday_month:
        birthday = birthday_text(
            Birthday(customer.birthday_day, customer.birthday_month, customer.birthday_year), t.language
        )
    chosen = await onboarding.chosen_interests(customer)
    default = content.business.default_language
    interests = [t.local(i.title, default) for i in content.onboarding.interests if i.tag in chosen]
    return t(
        "profile",
        name=" ".join(p for p in (customer.first_name, customer.last_name) if p) or unset,
        username=f"@{customer.username}" if customer.username else unset,
        phone=customer.phone or unset,
        birthday=birthday,
        language=LANGUAGE_NAMES.get(t.language, t.language),
        interests=", ".join(interests) or unset,
        subscription=t("unsubscribed" if customer.opted_out else "subscribed"),
        since=_long_date(customer.first_seen_at, t.language),
    )


def _long_date(moment: datetime, language: str) -> str:
    return format_date(moment.date(), "long", locale=language)


def profile_keyboard(t: Texts, onboarding: Onboarding) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    labels = {
        "phone": "edit_phone_button",
        "birthday": "edit_birthday_button",
        "interests": "edit_interests_button",
    }
    for step in onboarding.steps:
        builder.button(text=t(labels[step]), callback_data=ProfileCb(action=step))
    builder.button(text=t("language_button"), callback_data=ProfileCb(action="language"))
    builder.adjust(2)
    return builder.as_markup()


@router.message(Command("profile"))
async def profile(
    message: Message, customer: Customer, t: Texts, onboarding: Onboarding, content: Content
) -> None:
    """Show the customer everything stored about them."""
    text = await render_profile(customer, t, onboarding, content)
    await message.answer(text, reply_markup=profile_keyboard(t, onboarding))


@router.callback_query(ProfileCb.filter())
async def profile_edit(
    query: CallbackQuery,
    callback_data: ProfileCb,
    customer: Customer,
    t: Texts,
    onboarding: Onboarding,
    content: Content,
    staff: Staff,
) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if callback_data.action == "language":
        team = await staff.role_of(query.from_user.id) is not None  # the team may pick any language we speak
        await query.message.answer(t("choose_language"), reply_markup=language_keyboard(content, team=team))
        return
    if callback_data.action not in onboarding.steps:
        await query.message.answer(t("button_expired"))
        return
    await onboarding.reopen(customer, callback_data.action)
    await ask(query.message, callback_data.action, t, onboarding, customer)


@router.message(Command("stop"))
async def stop(message: Message, customer: Customer, t: Texts, customers: Customers) -> None:
    """Opt out of marketing; answers to the customer's own questions keep working."""
    changed = await customers.opt_out(customer)
    await message.answer(t("stopped" if changed else "already_stopped"))


@router.message(Command("forget"))
async def forget(message: Message, t: Texts) -> None:
    builder = InlineKeyboardBuilder()
    builder.button(text=t("forget_yes_button"), callback_data=ForgetCb(confirm=True))
    builder.button(text=t("forget_no_button"), callback_data=ForgetCb(confirm=False))
    await message.answer(t("forget_confirm"), reply_markup=builder.as_markup())


@router.callback_query(ForgetCb.filter())
async def forget_confirmed(
    query: CallbackQuery, callback_data: ForgetCb, customer: Customer, t: Texts, forgetting: Forgetting
) -> None:
    """Delete personal data only after the customer pressed the confirmation button."""
    if callback_data.confirm:
        await forgetting.forget(customer)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(t("forget_done" if callback_data.confirm else "forget_cancelled"))
