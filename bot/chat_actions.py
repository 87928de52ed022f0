"""The aiogram side of `flows.chat_actions.ChatActions`: the non-message calls queued in the outbox."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from aiogram import Bot

from bot.messenger import classify
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
            for call in calls:
                await call()
        except Exception as exc:  # one place classifies what Telegram's answer means (bot/messenger.py)
            return classify(exc)
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
