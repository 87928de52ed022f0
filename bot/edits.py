"""An edit that changes nothing is a success: "message is not modified" means the message already shows
what the bot wanted it to show.

That answer comes whenever two handlings bring a message to the same state (a button pressed twice in
a row removes a keyboard that is already gone, a refreshed card already reads the same); treating it as
an error would turn an impatient customer into tracebacks and apologies.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType

_EDITS = (EditMessageText, EditMessageReplyMarkup, EditMessageCaption)
_NOT_MODIFIED = "message is not modified"


class UnchangedEditMiddleware(BaseRequestMiddleware):
    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:  # aiogram types this Response[T]; at run time the chain passes the result itself (as in retry.py)
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as error:
            if not isinstance(method, _EDITS) or _NOT_MODIFIED not in error.message:
                raise
            return True  # what Telegram returns for an edit that has no message to return
