"""The aiogram side of `flows.handoff.Topics`: is the manager chat a forum, and creating topics in it.

Whether the chat is a forum is Telegram's state, asked once per process and remembered: each process asks
for itself, and a group turned into a forum is noticed by each after its restart. Which topic is a
customer's is in the database (`manager_topics`); two processes creating one at the same moment keep the
first saved (`storage.leads.LeadsRepo.save_topic`).
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

log = logging.getLogger(__name__)


class AiogramTopics:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot
        self._forum: dict[int, bool] = {}

    async def is_forum(self, chat_id: int) -> bool:
        """Asked once per chat and remembered (a group turned into a forum is noticed after a restart)."""
        if chat_id not in self._forum:
            try:
                chat = await self._bot.get_chat(chat_id)
            except TelegramAPIError:
                log.warning("could not look up the manager chat %s; using replies", chat_id, exc_info=True)
                return False  # not remembered: the next lead asks again
            self._forum[chat_id] = bool(chat.is_forum)
        return self._forum[chat_id]

    async def create(self, chat_id: int, name: str) -> int | None:
        try:
            topic = await self._bot.create_forum_topic(chat_id, name[:128])
        except TelegramAPIError:
            log.warning("could not create a topic in %s", chat_id, exc_info=True)
            return None
        return topic.message_thread_id
