"""Per-update context: the current customer and their texts, and the update's processed mark.

Registered as an outer middleware on updates, after aiogram's own user-context middleware, so every
handler of a private chat receives `customer` and `t` without asking for them. The handler runs inside
the update's handling (`storage.db.handling`): its first write transaction commits the processed mark
with the effect, so a re-delivered update applies once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Chat, TelegramObject, Update, User

from flows.content import Content
from flows.customers import Customers
from flows.i18n import translator
from storage.db import AlreadyHandled

log = logging.getLogger(__name__)


class CustomerMiddleware(BaseMiddleware):
    READS = ("content",)  # what it takes from the Dispatcher's data

    def __init__(self, customers: Customers, content: Content) -> None:
        self._customers = customers
        self._content = content

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        update_id = event.update_id if isinstance(event, Update) else 0
        language = user.language_code if user else None
        if user is not None and not user.is_bot and (chat is None or chat.type == "private"):
            customer = await self._customers.seen(
                update_id,
                user.id,
                user.first_name,
                user.last_name,
                user.username,
                user.language_code,
                starting=_is_start(event),
            )
            if customer is None:
                log.info("update %s was handled before; skipping the replay", update_id)
                return None
            data["customer"] = customer
            language = customer.preferred_language
        elif not await self._customers.first_handling(update_id):
            log.info("update %s was handled before; skipping the replay", update_id)
            return None
        content: Content = data.get("content", self._content)  # the running version, as of this update
        data["t"] = content.texts_for(language)
        data["tr"] = translator(language)  # the team's texts (flows/i18n.py), in this person's language
        with self._customers.handling(update_id) as current:
            try:
                return await handler(event, data)
            except AlreadyHandled:  # another delivery of this update committed its effect first
                log.info("update %s was applied by an earlier delivery; skipping the replay", update_id)
                return None
            finally:
                self._customers.handled(current)
                if current.commits > 1:  # see the README: a crash between them leaves the later ones undone
                    log.debug("update %s committed %d write transactions", update_id, current.commits)


def _is_start(event: TelegramObject) -> bool:
    """A /start message: the only update that makes a new customer record subscribed (flows.customers)."""
    message = event.message if isinstance(event, Update) else None
    text = (message.text or "") if message is not None else ""
    return text == "/start" or text.startswith(("/start ", "/start@"))


class InFlightMiddleware(BaseMiddleware):
    """Counts updates being handled, so a shutdown can let them finish before the database closes."""

    def __init__(self) -> None:
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        self._active += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self._active -= 1
            if self._active == 0:
                self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no update is being handled; False if that took longer than `timeout` seconds."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


class SamePressMiddleware(BaseMiddleware):
    """Impatient fingers: a press of a button while the same person's press of that same button is still
    being handled is answered at once and dropped.

    Ten taps in a second arrive as ten callback queries; handled side by side they would all read the
    state from before the first took effect. The first one acts, re-checking state as it takes effect;
    a press that comes after it finished is handled normally and finds the new state (a toggle pressed
    twice, on and off, is two presses the person meant).

    Per process, on purpose: it spares work and double answers, it is not what keeps data right. With
    several processes two taps may reach two of them and both be handled; each re-checks the state in its
    write (writes are serialized across processes), exactly as for two taps a second apart.
    """

    def __init__(self) -> None:
        self._busy: set[tuple[int, str, str]] = set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, CallbackQuery):
            return await handler(event, data)
        where = event.inline_message_id or (str(event.message.message_id) if event.message else "")
        key = (event.from_user.id, where, event.data or "")
        if key in self._busy:
            await event.answer()
            return None
        self._busy.add(key)
        try:
            return await handler(event, data)
        finally:
            self._busy.discard(key)
