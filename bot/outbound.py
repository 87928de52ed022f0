"""The one way out: every call the bot makes to Telegram passes this session middleware.

It gives each call to a chat its turn from the shared `Pacer` (arrival order per chat, the chat's and
the bot's budget, Telegram's pauses) and waits out a short 429 and repeats the call: a 429 means
Telegram did not take the message, so repeating it cannot send it twice. A pause longer than
`max_wait` is raised as `TelegramRetryAfter` for the caller to decide (the sender puts the row back).
Calls that are not about one chat (getUpdates, answerCallbackQuery, getMe) pass straight through.

With `LOG_SENDS=true` every message's departure is logged (logger ``bot.outbound.sends``: the method and
the wall time to the microsecond, the moment after its token was taken — no chat, no text), so the rate
at which the bot's processes actually send can be checked against Telegram's 30 a second.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import SendChatAction, TelegramMethod
from aiogram.methods.base import TelegramType

from flows.pacing import Pacer

log = logging.getLogger(__name__)
sends = logging.getLogger(f"{__name__}.sends")
sends.setLevel(logging.WARNING)  # off unless LOG_SENDS (bot/cli.py): a line a message is for checking the rate

# Methods that put a new message into a chat: Telegram's per-chat and global limits count these.
_SENDING_PREFIXES = ("Send", "Copy", "Forward")


def chat_of(method: TelegramMethod[Any]) -> int | None:
    chat_id = getattr(method, "chat_id", None)
    return chat_id if isinstance(chat_id, int) else None


def spends_budget(method: TelegramMethod[Any]) -> bool:
    return type(method).__name__.startswith(_SENDING_PREFIXES) and not isinstance(method, SendChatAction)


class OutboundMiddleware(BaseRequestMiddleware):
    def __init__(self, pacer: Pacer, *, max_wait: float = 30.0) -> None:
        self.pacer = pacer
        self._max_wait = max_wait

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Any:
        chat_id = chat_of(method)
        if chat_id is None:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:  # not about one chat: the pause holds for all of them
                self.pacer.hold(None, exc.retry_after)
                raise
        spends = spends_budget(method)
        turn = await self.pacer.enter(chat_id, spends=spends)
        try:
            return await self._call(make_request, bot, method, chat_id, spends)
        finally:
            turn.release()

    async def _call(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
        chat_id: int,
        spends: bool,
    ) -> Any:
        """Make the call, waiting out short 429s (the chat's turn is held, so nobody overtakes)."""
        waited = 0.0
        while True:
            if spends and sends.isEnabledFor(logging.INFO):
                sends.info("departs %s at %.6f", type(method).__name__, time.time())
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                self.pacer.hold(chat_id, exc.retry_after)
                waited += exc.retry_after
                if waited > self._max_wait:
                    raise
                log.info("429 on %s to chat %s: waiting %ss", type(method).__name__, chat_id, exc.retry_after)
                await self.pacer.wait_for_pause(chat_id)
