"""Handing customers to a manager: /manager and the buttons that ask for one, relaying while a lead is
open, and the manager chat's side (cards, Take / Won / Lost, managers' replies)."""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any, Literal

from aiogram import Bot, F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.messenger import keyboard
from flows.content import Texts
from flows.faq import Faq
from flows.handoff import Handoff, LeadOutcome
from flows.i18n import N_, Translator, translator
from flows.messenger import Outgoing
from handlers.routing import RouterSpec
from storage.customers import Customer
from storage.leads import Lead

log = logging.getLogger(__name__)
router = RouterSpec("handoff")

# What a manager or a customer may send along a lead: everything a person writes, no service messages.
RELAYED = frozenset(
    {"text", "photo", "document", "voice", "video", "audio", "sticker", "animation", "video_note", "location",
     "contact", "venue"}
)  # fmt: skip
_OFFER = re.compile(r"^[A-Za-z0-9_.:-]{1,40}$")


class AskManagerCb(CallbackData, prefix="mg"):
    q: int = 0  # the customer's question the FAQ could not answer (0: none)
    e: str = ""  # the FAQ entry whose answer carried the button ("": none)


class OfferCb(CallbackData, prefix="of"):
    o: str  # which offer or broadcast the customer is interested in


class LeadCb(CallbackData, prefix="ld"):
    a: str  # take | won | lost
    id: int


def lead_button_data(lead_id: int, action: str) -> str:
    return LeadCb(a=action, id=lead_id).pack()


def offer_button_data(offer: str) -> str:
    """Callback data for an "I'm interested" button under a broadcast or offer (≤ 40 characters of key)."""
    if not _OFFER.match(offer):
        raise ValueError("an offer key is 1–40 letters, digits or _.:-")
    return OfferCb(o=offer).pack()


def lead_reply(t: Texts, outcome: LeadOutcome, handoff: Handoff, customer: Customer) -> str:
    """What the customer is told after asking for a manager."""
    if outcome.status == "unavailable":
        return t("manager_unavailable")
    if outcome.status == "already":
        return t("lead_already_open")
    return handoff.acknowledgement(customer, outcome.opens_at)


# ---- customers ---------------------------------------------------------------------------------


class InConversation(Filter):
    """A private message from a customer whose lead is open: it goes to the managers."""

    async def __call__(
        self, message: Message, handoff: Handoff, customer: Customer | None = None
    ) -> bool | dict[str, Any]:
        if customer is None or message.chat.type != "private" or message.content_type not in RELAYED:
            return False
        if message.text and message.text.startswith("/"):
            return False  # commands keep working during a conversation
        if not customer.in_conversation:
            return False  # read with the customer: most messages need no query here
        lead = await handoff.open_lead_of(customer)
        return {"lead": lead} if lead is not None else False


@router.message(F.chat.type == "private", Command("manager"))
async def ask_for_manager(message: Message, customer: Customer, t: Texts, handoff: Handoff) -> None:
    """/manager: hand the customer to a person."""
    outcome = await handoff.open_lead(customer.id, "manager", context="/manager")
    await message.answer(lead_reply(t, outcome, handoff, customer))


@router.callback_query(AskManagerCb.filter())
async def manager_button(
    query: CallbackQuery, callback_data: AskManagerCb, customer: Customer, t: Texts, handoff: Handoff, faq: Faq
) -> None:
    """ "Talk to a manager" under an FAQ answer, a no-answer reply or the /faq menu."""
    cause, context = "manager", None
    if callback_data.q:
        question = await faq.none_fit(customer, callback_data.q)
        if question is None:
            await query.answer(t("button_expired"))
            return
        cause, context = "faq_miss", question.text
    elif callback_data.e:
        entry = faq.entry(callback_data.e)
        default = faq.content.business.default_language
        label = entry.label(default, default) if entry else callback_data.e
        # Kept with the lead and shown on its card in the managers' group: in the business's language.
        context = translator(default).gettext("after reading the FAQ answer “{entry}”").format(entry=label)
    outcome = await handoff.open_lead(customer.id, cause, context=context)
    await query.answer()
    if isinstance(query.message, Message):
        if callback_data.q:  # the question is handled: its buttons have done their job
            with contextlib.suppress(TelegramBadRequest):
                await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(lead_reply(t, outcome, handoff, customer))


@router.callback_query(OfferCb.filter())
async def offer_button(
    query: CallbackQuery, callback_data: OfferCb, customer: Customer, t: Texts, handoff: Handoff
) -> None:
    """ "I'm interested" under a broadcast or an offer: the lead carries which one."""
    if not _OFFER.match(callback_data.o):
        await query.answer(t("button_expired"))
        return
    outcome = await handoff.open_lead(customer.id, "offer", offer=callback_data.o)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(lead_reply(t, outcome, handoff, customer))


@router.message(InConversation())
async def customer_writes(message: Message, customer: Customer, lead: Lead, handoff: Handoff) -> None:
    """While a manager is talking to them, whatever the customer sends goes to the manager chat."""
    text = message.text or message.caption
    await handoff.from_customer(customer, lead, message.message_id, message.content_type, text)


# ---- the manager chat ----------------------------------------------------------------------------


class InManagerChat(Filter):
    async def __call__(self, event: Message | CallbackQuery, handoff: Handoff) -> bool:
        message = event.message if isinstance(event, CallbackQuery) else event
        return message is not None and handoff.is_manager_chat(message.chat.id)


@router.message(
    InManagerChat(), F.content_type.in_(RELAYED), ~F.text.startswith("/"), F.from_user.is_bot.is_(False)
)
async def manager_writes(message: Message, bot: Bot, handoff: Handoff) -> None:
    """A manager answers in a customer's topic, or by replying to the bot's message about a lead."""
    assert message.from_user is not None
    thread_id = message.message_thread_id if message.is_topic_message else None
    replied = message.reply_to_message
    reply_to = (
        replied.message_id if replied is not None and replied.from_user and replied.from_user.is_bot else None
    )
    relay = await handoff.from_manager(
        message.chat.id, thread_id, reply_to, message.message_id, message.from_user.id, message.from_user.full_name
    )
    if relay.status == "not_a_lead":
        return  # the team talking among themselves
    if relay.status == "sent":
        if relay.took and relay.lead is not None:
            await refresh_card(bot, handoff, relay.lead)
        return
    customer = relay.lead.customer_id if relay.lead else None
    log.info("manager message %s not relayed (%s, customer %s)", message.message_id, relay.status, customer)
    team = translator(handoff.content.business.default_language)  # said in the group: the business's language
    await message.reply(team.gettext(NOT_RELAYED[relay.status]))


NOT_RELAYED = {
    "closed": N_(
        "⚠️ Not sent: this conversation is closed. A new one starts when the customer asks for a manager again."
    ),
    "not_allowed": N_("⚠️ Not sent: only managers can answer customers. Ask the owner to add you."),
    "forgotten": N_("⚠️ Not sent: this customer has deleted their data."),
}
DONE = {
    "take": N_("It's yours: answer in this topic or by replying here."),
    "won": N_("Closed as won 🎉"),
    "lost": N_("Closed as lost."),
}

LEAD_PROBLEMS = {
    "closed": N_("This lead is already closed."),
    "missing": N_("This lead no longer exists."),
    "not_allowed": N_("Only managers can do this."),
}


def _lead_answer(status: str, action: str, lead: Lead | None, tr: Translator) -> str:
    """What the presser of Take / Won / Lost reads (a pop-up for them alone: their own language)."""
    if status == "done":
        return tr.gettext(DONE[action])
    if status == "already":
        name = lead.taken_by_name if lead and lead.taken_by_name else tr.gettext("someone")
        return tr.gettext("Already taken by {name}.").format(name=name)
    return tr.gettext(LEAD_PROBLEMS[status])


@router.callback_query(LeadCb.filter())
async def lead_button(
    query: CallbackQuery, callback_data: LeadCb, bot: Bot, handoff: Handoff, t: Texts, tr: Translator
) -> None:
    """Take / Won / Lost on a card or a reminder; the presser's role is checked on every press."""
    message = query.message
    if not isinstance(message, Message) or not handoff.is_manager_chat(message.chat.id):
        await query.answer(t("button_expired"))
        return
    who = query.from_user
    if callback_data.a == "take":
        result = await handoff.take(callback_data.id, who.id, who.full_name)
    elif callback_data.a in ("won", "lost"):
        outcome: Literal["won", "lost"] = "won" if callback_data.a == "won" else "lost"
        result = await handoff.close(callback_data.id, outcome, who.id, who.full_name)
    else:
        await query.answer(t("button_expired"))
        return
    lead = result.lead
    answer = _lead_answer(result.status, callback_data.a, lead, tr)
    await query.answer(answer, show_alert=result.status in ("already", "not_allowed"))
    if lead is not None and result.status in ("done", "already", "closed"):
        await refresh_card(bot, handoff, lead, also=message)


async def refresh_card(bot: Bot, handoff: Handoff, lead: Lead, also: Message | None = None) -> None:
    """Show the lead's current state on its card (and drop the buttons of a reminder that was pressed)."""
    card_id = await handoff.card_message_id(lead)
    text = await handoff.card_text(lead)
    markup: InlineKeyboardMarkup | None = keyboard(Outgoing(buttons=handoff.card_buttons(lead)))
    if card_id is not None:
        with contextlib.suppress(TelegramBadRequest):  # unchanged, or deleted by a manager
            await bot.edit_message_text(text, chat_id=lead.chat_id, message_id=card_id, reply_markup=markup)
    if also is not None and also.message_id != card_id and also.reply_markup is not None:
        keep = markup if lead.is_open and lead.state == "open" else None
        with contextlib.suppress(TelegramBadRequest):
            await also.edit_reply_markup(reply_markup=keep)
