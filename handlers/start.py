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
from flows.i18n import LANGUAGES as TEAM_LANGUAGES
from flows.i18n import Translator, translator
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
async def help_command(message: Message, t: Texts, tr: Translator, staff: Staff) -> None:
    """What the bot can do for this person: their role's commands (team texts, in their language), then the
    customer help (the owner's words, in the customer language)."""
    role = await staff.role_of(message.from_user.id) if message.from_user else None
    await message.answer(help_text(role, tr.language, t("help")))


def language_keyboard(content: Content, team: bool = False) -> InlineKeyboardMarkup:
    """The languages to choose from: the business's customer languages; for the team also every language
    the team's texts are translated into (flows/i18n.py), even one the business does not offer customers."""
    builder = InlineKeyboardBuilder()
    for code in _choices(content, team):
        builder.button(text=LANGUAGE_NAMES[code], callback_data=LanguageCb(code=code))
    return builder.as_markup()


def _choices(content: Content, team: bool) -> list[str]:
    codes: list[str] = list(content.business.languages)
    if team:
        codes += [code for code in TEAM_LANGUAGES if code not in codes and code in LANGUAGE_NAMES]
    return codes


@router.message(Command("language"))
async def language_command(message: Message, t: Texts, content: Content, staff: Staff) -> None:
    role = await staff.role_of(message.from_user.id) if message.from_user else None
    await message.answer(t("choose_language"), reply_markup=language_keyboard(content, team=role is not None))


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
    role = await staff.role_of(query.from_user.id)  # re-checked: a team language only for the team
    if callback_data.code not in _choices(content, team=role is not None):
        await query.answer(content.texts_for(customer.preferred_language)("button_expired"))
        return
    await customers.choose_language(customer, callback_data.code)
    if role is not None:  # their menu follows the language they chose
        await menus.refresh(query.from_user.id, role)
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if callback_data.code in content.business.languages:
        await query.message.edit_text(content.texts_for(callback_data.code)("language_set"))
    else:  # a team member's language the business does not offer customers: the bot's own words confirm it
        tr = translator(callback_data.code)
        await query.message.edit_text(
            tr.gettext(
                "Done: the bot now speaks to you in English (customer texts stay in the business's languages)."
            )
        )
