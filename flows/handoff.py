"""Handing a customer to a manager: the lead, its card in the manager chat, relaying both ways, closing.

Every message the bot posts because of a lead (the card, a customer's words in the manager chat, a
manager's reply to the customer, a reminder, a "not delivered" notice) is an outbox row queued in the
same transaction as the change it belongs to, with a key that makes it unique: a crash loses nothing
and sends nothing twice. Taking and closing are conditional updates, so of two managers pressing at
once exactly one wins. While a lead is open the customer's sequences are held; a sweep in `tick()`
keeps that true even if the process died between the two steps.

Nothing about leads is kept in memory: the open lead, its card and topic are read from the database each
time. The per-customer topic lock only stops this process from creating a customer's topic twice; across
processes the first topic saved wins and a surplus one is deleted (`_topic_for`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Literal, Protocol

from flows.chat_actions import action_row, delete_topic
from flows.clock import Clock
from flows.content import Content
from flows.formatting import duration
from flows.hours import next_opening
from flows.i18n import Translator, translator
from flows.lead_card import CardData, render_card
from flows.loyalty import tier_for
from flows.markup import Html, html
from flows.messenger import Button, Outgoing
from flows.sequences import Sequences
from storage.customer_facts import PurchaseFacts, purchase_facts
from storage.customers import Customer, CustomersRepo
from storage.db import Database
from storage.events import append_event
from storage.leads import (
    Lead,
    LeadsRepo,
    LeadStats,
    answered,
    insert_lead,
    open_lead_in,
    outbox_id_of,
    reminded,
    set_card,
)
from storage.messages import MessagesRepo
from storage.outbox import NewMessage, OutboxRepo, QueuedMessage, enqueue

log = logging.getLogger(__name__)

MAX_REMINDERS = 3
CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096
CardButtonData = Callable[[int, str], str]  # (lead id, action: take | won | lost) → callback data


class Topics(Protocol):
    """The manager chat's forum topics (implemented with aiogram in bot/manager_chat.py)."""

    async def is_forum(self, chat_id: int) -> bool: ...

    async def create(self, chat_id: int, name: str) -> int | None:
        """A new topic's thread id, or None when it could not be created."""
        ...


@dataclass(frozen=True)
class LeadOutcome:
    status: Literal["opened", "already", "unavailable"]
    lead: Lead | None = None
    opens_at: datetime | None = None  # when the managers are back, if they are out now


@dataclass(frozen=True)
class ButtonResult:
    status: Literal["done", "already", "closed", "missing", "not_allowed"]
    lead: Lead | None = None


@dataclass(frozen=True)
class Relay:
    status: Literal["sent", "not_a_lead", "closed", "not_allowed", "forgotten"]
    lead: Lead | None = None
    took: bool = False  # the manager's first answer made the lead theirs


RoleOf = Callable[[int], Awaitable[str | None]]


@dataclass
class Handoff:
    db: Database
    leads: LeadsRepo
    outbox: OutboxRepo
    customers: CustomersRepo
    messages: MessagesRepo
    sequences: Sequences
    topics: Topics
    content: Content
    clock: Clock
    zone: tzinfo
    manager_chat_id: int | None
    reminder_minutes: int
    card_button_data: CardButtonData
    role_of: RoleOf  # the team flow's answer: owner, manager, cashier or None
    idle_close: timedelta | None = None  # a taken lead silent this long is closed as "no answer"
    _topic_locks: dict[int, asyncio.Lock] = field(default_factory=dict)

    # ---- roles --------------------------------------------------------------------------------

    async def is_manager(self, tg_id: int) -> bool:
        """Owners and staff with the manager role; checked on every button and relay."""
        return await self.role_of(tg_id) in ("owner", "manager")

    def is_manager_chat(self, chat_id: int) -> bool:
        return self.manager_chat_id is not None and chat_id == self.manager_chat_id

    # ---- opening ------------------------------------------------------------------------------

    async def open_lead(
        self,
        customer_id: int,
        cause: str,
        context: str | None = None,
        offer: str | None = None,
        *,
        tell_customer: bool = False,
    ) -> LeadOutcome:
        """Hand a customer to the managers: a lead with its card in the manager chat, sequences held.

        `cause` is manager | interested | offer | faq_miss | low_score | keyword; `context` says what
        exactly (the question, the score, the step) and `offer` which sequence, broadcast or offer it came
        from. With an open lead already, the managers get a note on it instead of a second card.
        `tell_customer` queues the "a manager will answer" message for callers that are not replying to
        the customer themselves (e.g. a low satisfaction score recorded by the loyalty flow).
        """
        chat_id = self.manager_chat_id
        customer = await self.customers.get(customer_id)
        if chat_id is None or customer is None or customer.tg_id is None:
            return LeadOutcome("unavailable")
        now = self.clock.now()
        opens_at = next_opening(now, self.content.handoff, self.zone)
        existing = await self.leads.open_for(customer_id)
        if existing is not None:
            await self._note(existing, cause, context, offer, now)
            return LeadOutcome("already", existing, opens_at)
        thread_id = await self._topic_for(customer, chat_id)
        remind_at = (opens_at or now) + timedelta(minutes=self.reminder_minutes) if self.reminder_minutes else None
        async with self.db.transaction() as tx:
            lead_id = await insert_lead(
                tx, customer_id, cause, _clip(context), _clip(offer), chat_id, thread_id, remind_at, now
            )
            if lead_id is None:  # another trigger opened one a moment ago
                lead = await open_lead_in(tx, customer_id)
                return LeadOutcome("already", lead, opens_at)
            lead = await open_lead_in(tx, customer_id)
            assert lead is not None
            key = f"lead:{lead_id}:card"
            card = Outgoing(
                text=await self.card_text(lead, customer), buttons=self.card_buttons(lead), thread_id=thread_id
            )
            await enqueue(tx, self._to_managers(key, lead, card, now), now)
            await set_card(tx, lead_id, await outbox_id_of(tx, key))
            await append_event(tx, customer_id, "lead", now, {"lead": lead_id, "cause": cause, "offer": offer})
            if tell_customer:
                text = self.acknowledgement(customer, opens_at)
                await enqueue(
                    tx, self._to_customer(f"lead:{lead_id}:ack", lead, customer, Outgoing(text), now), now
                )
        await self.sequences.pause(customer_id)
        return LeadOutcome("opened", await self.leads.get(lead_id), opens_at)

    def acknowledgement(self, customer: Customer, opens_at: datetime | None) -> Html:
        """ "A manager will answer" in the customer's language, with when if the managers are out."""
        t = self.content.texts_for(customer.preferred_language)
        if opens_at is None:
            return t("lead_opened")
        return t("lead_opened_closed", when=format_opening(opens_at, self.zone, t.language))

    async def _note(self, lead: Lead, cause: str, context: str | None, offer: str | None, now: datetime) -> None:
        """Another trigger while a lead is open: tell its managers rather than open a second one."""
        from flows.lead_card import cause as cause_text

        tr = self.team_tr
        details = " · ".join(part for part in (offer, context) if part)
        text = html(tr.gettext("➕ Also {cause}"), cause=cause_text(cause, tr))
        text += html(": <i>{}</i>", _clip(details) or "") if details else ""
        # One note per kind of trigger per ten minutes: a customer pressing /manager again and again
        # should not flood the managers' group.
        key = f"lead:{lead.id}:note:{cause}:{int(now.timestamp()) // 600}"
        note = Outgoing(text=text, thread_id=lead.thread_id, reply_to_outbox=self._card_reply(lead))
        await self.outbox.enqueue(self._to_managers(key, lead, note, now), now)

    async def _topic_for(self, customer: Customer, chat_id: int) -> int | None:
        """Forum mode: the customer's one topic, created on their first lead and reused after."""
        if not await self.topics.is_forum(chat_id):
            return None
        lock = self._topic_locks.setdefault(customer.id, asyncio.Lock())
        async with lock:
            thread_id = await self.leads.topic_of(customer.id, chat_id)
            if thread_id is not None:
                return thread_id
            name = customer.display_name
            name = f"{name} · @{customer.username}" if customer.username and customer.first_name else name
            thread_id = await self.topics.create(chat_id, f"{name[:110]} · #{customer.id}")
            if thread_id is None:  # not an admin, topics off…: the lead still goes out, in reply mode
                log.warning("could not create a forum topic in %s; falling back to replies", chat_id)
                return None
            # Another process may have made the customer a topic meanwhile (the lock above is this process's
            # only): the first saved is kept and this one deleted again, through the outbox.
            now = self.clock.now()
            surplus = action_row(f"topic-surplus:{chat_id}:{thread_id}", chat_id, delete_topic(thread_id), now)
            thread_id = await self.leads.save_topic(customer.id, chat_id, thread_id, now, surplus)
            self._topic_locks.pop(customer.id, None)
            return thread_id

    async def _in_current_topic(self, lead: Lead, customer: Customer) -> Lead:
        """The lead, moved to the customer's topic when the one it was posted in is gone.

        A topic Telegram reported lost, or one a sandbox restart gave to someone else, is no longer the
        customer's: a new one is made and the card posted again there, so the managers have the context."""
        if lead.thread_id is None or await self.leads.topic_of(customer.id, lead.chat_id) == lead.thread_id:
            return lead
        thread_id = await self._topic_for(customer, lead.chat_id)
        if thread_id is None:
            return lead
        await self.leads.move_to_topic(lead.id, thread_id)
        moved = replace(lead, thread_id=thread_id)
        now = self.clock.now()
        key = f"lead:{lead.id}:card:{thread_id}"
        card = Outgoing(
            text=await self.card_text(moved, customer), buttons=self.card_buttons(moved), thread_id=thread_id
        )
        async with self.db.transaction() as tx:
            await enqueue(tx, self._to_managers(key, moved, card, now), now)
            await set_card(tx, lead.id, await outbox_id_of(tx, key))
        log.warning(
            "lead %s: topic %s is gone; the conversation goes on in topic %s", lead.id, lead.thread_id, thread_id
        )
        return await self.leads.get(lead.id) or moved

    async def topic_lost(self, row: QueuedMessage) -> bool:
        """Telegram says the topic a lead's message was for is gone: the message goes to a new topic.

        Called by the sender; True when the message was queued again (in a new topic, after the card)."""
        thread_id = row.payload.get("thread_id")
        lead = await self.leads.get(row.lead_id) if row.lead_id is not None else None
        if thread_id is None or lead is None:
            return False
        await self.leads.forget_topic(row.chat_id, int(thread_id))
        customer = await self.customers.get(lead.customer_id)
        if customer is None or lead.state not in ("open", "taken") or lead.thread_id != thread_id:
            return False
        was_card = row.id == lead.card_outbox_id
        lead = await self._in_current_topic(lead, customer)
        if lead.thread_id in (None, thread_id):
            return False
        if was_card:  # the card was posted again in the new topic: that is the one
            return True
        now = self.clock.now()
        again = NewMessage(
            key=f"{row.key}:topic:{lead.thread_id}",
            chat_id=row.chat_id,
            kind=row.kind,
            payload=row.payload | {"thread_id": lead.thread_id},
            due_at=now,
            transactional=True,
            lead_id=lead.id,
        )
        await self.outbox.enqueue(again, now)
        return True

    # ---- the card -----------------------------------------------------------------------------

    async def card_text(self, lead: Lead, customer: Customer | None = None) -> Html:
        customer = customer or await self.customers.get(lead.customer_id)
        assert customer is not None
        data = CardData(
            lead=lead,
            customer=customer,
            tags=await self.customers.tags(customer.id),
            facts=await self._facts(customer),
            recent=await self.messages.recent(customer.id),
        )
        business = self.content.business  # the team reads numbers in the business's own language
        return render_card(data, self.zone, self.content.loyalty.currency, business.default_language)

    async def _facts(self, customer: Customer) -> PurchaseFacts:
        """Purchases and points, plus the tier by the content's rules (the rule of four purchases)."""
        facts = await purchase_facts(self.db, customer.id)
        tier = tier_for(self.content.loyalty, facts.count or 0, facts.total or Decimal(0))
        return replace(facts, tier=tier.title[self.content.business.default_language])  # the team's language

    def card_buttons(self, lead: Lead) -> list[list[Button]]:
        data, tr = self.card_button_data, self.team_tr
        close = [
            Button(tr.pgettext("lead button", "✅ Won"), data=data(lead.id, "won")),
            Button(tr.pgettext("lead button", "✖️ Lost"), data=data(lead.id, "lost")),
        ]
        if lead.state == "open":
            return [[Button(tr.pgettext("lead button", "🙋 Take"), data=data(lead.id, "take"))], close]
        return [close] if lead.state == "taken" else []

    async def card_message_id(self, lead: Lead) -> int | None:
        """The Telegram id of the lead's card in the manager chat, once it was sent."""
        if lead.card_outbox_id is None:
            return None
        row = await self.outbox.get(lead.card_outbox_id)
        return row.tg_message_id if row else None

    # ---- buttons on the card ------------------------------------------------------------------

    async def take(self, lead_id: int, manager_id: int, manager_name: str) -> ButtonResult:
        """Assign the lead to the presser; a second presser learns who was faster."""
        if not await self.is_manager(manager_id):
            return ButtonResult("not_allowed")
        if await self.leads.get(lead_id) is None:
            return ButtonResult("missing")
        won = await self.leads.take(lead_id, manager_id, manager_name, self.clock.now())
        lead = await self.leads.get(lead_id)
        if won:
            return ButtonResult("done", lead)
        return ButtonResult("already" if lead and lead.state == "taken" else "closed", lead)

    async def close(
        self, lead_id: int, outcome: Literal["won", "lost"], manager_id: int, name: str
    ) -> ButtonResult:
        """Close the lead as won or lost; the customer's sequences carry on."""
        if not await self.is_manager(manager_id):
            return ButtonResult("not_allowed")
        lead = await self.leads.get(lead_id)
        if lead is None:
            return ButtonResult("missing")
        now = self.clock.now()
        async with self.db.transaction() as tx:
            closed = await self.leads.close(tx, lead_id, outcome, manager_id, name, now)
            if closed:
                await append_event(tx, lead.customer_id, "lead_closed", now, {"lead": lead_id, "outcome": outcome})
        if not closed:
            return ButtonResult("closed", await self.leads.get(lead_id))
        await self.sequences.resume(lead.customer_id)
        return ButtonResult("done", await self.leads.get(lead_id))

    # ---- relaying -----------------------------------------------------------------------------

    async def open_lead_of(self, customer: Customer) -> Lead | None:
        return await self.leads.open_for(customer.id)

    async def remember(self, customer: Customer, kind: str, text: str | None) -> None:
        """Keep a customer's message for the "last messages" of their next card."""
        await self.messages.remember(customer.id, kind, text, self.clock.now())

    async def from_customer(
        self, customer: Customer, lead: Lead, message_id: int, kind: str, text: str | None
    ) -> None:
        """Pass what the customer wrote to the lead's managers (a copy: text, photo, document, voice …)."""
        assert customer.tg_id is not None
        lead = await self._in_current_topic(lead, customer)
        now = self.clock.now()
        await self.messages.remember(customer.id, kind, text, now)
        await self.leads.customer_wrote(lead.id, now)
        key = f"relay-in:{customer.tg_id}:{message_id}"
        if lead.thread_id is not None:  # the topic says who it is
            copy = Outgoing(copy_chat_id=customer.tg_id, copy_message_id=message_id, thread_id=lead.thread_id)
        else:  # reply mode: a header names the customer, and the copy answers their card
            header = html("💬 <b>{}</b> · lead #{}", customer.display_name, lead.id)
            reply = self._card_reply(lead)
            limit = TEXT_LIMIT if kind == "text" else CAPTION_LIMIT
            # Telegram counts visible UTF-16 units: cut the customer's words, never the markup.
            room = limit - utf16_len(f"💬 {customer.display_name} · lead #{lead.id}") - 2
            body = Html(cut_utf16(text or "", room))
            if kind == "text":
                copy = Outgoing(text=html("{}\n{}", header, body), reply_to_outbox=reply)
            else:
                copy = Outgoing(
                    text=html("{}\n{}", header, body) if body else header,
                    copy_chat_id=customer.tg_id,
                    copy_message_id=message_id,
                    reply_to_outbox=reply,
                )
        await self.outbox.enqueue(self._to_managers(key, lead, copy, now), now)

    async def lead_in_manager_chat(
        self, chat_id: int, thread_id: int | None, reply_to: int | None
    ) -> tuple[Customer | None, Lead | None]:
        """The customer a manager's message is meant for, and their open lead (None when closed).

        Forum mode: the topic decides. Reply mode: the bot message it answers (a card, a copy, a note).
        """
        customer_id = None
        if thread_id is not None:
            customer_id = await self.leads.customer_of_topic(chat_id, thread_id)
        if customer_id is None and reply_to is not None:
            lead_id = await self.outbox.lead_of_posted(chat_id, reply_to)
            posted = await self.leads.get(lead_id) if lead_id is not None else None
            customer_id = posted.customer_id if posted else None
        if customer_id is None:
            return None, None
        return await self.customers.get(customer_id), await self.leads.open_for(customer_id)

    async def from_manager(
        self,
        chat_id: int,
        thread_id: int | None,
        reply_to: int | None,
        message_id: int,
        manager_id: int,
        manager_name: str,
    ) -> Relay:
        """Pass a manager's message to the customer; a failure comes back as a notice where it was written."""
        customer, lead = await self.lead_in_manager_chat(chat_id, thread_id, reply_to)
        if customer is None:
            return Relay("not_a_lead")
        if not await self.is_manager(manager_id):
            return Relay("not_allowed")
        if customer.tg_id is None:
            return Relay("forgotten")
        if lead is None:
            return Relay("closed")
        now = self.clock.now()
        notice = {
            "chat_id": chat_id,
            "thread_id": thread_id,
            "reply_to": message_id,
            "text": html(
                self.team_tr.gettext("⚠️ Not delivered to {name}: {{reason}}."), name=customer.display_name
            ),
            "unknown_text": html(
                self.team_tr.gettext("⚠️ May not have been delivered to {name}: {{reason}}."),
                name=customer.display_name,
            ),
            "language": self.team_tr.language,  # of the reason the sender fills in
        }
        payload = Outgoing(copy_chat_id=chat_id, copy_message_id=message_id).to_payload() | {"on_fail": notice}
        async with self.db.transaction() as tx:
            await enqueue(
                tx,
                NewMessage(
                    key=f"relay-out:{chat_id}:{message_id}",
                    chat_id=customer.tg_id,
                    kind="relay",
                    payload=payload,
                    due_at=now,
                    customer_id=customer.id,
                    transactional=True,
                    lead_id=lead.id,
                ),
                now,
            )
            took = await answered(tx, lead.id, manager_id, manager_name, now)
        return Relay("sent", await self.leads.get(lead.id), took)

    # ---- periodic work ------------------------------------------------------------------------

    async def tick(self) -> int:
        """Raise leads nobody took, and keep sequences held exactly while a lead is open."""
        raised = 0
        now = self.clock.now()
        for lead in await self.leads.due_reminders(now):
            raised += await self._remind(lead, now)
        if self.idle_close:
            for lead in await self.leads.idle_taken(now - self.idle_close):
                await self._close_idle(lead, now)
        await self.hold()
        for customer_id in await self.sequences.enrollments.paused_customers():
            if await self.leads.open_for(customer_id) is None:  # closed, but the resume was lost to a crash
                await self.sequences.resume(customer_id)
        return raised

    async def _close_idle(self, lead: Lead, now: datetime) -> None:
        """A conversation nobody continued ends ("no answer"): its manager is told, sequences resume."""
        tr = self.team_tr
        silent = duration(now - lead.last_activity, tr.language)
        text = html(
            tr.gettext("⌛ <b>Lead #{id}</b> closed: no answer — no message either way for {silence}."),
            id=lead.id,
            silence=silent,
        )
        if lead.taken_by_name:
            text += html(tr.gettext(" It was {name}'s."), name=lead.taken_by_name)
        note = Outgoing(text=text, thread_id=lead.thread_id, reply_to_outbox=self._card_reply(lead))
        async with self.db.transaction() as tx:
            if not await self.leads.close_idle(tx, lead, now):
                return  # someone wrote in the meantime
            await enqueue(tx, self._to_managers(f"lead:{lead.id}:idle-closed", lead, note, now), now)
            await append_event(
                tx,
                lead.customer_id,
                "lead_closed",
                now,
                {"lead": lead.id, "outcome": "lost", "reason": "no_answer"},
            )
        await self.sequences.resume(lead.customer_id)

    async def hold(self) -> int:
        """Pause sequences that run for a customer in a conversation (started by a trigger since, or
        left running by a crash between opening the lead and pausing)."""
        held = await self.leads.customers_to_hold()
        for customer_id in held:
            await self.sequences.pause(customer_id)
        return len(held)

    async def _remind(self, lead: Lead, now: datetime) -> int:
        number = lead.reminders + 1
        later = None
        if number < MAX_REMINDERS:
            base = next_opening(now, self.content.handoff, self.zone) or now
            later = base + timedelta(minutes=self.reminder_minutes)
        customer = await self.customers.get(lead.customer_id)
        tr = self.team_tr
        waited = duration(now - lead.created_at, tr.language)
        name = customer.display_name if customer else f"#{lead.customer_id}"
        text = html(
            tr.gettext("⏰ <b>Lead #{id}</b> ({name}) has waited {waited} and nobody has taken it."),
            id=lead.id,
            name=name,
            waited=waited,
        )
        reminder = Outgoing(
            text=text,
            thread_id=lead.thread_id,
            reply_to_outbox=self._card_reply(lead),
            buttons=[[Button(tr.pgettext("lead button", "🙋 Take"), data=self.card_button_data(lead.id, "take"))]],
        )
        async with self.db.transaction() as tx:
            if not await reminded(tx, lead.id, later):
                return 0
            await enqueue(tx, self._to_managers(f"lead:{lead.id}:remind:{number}", lead, reminder, now), now)
        return 1

    async def stats(self, days: int = 30) -> LeadStats:
        """Leads per state and cause, times to first answer, and who waits now, over the last `days`."""
        return await self.leads.stats(self.clock.now() - timedelta(days=days))

    # ---- helpers ------------------------------------------------------------------------------

    @property
    def team_tr(self) -> Translator:
        """The team's texts in the business's own language: the managers' chat is read by all of them."""
        return translator(self.content.business.default_language)

    @staticmethod
    def _card_reply(lead: Lead) -> int | None:
        # In a topic the card is at hand; in a plain group a reply ties the message to its card.
        return None if lead.thread_id is not None else lead.card_outbox_id

    @staticmethod
    def _to_managers(key: str, lead: Lead, message: Outgoing, now: datetime) -> NewMessage:
        return NewMessage(
            key=key,
            chat_id=lead.chat_id,
            kind="lead",
            payload=message.to_payload(),
            due_at=now,
            transactional=True,
            lead_id=lead.id,
        )

    @staticmethod
    def _to_customer(key: str, lead: Lead, customer: Customer, message: Outgoing, now: datetime) -> NewMessage:
        assert customer.tg_id is not None
        return NewMessage(
            key=key,
            chat_id=customer.tg_id,
            kind="lead",
            payload=message.to_payload(),
            due_at=now,
            customer_id=customer.id,
            transactional=True,
            lead_id=lead.id,
        )


def format_opening(moment: datetime, zone: tzinfo, language: str) -> str:
    """`Monday, 09:00` in the customer's language (the business's local time)."""
    from babel.dates import format_datetime

    return format_datetime(moment.astimezone(zone), "EEEE, HH:mm", locale=language)


def _clip(text: str | None, limit: int = 500) -> str | None:
    return None if text is None else text[:limit]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def cut_utf16(text: str, units: int) -> str:
    """At most `units` UTF-16 code units of `text` (how Telegram measures), never half a character."""
    if utf16_len(text) <= units:
        return text
    cut = text.encode("utf-16-le")[: max(units - 1, 0) * 2].decode("utf-16-le", errors="ignore")
    return cut + "…"
