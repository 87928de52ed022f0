"""/start (with a deep-link source), /help and /language."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.menus import Menus
from flows.content import LANGUAGE_NAMES, Content, Texts
from flows.customers import Customers
from flows.onboarding import Onboarding
from flows.staff import Staff
from flows.staff_texts import help_text
from handlers.onboarding import ask
from handlers.routing import RouterSpec
from storage.customers import Customer

router = RouterSpec("start", message_filters=(F.chat.type == "private",))


class LanguageCb(CallbackData, prefix="lang"):
    code: str


@router.message(CommandStart())
async def start(
    message: Message,
    command: CommandObject,
    customer: Customer,
    t: Texts,
    customers: Customers,
    onboarding: Onboarding,
    staff: Staff,
    menus: Menus,
) -> None:
    """Greet, record the source, opt back in, then ask the next onboarding question."""
    outcome = await customers.start(customer, command.args)
    assert message.from_user is not None
    role = await staff.role_of(message.from_user.id)
    if role is not None:  # an owner's menu cannot be set before they ever open the chat: set it now
        await menus.refresh(message.from_user.id, role)
    name = customer.first_name or customer.display_name
    await message.answer(t("welcome_back" if outcome.returning else "welcome", name=name))
    if outcome.resubscribed:
        await message.answer(t("resubscribed"))
    step = await onboarding.begin(outcome.customer)
    if step is not None or not outcome.returning:
        await ask(message, step, t, onboarding, outcome.customer)


@router.message(Command("help"))
async def help_command(message: Message, t: Texts, staff: Staff) -> None:
    """What the bot can do for this person: their role's commands (team texts), then the customer help."""
    role = await staff.role_of(message.from_user.id) if message.from_user else None
    await message.answer(help_text(role, t.language, t("help")))


def language_keyboard(content: Content) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code in content.business.languages:
        builder.button(text=LANGUAGE_NAMES[code], callback_data=LanguageCb(code=code))
    return builder.as_markup()


@router.message(Command("language"))
async def language_command(message: Message, t: Texts, content: Content) -> None:
    await message.answer(t("choose_language"), reply_markup=language_keyboard(content))


@router.callback_query(LanguageCb.filter())
async def language_chosen(
    query: CallbackQuery,
    callback_data: LanguageCb,
    customer: Customer,
    customers: Customers,
    content: Content,
    staff: Staff,
    menus: Menus,
) -> None:
    if callback_data.code not in content.business.languages:
        await query.answer(content.texts_for(customer.preferred_language)("button_expired"))
        return
    await customers.choose_language(customer, callback_data.code)
    role = await staff.role_of(query.from_user.id)
    if role is not None:  # their menu follows the language they chose
        await menus.refresh(query.from_user.id, role)
    t = content.texts_for(callback_data.code)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(t("language_set"))
