"""The aiogram side of the `Messenger` port: send, and translate Telegram's answers into outcomes."""

from __future__ import annotations

from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    MessageId,
    ReplyParameters,
)

from bot.retry import no_retry
from flows.messenger import Delivery, DeliveryResult, Outgoing


def keyboard(message: Outgoing) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    rows = [
        [InlineKeyboardButton(text=b.text, url=b.url, callback_data=b.data) for b in row]
        for row in message.buttons
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def photo_input(photo: str) -> str | InputFile:
    """A local file is uploaded; anything else (an URL or a file_id) is passed through."""
    path = Path(photo)
    return FSInputFile(path) if path.is_file() else photo


class AiogramMessenger:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def deliver(self, chat_id: int, message: Outgoing) -> DeliveryResult:
        try:
            with no_retry():  # the sender pauses globally and retries the row itself
                sent = await self._send(chat_id, message)
        except TelegramRetryAfter as exc:
            return DeliveryResult(Delivery.RETRY_AFTER, retry_after=float(exc.retry_after), error=exc.message)
        except TelegramForbiddenError as exc:
            if "initiate conversation" in exc.message:  # never started the bot (e.g. imported): not a block
                return DeliveryResult(Delivery.REJECTED, error=exc.message)
            return DeliveryResult(Delivery.BLOCKED, error=exc.message)
        except (TelegramBadRequest, TelegramNotFound) as exc:
            return DeliveryResult(Delivery.REJECTED, error=exc.message)
        except (TelegramNetworkError, TelegramServerError, TimeoutError, OSError) as exc:
            return DeliveryResult(Delivery.TRANSIENT, error=str(exc) or type(exc).__name__)
        return DeliveryResult(Delivery.SENT, message_id=sent.message_id)

    async def _send(self, chat_id: int, message: Outgoing) -> Message | MessageId:
        # A reply whose target is gone (deleted by a manager) is sent anyway rather than lost.
        reply = (
            ReplyParameters(message_id=message.reply_to, allow_sending_without_reply=True)
            if message.reply_to
            else None
        )
        if message.copy_chat_id is not None and message.copy_message_id is not None:
            return await self._bot.copy_message(
                chat_id,
                message.copy_chat_id,
                message.copy_message_id,
                caption=message.text or None,  # replaces the caption (reply mode adds who wrote it)
                message_thread_id=message.thread_id,
                reply_parameters=reply,
                reply_markup=keyboard(message),
            )
        if message.video:
            return await self._bot.send_video(
                chat_id,
                message.video,
                caption=message.text or None,
                reply_markup=keyboard(message),
                message_thread_id=message.thread_id,
                reply_parameters=reply,
            )
        if message.photo:
            return await self._bot.send_photo(
                chat_id,
                photo_input(message.photo),
                caption=message.text,
                reply_markup=keyboard(message),
                message_thread_id=message.thread_id,
                reply_parameters=reply,
            )
        return await self._bot.send_message(
            chat_id,
            message.text,
            reply_markup=keyboard(message),
            message_thread_id=message.thread_id,
            reply_parameters=reply,
        )
