"""Questions: /faq as a menu, and any free text matched against the FAQ (or handed to a manager)."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.messenger import keyboard, media_input, remember_upload
from flows.content import FaqEntry, Texts
from flows.faq import Faq
from flows.faq_answer import FaqButtons
from flows.faq_answer import answer_message as faq_answer_message
from flows.faq_teaching import FaqTeaching
from flows.handoff import Handoff
from flows.intent import BuyingIntent
from flows.messenger import Outgoing
from handlers.filters import PlainText
from handlers.handoff import AskManagerCb, lead_reply
from handlers.routing import RouterSpec
from storage.customers import Customer

router = RouterSpec("faq", message_filters=(F.chat.type == "private",))
LABEL_LIMIT = 60


class FaqCb(CallbackData, prefix="fq"):
    id: str  # the entry


class SuggestionCb(CallbackData, prefix="fs"):
    """A suggestion for a question the FAQ was unsure of: the tap is recorded, so the FAQ learns. A sibling
    of FaqCb rather than a new field on it: a field would stop every menu already in customers' chats."""

    id: str  # the entry
    q: int  # the customer's question (checked to be theirs before anything is recorded)


def _label(text: str) -> str:
    return text if len(text) <= LABEL_LIMIT else text[: LABEL_LIMIT - 1] + "…"


def menu_keyboard(entries: list[FaqEntry], t: Texts, default: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for entry in entries:
        builder.button(text=_label(entry.label(t.language, default)), callback_data=FaqCb(id=entry.id))
    builder.button(text=t("manager_button"), callback_data=AskManagerCb())
    builder.adjust(1)
    return builder.as_markup()


def answer_keyboard(entry: FaqEntry, t: Texts, faq: Faq) -> InlineKeyboardMarkup | None:
    return keyboard(answer_message(entry, t, faq.content.business.default_language))


FAQ_BUTTONS = FaqButtons(
    manager=lambda entry: AskManagerCb(e=entry).pack(), entry=lambda entry: FaqCb(id=entry).pack()
)


def answer_message(entry: FaqEntry, t: Texts, default: str) -> Outgoing:
    """An entry's answer as a customer receives it (`flows.faq_answer`, with this router's buttons)."""
    return faq_answer_message(entry, t, default, FAQ_BUTTONS)


def also_keyboard(entries: list[FaqEntry], t: Texts, faq: Faq) -> InlineKeyboardMarkup:
    """The other questions of a message, as buttons under "You also asked:"."""
    builder = InlineKeyboardBuilder()
    default = faq.content.business.default_language
    for entry in entries:
        builder.button(text=_label(entry.label(t.language, default)), callback_data=FaqCb(id=entry.id))
    builder.adjust(1)
    return builder.as_markup()


async def send_answer(message: Message, entry: FaqEntry, t: Texts, faq: Faq) -> None:
    answer = answer_message(entry, t, faq.content.business.default_language)
    markup = keyboard(answer)
    if answer.photo:
        photo = await media_input(answer.photo, faq.media)
        sent = await message.answer_photo(photo, caption=answer.text, reply_markup=markup)
        await remember_upload(answer.photo, sent, faq.media)
    else:
        await message.answer(answer.text, reply_markup=markup)


@router.message(Command("faq"))
async def faq_menu(message: Message, t: Texts, faq: Faq) -> None:
    """The FAQ as a menu of questions (and a way to a person)."""
    entries = faq.entries
    text = t("faq_menu") if entries else t("faq_empty")
    await message.answer(text, reply_markup=menu_keyboard(entries, t, faq.content.business.default_language))


@router.callback_query(FaqCb.filter())
async def faq_button(query: CallbackQuery, callback_data: FaqCb, t: Texts, faq: Faq) -> None:
    entry = faq.entry(callback_data.id)
    if entry is None or not isinstance(query.message, Message):
        await query.answer(t("button_expired"))
        return
    await query.answer()
    await send_answer(query.message, entry, t, faq)


@router.callback_query(SuggestionCb.filter())
async def suggestion_button(
    query: CallbackQuery,
    callback_data: SuggestionCb,
    customer: Customer,
    t: Texts,
    faq: Faq,
    faq_teaching: FaqTeaching,
) -> None:
    """A suggested question tapped: its answer, and the pairing remembered for learning."""
    entry = faq.entry(callback_data.id)
    if entry is None or not isinstance(query.message, Message):
        await query.answer(t("button_expired"))
        return
    await faq_teaching.chose(customer, callback_data.q, entry.id)
    await query.answer()
    await send_answer(query.message, entry, t, faq)


@router.message(PlainText())
async def question(
    message: Message, customer: Customer, t: Texts, faq: Faq, handoff: Handoff, buying_intent: BuyingIntent
) -> None:
    """Free text: a buyer goes to a manager; a question gets its answer, a choice, or the offer of a person."""
    text = message.text or ""
    wants_to_buy = buying_intent.found_in(text)
    if wants_to_buy:
        await handoff.remember(customer, "text", text)  # before the card is drawn, so it shows this
        outcome = await handoff.open_lead(customer.id, "keyword", context=text)
        if outcome.status != "unavailable":
            await message.answer(lead_reply(t, outcome, handoff, customer))
            return
    many = await faq.ask_many(customer, text, remember=not wants_to_buy)
    asked = many.first
    if asked.entry is not None:
        await send_answer(message, asked.entry, t, faq)
        if many.also:  # the message's other questions, one tap away
            await message.answer(t("faq_also_asked"), reply_markup=also_keyboard(many.also, t, faq))
        return
    if asked.verdict.kind == "chatter":
        await message.answer(t("free_text"))
        return
    builder = InlineKeyboardBuilder()
    default = faq.content.business.default_language
    if asked.candidates:
        for entry in asked.candidates:
            data = SuggestionCb(id=entry.id, q=asked.question_id)
            builder.button(text=_label(entry.label(t.language, default)), callback_data=data)
        builder.button(text=t("faq_none_button"), callback_data=AskManagerCb(q=asked.question_id))
        builder.adjust(1)
        await message.answer(t("faq_suggest"), reply_markup=builder.as_markup())
        return
    builder.button(text=t("manager_button"), callback_data=AskManagerCb(q=asked.question_id))
    await message.answer(t("faq_no_match"), reply_markup=builder.as_markup())
