"""The aiogram side of `ProgressBoard`: edit a broadcast's progress message in the owner's chat."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter

from bot.messenger import keyboard
from flows.markup import Html
from flows.messenger import Button, Outgoing

log = logging.getLogger(__name__)


class AiogramProgressBoard:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def show(self, chat_id: int, message_id: int, text: Html, buttons: list[list[Button]]) -> bool:
        """Edit the progress message; False only when it is gone for good (deleted, or the chat blocked us)."""
        try:
            await self._bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=keyboard(Outgoing(buttons=buttons)),
            )
        except TelegramRetryAfter:
            return True  # too many edits: the next refresh tries again
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                return True
            log.info("progress message %s in %s cannot be edited: %s", message_id, chat_id, exc.message)
            return False
        except TelegramForbiddenError:
            return False
        return True
