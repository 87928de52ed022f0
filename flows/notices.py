"""Messages the loyalty flows send on their own: always through the outbox, inside the caller's transaction.

Queuing in the same transaction as the change means a receipt exists exactly when the purchase does,
and the outbox's idempotency key means a retried operation never queues it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flows.content import Content, Texts
from flows.i18n import Translator, translator
from flows.markup import Html
from flows.messenger import Button, Outgoing
from storage.customers import Customer, preferred_language_in
from storage.db import Tx
from storage.outbox import NewMessage, enqueue


@dataclass(frozen=True)
class LoyaltyButtons:
    """Callback data for buttons in queued messages, packed by the handlers' CallbackData factories."""

    spend: Callable[[int, bool], str]  # (draft id, yes?) → data
    rate: Callable[[int, int], str]  # (purchase id, score) → data


def plain_buttons() -> LoyaltyButtons:
    """Button data without aiogram (flow-level tests and tools)."""
    return LoyaltyButtons(spend=lambda draft, yes: f"ps:{draft}:{int(yes)}", rate=lambda p, s: f"rt:{p}:{s}")


@dataclass
class Notices:
    content: Content
    buttons: LoyaltyButtons

    def texts(self, customer: Customer) -> Texts:
        return self.content.texts_for(customer.preferred_language)

    async def staff_tr(self, tx: Tx, tg_id: int) -> Translator:
        """The team's texts for one staff member's chat: in the language they read, else the business's."""
        return translator(await preferred_language_in(tx, tg_id) or self.content.business.default_language)

    async def to_customer(
        self,
        tx: Tx,
        customer: Customer,
        key: str,
        text: Html,
        now: datetime,
        *,
        kind: str = "loyalty",
        transactional: bool = True,
        due_at: datetime | None = None,
        buttons: list[list[Button]] | None = None,
        on_fail: dict[str, Any] | None = None,
    ) -> bool:
        """Queue a message for a customer; False when they cannot be reached or it was queued before.

        `on_fail` (chat_id, text, unknown_text with "{reason}") is the notice the sender queues for
        whoever relies on this message if it fails or its fate is unknown."""
        if customer.tg_id is None:
            return False
        payload = Outgoing(text=text, buttons=buttons or []).to_payload()
        message = NewMessage(
            key=key,
            chat_id=customer.tg_id,
            kind=kind,
            payload=payload | {"on_fail": on_fail} if on_fail else payload,
            due_at=due_at or now,
            customer_id=customer.id,
            transactional=transactional,
        )
        return await enqueue(tx, message, now)

    async def to_chat(
        self, tx: Tx, chat_id: int, key: str, text: Html, now: datetime, kind: str = "staff"
    ) -> bool:
        """Queue a message for a staff member or the managers' chat (always transactional)."""
        message = NewMessage(
            key=key,
            chat_id=chat_id,
            kind=kind,
            payload=Outgoing(text=text).to_payload(),
            due_at=now,
            transactional=True,
        )
        return await enqueue(tx, message, now)
