"""The aiogram side of `flows.chat_actions.ChatActions`: the non-message calls queued in the outbox."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)

from bot.retry import no_retry
from flows.messenger import Delivery, DeliveryResult

log = logging.getLogger(__name__)


class AiogramChatActions:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def perform(self, chat_id: int, action: dict[str, Any]) -> DeliveryResult:
        calls = self._calls(chat_id, action)
        if calls is None:
            return DeliveryResult(Delivery.REJECTED, error=f"unknown chat action {action.get('action')!r}")
        try:
            with no_retry():  # the sender pauses globally and retries the row itself
                for call in calls:
                    await call()
        except TelegramRetryAfter as exc:
            return DeliveryResult(Delivery.RETRY_AFTER, retry_after=float(exc.retry_after), error=exc.message)
        except (TelegramBadRequest, TelegramNotFound, TelegramForbiddenError) as exc:
            # Not an admin, message too old, topic gone …: retrying will not help.
            return DeliveryResult(Delivery.REJECTED, error=exc.message)
        except (TelegramNetworkError, TelegramServerError, TimeoutError, OSError) as exc:
            return DeliveryResult(Delivery.TRANSIENT, error=str(exc) or type(exc).__name__)
        return DeliveryResult(Delivery.SENT)

    def _calls(self, chat_id: int, action: dict[str, Any]) -> list[Callable[[], Awaitable[bool]]] | None:
        """The Bot API calls that make up an action, in order; None for an action this bot does not know."""
        bot, kind = self._bot, action.get("action")
        if kind == "delete_messages":
            return [partial(bot.delete_messages, chat_id, [int(i) for i in action["message_ids"]])]
        if kind == "rename_topic":
            return [partial(bot.edit_forum_topic, chat_id, int(action["thread_id"]), name=str(action["name"]))]
        if kind == "delete_topic":
            return [partial(bot.delete_forum_topic, chat_id, int(action["thread_id"]))]
        if kind == "remove_member":
            # A ban removes them; lifting it at once lets an owner invite them again later.
            user_id = int(action["user_id"])
            return [
                partial(bot.ban_chat_member, chat_id, user_id),
                partial(bot.unban_chat_member, chat_id, user_id, only_if_banned=True),
            ]
        return None
