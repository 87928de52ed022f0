"""The aiogram side of the `Messenger` port: send, and translate Telegram's answers into outcomes."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BufferedInputFile,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    MessageId,
    ReplyParameters,
)

from flows.media import Media, ref_id
from flows.messenger import Delivery, DeliveryResult, Outgoing

log = logging.getLogger(__name__)

# Network failures that happen before a byte of the request left: Telegram cannot have the message.
_NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError, aiohttp.InvalidURL)


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


class MissingUpload(Exception):
    """Content names an upload the database does not hold (refused by Telegram's rules: a bad request).
    Its text is the outbox row's error, for the log and the owner's delivery report."""

    def __str__(self) -> str:
        return f"upload {self.args[0]} missing from the database"


async def media_input(value: str, media: Media | None) -> str | InputFile:
    """What to pass Telegram for a photo or video: an upload's file id once Telegram gave one, else its
    bytes; a local file is uploaded; an URL or a file id as it is."""
    if ref_id(value) is None:
        return photo_input(value)
    stored = await media.get(value) if media is not None else None
    if stored is None:
        raise MissingUpload(value)
    if stored.tg_file_id:
        return stored.tg_file_id
    extension = stored.mime_type.rpartition("/")[2]
    return BufferedInputFile(stored.data, filename=f"{stored.kind}-{stored.id}.{extension}")


async def remember_upload(value: str | None, sent: Message | MessageId, media: Media | None) -> None:
    """After an upload's first send: keep the file id Telegram gave it, so the bytes go up only once."""
    if media is None or ref_id(value) is None or not isinstance(sent, Message):
        return
    file_id = sent.photo[-1].file_id if sent.photo else sent.video.file_id if sent.video else None
    if file_id:
        await media.remember_file_id(str(value), file_id)


class AiogramMessenger:
    def __init__(self, bot: Bot, media: Media | None = None) -> None:
        self._bot = bot
        self._media = media

    async def deliver(self, chat_id: int, message: Outgoing) -> DeliveryResult:
        try:
            sent = await self._send(chat_id, message)
        except MissingUpload as exc:  # nothing went out: as Telegram refusing a bad file id
            return DeliveryResult(Delivery.REJECTED, error=str(exc))
        except Exception as exc:  # every outcome is an answer here, never an exception
            return classify(exc)
        try:
            await remember_upload(message.video or message.photo, sent, self._media)
        except Exception as exc:  # it was sent: only the next send uploads the bytes again
            log.warning("could not remember an upload's file id: %r", exc)
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
                await media_input(message.video, self._media),
                caption=message.text or None,
                reply_markup=keyboard(message),
                message_thread_id=message.thread_id,
                reply_parameters=reply,
            )
        if message.photo:
            return await self._bot.send_photo(
                chat_id,
                await media_input(message.photo, self._media),
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


def classify(exc: Exception) -> DeliveryResult:
    """The one place that decides what a failed call means for the message."""
    match exc:
        case TelegramRetryAfter():
            return DeliveryResult(Delivery.RETRY_AFTER, retry_after=float(exc.retry_after), error=exc.message)
        case TelegramMigrateToChat():
            return DeliveryResult(Delivery.MIGRATED, new_chat_id=exc.migrate_to_chat_id, error=exc.message)
        case TelegramForbiddenError() if "initiate conversation" in exc.message:
            return DeliveryResult(Delivery.REJECTED, error=exc.message)  # never started the bot: not a block
        case TelegramForbiddenError():
            return DeliveryResult(Delivery.BLOCKED, error=exc.message)
        case TelegramUnauthorizedError() | TelegramConflictError():
            return DeliveryResult(Delivery.STOPPED, error=exc.message)
        case TelegramBadRequest() | TelegramNotFound() | TelegramEntityTooLarge():
            return DeliveryResult(Delivery.REJECTED, error=exc.message)
        case TelegramServerError():  # Telegram answered that it failed: it has not taken the message
            return DeliveryResult(Delivery.TRANSIENT, error=exc.message)
        case TelegramNetworkError() if isinstance(exc.__cause__, _NOT_SENT):
            return DeliveryResult(Delivery.TRANSIENT, error=_short(exc))
        case TelegramNetworkError() | ClientDecodeError():  # sent, but the answer was lost or unreadable
            return DeliveryResult(Delivery.UNKNOWN, error=_short(exc))
        case TelegramAPIError():  # another 4xx Telegram answered: it refused the message
            return DeliveryResult(Delivery.REJECTED, error=exc.message)
    log.warning("unexpected error while sending: %r", exc)
    return DeliveryResult(Delivery.UNKNOWN, error=type(exc).__name__)


def _short(exc: Exception) -> str:
    """A reason to store and show; never aiohttp's own text, which can carry the URL with the token."""
    if isinstance(exc, ClientDecodeError):
        return "the answer could not be read (a proxy's error page?)"
    cause = exc.__cause__
    if isinstance(exc, TelegramNetworkError) and cause is not None:
        return f"network: {type(cause).__name__}"
    return type(exc).__name__
