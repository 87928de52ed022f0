"""Onboarding questions: phone (contact button), birthday (typed date) and interests (multi-select)."""

from __future__ import annotations

from aiogram import F
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_date

from flows.content import Content, Texts
from flows.faq import Faq
from flows.handoff import Handoff
from flows.intent import BuyingIntent
from flows.markup import Html
from flows.onboarding import Birthday, Onboarding, PhoneAnswer
from flows.question_split import looks_like_question
from handlers.faq import question as faq_question
from handlers.filters import AwaitingStep, PlainText
from handlers.routing import RouterSpec
from storage.customers import Customer

router = RouterSpec("onboarding", message_filters=(F.chat.type == "private",))


class StepCb(CallbackData, prefix="ob"):
    step: str
    action: str  # skip | toggle | done
    tag: str = ""


def interests_keyboard(t: Texts, content: Content, chosen: set[str]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    default = content.business.default_language
    for interest in content.onboarding.interests:
        mark = "✅ " if interest.tag in chosen else ""
        title = t.local(interest.title, default)
        builder.button(
            text=f"{mark}{title}", callback_data=StepCb(step="interests", action="toggle", tag=interest.tag)
        )
    builder.button(text=t("interests_done_button"), callback_data=StepCb(step="interests", action="done"))
    builder.adjust(2)
    return builder.as_markup()


async def ask(message: Message, step: str | None, t: Texts, onboarding: Onboarding, customer: Customer) -> None:
    """Send the question of a step (or the closing line when onboarding is over)."""
    if step is None:
        await message.answer(t("onboarding_done"), reply_markup=ReplyKeyboardRemove())
    elif step == "phone":
        keyboard = ReplyKeyboardMarkup(
            keyboard=[
                [KeyboardButton(text=t("phone_button"), request_contact=True)],
                [KeyboardButton(text=t("skip_button"))],
            ],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
        await message.answer(t("ask_phone"), reply_markup=keyboard)
    elif step == "birthday":
        skip = InlineKeyboardBuilder().button(
            text=t("skip_button"), callback_data=StepCb(step="birthday", action="skip")
        )
        await message.answer(t("ask_birthday"), reply_markup=skip.as_markup())
    else:
        chosen = await onboarding.chosen_interests(customer)
        await message.answer(t("ask_interests"), reply_markup=interests_keyboard(t, onboarding.content, chosen))


def birthday_text(birthday: Birthday, language: str) -> str:
    from datetime import date

    shown = date(birthday.year or 2000, birthday.month, birthday.day)
    return format_date(shown, "d MMMM y" if birthday.year else "d MMMM", locale=language)


# Before the steps' own handlers: "а сколько стоит занятие?" is a question, not a bad date.
@router.message(AwaitingStep("phone"), PlainText(), F.text.func(looks_like_question))
@router.message(AwaitingStep("birthday"), PlainText(), F.text.func(looks_like_question))
@router.message(AwaitingStep("interests"), PlainText(), F.text.func(looks_like_question))
async def question_mid_step(
    message: Message,
    customer: Customer,
    t: Texts,
    onboarding: Onboarding,
    faq: Faq,
    handoff: Handoff,
    buying_intent: BuyingIntent,
) -> None:
    """A question typed at a step gets what any question gets (an answer, a choice, a person), then the
    step is asked again."""
    await faq_question(message, customer, t, faq, handoff, buying_intent)
    await ask(message, customer.onboarding_step, t, onboarding, customer)


@router.message(AwaitingStep("phone"), F.contact)
async def phone_shared(message: Message, customer: Customer, t: Texts, onboarding: Onboarding) -> None:
    contact = message.contact
    assert contact is not None
    if await onboarding.answer_phone(customer, contact.phone_number, contact.user_id) is PhoneAnswer.NOT_OWN:
        await message.answer(t("phone_not_own"))
        return
    await message.answer(t("phone_saved"), reply_markup=ReplyKeyboardRemove())
    await ask(message, await onboarding.advance(customer, "phone"), t, onboarding, customer)


@router.message(AwaitingStep("phone"), PlainText())
async def phone_typed(message: Message, customer: Customer, t: Texts, onboarding: Onboarding) -> None:
    if message.text and message.text.strip().casefold() == t("skip_button").casefold():
        await message.answer(t("skip_button") + " ✓", reply_markup=ReplyKeyboardRemove())
        await ask(message, await onboarding.advance(customer, "phone"), t, onboarding, customer)
        return
    await message.answer(t("phone_hint"))


@router.message(AwaitingStep("birthday"), PlainText())
async def birthday_typed(message: Message, customer: Customer, t: Texts, onboarding: Onboarding) -> None:
    birthday = await onboarding.answer_birthday(customer, message.text or "")
    if birthday is None:
        await message.answer(t("birthday_hint"))
        return
    await message.answer(t("birthday_saved", date=birthday_text(birthday, t.language)))
    await ask(message, await onboarding.advance(customer, "birthday"), t, onboarding, customer)


@router.callback_query(StepCb.filter())
async def step_button(
    query: CallbackQuery, callback_data: StepCb, customer: Customer, t: Texts, onboarding: Onboarding
) -> None:
    message = query.message
    if customer.onboarding_step != callback_data.step or not isinstance(message, Message):
        await query.answer(t("button_expired"))
        return
    if callback_data.action == "toggle":
        if callback_data.tag not in onboarding.interest_tags():
            await query.answer(t("button_expired"))
            return
        chosen = await onboarding.toggle_interest(customer, callback_data.tag)
        await message.edit_reply_markup(reply_markup=interests_keyboard(t, onboarding.content, chosen))
        await query.answer()
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    if callback_data.step == "interests" and callback_data.action == "done":
        await message.answer(await _interests_summary(customer, t, onboarding))
    await ask(message, await onboarding.advance(customer, callback_data.step), t, onboarding, customer)


async def _interests_summary(customer: Customer, t: Texts, onboarding: Onboarding) -> Html:
    chosen = await onboarding.chosen_interests(customer)
    if not chosen:
        return t("interests_none")
    default = onboarding.content.business.default_language
    titles = [t.local(i.title, default) for i in onboarding.content.onboarding.interests if i.tag in chosen]
    return t("interests_saved", interests=", ".join(titles))
