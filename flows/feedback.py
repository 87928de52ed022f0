"""The satisfaction question's answer: stored once per purchase; 3 or less alerts the managers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from flows.clock import Clock
from flows.content import Content
from flows.formatting import date, money
from flows.i18n import translator
from flows.loyalty import Loyalty
from flows.markup import html
from flows.notices import Notices
from storage.contact_policy import drop_unsent_questions
from storage.customers import Customer
from storage.db import Database
from storage.purchases import PurchasesRepo, record_feedback

LOW_SCORE = 3


class Rated(Enum):
    THANKS = "thanks"
    SORRY = "sorry"  # low score: the managers were alerted
    ALREADY = "already"
    NOT_YOURS = "not_yours"


class LeadOpener(Protocol):
    async def __call__(self, customer_id: int, cause: str, context: str | None = None) -> object: ...


@dataclass
class Feedback:
    db: Database
    purchases: PurchasesRepo
    loyalty: Loyalty
    content: Content
    notices: Notices
    clock: Clock
    alert_chats: tuple[int, ...]  # the owners, when there is no managers' chat to open a lead in
    open_lead: LeadOpener | None = None  # hands the customer to a manager (the handoff flow)

    async def rate(self, customer: Customer, purchase_id: int, score: int) -> Rated:
        """Store the customer's score for their purchase; a low one alerts the managers with the card."""
        purchase = await self.purchases.get(purchase_id)
        if purchase is None or purchase.customer_id != customer.id or not 1 <= score <= 5:
            return Rated.NOT_YOURS
        card = await self.loyalty.card(customer.id)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            if not await record_feedback(tx, purchase_id, customer.id, score, now):
                return Rated.ALREADY
            # Answered: the questions still waiting for other purchases would only nag (README "Contact policy").
            await drop_unsent_questions(tx, customer.id, "the customer answered a satisfaction question")
            if score > LOW_SCORE:
                return Rated.THANKS
            lang = self.content.business.default_language  # alerts go to the team's chats
            tr = translator(lang)
            amount = money(purchase.amount, self.content.loyalty.currency, lang)
            contact = " · ".join(
                part for part in (f"@{customer.username}" if customer.username else None, customer.phone) if part
            )
            text = html(
                tr.gettext(
                    "⚠️ <b>Low score {score}/5</b> from {name}{contact}\nCard {card} · purchase #{number} of "
                    "{amount} on {day}\nTelegram id: <code>{tg_id}</code>"
                ),
                score=score,
                name=customer.display_name,
                contact=f" ({contact})" if contact else "",
                card=card.card_code,
                number=purchase.number,
                amount=amount,
                day=date(purchase.purchased_at, lang, self.loyalty.zone),
                tg_id=customer.tg_id,
            )
            if self.open_lead is None:
                for chat_id in self.alert_chats:
                    await self.notices.to_chat(
                        tx, chat_id, f"low-score:{purchase_id}:{chat_id}", text, now, kind="alert"
                    )
        if self.open_lead is not None:
            # A lead, not just an alert: a manager takes it and talks to the customer right there.
            context = tr.gettext("score {score}/5 for purchase #{number} of {amount} (card {card})").format(
                score=score, number=purchase.number, amount=amount, card=card.card_code
            )
            await self.open_lead(customer.id, "low_score", context)
        return Rated.SORRY
