"""A local Telegram Bot API server, for tests and the terminal sandbox.

Why: the bot should be tested through the same HTTP requests aiogram sends to Telegram,
with Telegram's validation (limits, HTML, button data, blocked users, 429s) so that a bot bug
fails a test instead of production. Mocking aiogram would test our assumptions about
Telegram, not the bot.

Two faces:
* the Bot API over HTTP (``POST /bot<token>/<method>``, ``GET /file/bot<token>/<path>``), for
  the bot under test (aiogram with ``TelegramAPIServer.from_base(emu.api_base)``);
* an in-process control API for tests: register users and groups, inject updates
  (``send_message``, ``press_button`` …), observe what the bot sent (``messages``,
  ``callback_answers``, ``calls``) and wait for processing (``wait_processed``).

Everything runs on one asyncio loop; waits use a broadcast signal, never sleep-polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import itertools
import json
import logging
import math
import re
import secrets
import struct
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any, Literal, TypeVar

import aiohttp
from aiohttp import web

from .delivery import RETRY_DELAYS, Hook, WebhookDelivery
from .emulator_html import ContentError, Formatted, check_caption, check_reply_markup, check_text, utf16_len

__all__ = [
    "TINY_PNG",
    "ApiCall",
    "ApiError",
    "CallbackAnswer",
    "Chat",
    "Emulator",
    "ForumTopic",
    "RateLimiter",
    "SentMessage",
    "StoredFile",
    "User",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

CALLBACK_ANSWER_LIMIT = 200
UPLOAD_LIMIT = 50 * 1024 * 1024

# Form values that Telegram (and aiogram) send as JSON-serialized strings.
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "media",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "commands",
        "scope",
        "menu_button",
        "message_ids",
        "reaction",
    }
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# sendX method -> message field / file kind
_MEDIA_METHODS = {
    "sendPhoto": "photo",
    "sendDocument": "document",
    "sendVoice": "voice",
    "sendVideo": "video",
    "sendAudio": "audio",
    "sendAnimation": "animation",
    "sendSticker": "sticker",
    "sendVideoNote": "video_note",
}
_FILE_KINDS = tuple(_MEDIA_METHODS.values())
# Updates Telegram only sends when asked for explicitly in allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_DEFAULT_TOPIC_COLOR = 7322096
# The bot is an administrator in every emulated group, allowed to do what the bot needs.
_ADMIN_RIGHTS: tuple[str, ...] = ("can_manage_chat", "can_delete_messages", "can_manage_video_chats")
_ADMIN_RIGHTS += (
    "can_restrict_members",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
)
_ADMIN_LACKS: tuple[str, ...] = ("can_be_edited", "is_anonymous", "can_promote_members", "can_post_stories")
_ADMIN_LACKS += ("can_edit_stories", "can_delete_stories", "can_send_welcome_messages")
_BLOCKED = "Forbidden: bot was blocked by the user"
_TERMINATED = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
_WRONG_FILE = "wrong file identifier/HTTP URL specified"
_HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)


def _tiny_png() -> bytes:
    """A valid 1x1 white PNG, so injected photos are real images."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


TINY_PNG = _tiny_png()


def _image_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG, GIF or JPEG header; 1x1 when unknown."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data) and data[i] == 0xFF:
            marker, length = data[i + 1], struct.unpack(">H", data[i + 2 : i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return width, height
            i += 2 + length
    return 1, 1


class ApiError(Exception):
    """A Bot API error response; raised inside method handlers, turned into JSON by the server."""

    def __init__(
        self, status: int, description: str, *, retry_after: int | None = None, migrate_to: int | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.migrate_to = migrate_to

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        if self.migrate_to is not None:
            body["parameters"] = {"migrate_to_chat_id": self.migrate_to}
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _too_many(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


# --- the world: users, chats, files, messages -----------------------------------------------


@dataclass
class User:
    """A Telegram user (or the bot itself). ``started``/``blocked`` describe the private chat."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False
    started: bool = False
    blocked: bool = False

    def to_api(self) -> dict[str, Any]:
        return _drop_none(
            {
                "id": self.id,
                "is_bot": self.is_bot,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
                "language_code": self.language_code,
            }
        )


@dataclass
class ForumTopic:
    message_thread_id: int
    name: str
    icon_color: int = _DEFAULT_TOPIC_COLOR
    icon_custom_emoji_id: str | None = None
    closed: bool = False

    def to_api(self) -> dict[str, Any]:
        return _drop_none(
            {
                "message_thread_id": self.message_thread_id,
                "name": self.name,
                "icon_color": self.icon_color,
                "icon_custom_emoji_id": self.icon_custom_emoji_id,
            }
        )


@dataclass
class Chat:
    """A private chat (id = the user's id) or a supergroup (negative id), with its messages.

    ``messages`` holds both sides: the bot's as SentMessage, users' as the API dicts that were
    injected. Message ids are per chat, shared by both sides, like in Telegram.
    """

    id: int
    type: str
    title: str | None = None
    is_forum: bool = False
    user: User | None = None
    members: dict[int, str] = field(default_factory=dict)
    topics: dict[int, ForumTopic] = field(default_factory=dict)
    messages: dict[int, SentMessage | dict[str, Any]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def next_message_id(self) -> int:
        return next(self._ids)

    def to_api(self) -> dict[str, Any]:
        if self.user is not None:
            user = self.user
            return _drop_none(
                {
                    "id": self.id,
                    "type": "private",
                    "first_name": user.first_name,
                    "last_name": user.last_name,
                    "username": user.username,
                }
            )
        return _drop_none(
            {"id": self.id, "type": self.type, "title": self.title, "is_forum": self.is_forum or None}
        )


@dataclass
class StoredFile:
    """Bytes the emulator holds under a file_id (uploads from the bot or injected by users)."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 1
    height: int = 1
    duration: int = 1
    url: str | None = None  # set when the bot sent an HTTP URL instead of bytes

    def to_api(self, kind: str | None = None) -> Any:
        """The API object for this file as a message field of ``kind`` (PhotoSize list for photos)."""
        kind = kind or self.kind
        base: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        size = {"width": self.width, "height": self.height}
        if kind == "photo":
            return [base | size]
        if kind == "sticker":
            return base | size | {"type": "regular", "is_animated": False, "is_video": False}
        if kind in ("video", "animation"):
            return _drop_none(
                base | size | {"duration": self.duration, "file_name": self.file_name, "mime_type": self.mime_type}
            )
        if kind == "video_note":
            return base | {"length": self.width, "duration": self.duration}
        if kind in ("voice", "audio"):
            return _drop_none(base | {"duration": self.duration, "mime_type": self.mime_type})
        return _drop_none(base | {"file_name": self.file_name, "mime_type": self.mime_type})


@dataclass(eq=False)
class SentMessage:
    """A message the bot created, as the test sees it; edits are applied in place.

    ``text``/``caption`` are raw as sent (with markup), ``plain_text`` is what the user sees
    (the text, or the caption of a media message). ``revision`` is the emulator-wide change
    counter at the last create/edit, so a test can ask "what changed since X".
    """

    message_id: int
    chat_id: int
    method: str
    kind: str
    date: int
    text: str | None = None
    parse_mode: str | None = None
    plain_text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    file: StoredFile | None = None
    reply_markup: dict[str, Any] | None = None
    reply_to_message_id: int | None = None
    thread_id: int | None = None
    media_group_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    edits: int = 0
    edit_date: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    pinned: bool = False
    revision: int = 0

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard rows as (text, callback_data or url)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[(b["text"], b.get("callback_data") or b.get("url")) for b in row] for row in rows]

    @property
    def keyboard(self) -> list[list[str]]:
        """Reply keyboard rows (button texts), if the message set one."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [[b if isinstance(b, str) else b.get("text", "") for b in row] for row in rows]

    @property
    def file_bytes(self) -> bytes | None:
        return self.file.data if self.file is not None else None

    def __str__(self) -> str:
        return self.plain_text or ""


@dataclass(frozen=True)
class CallbackAnswer:
    query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int
    data: str | None = None
    user_id: int | None = None
    message_id: int | None = None


@dataclass
class ApiCall:
    """One Bot API request; ``status`` is None while the call is still running (long polls)."""

    method: str
    params: dict[str, Any]
    files: tuple[str, ...] = ()
    status: int | None = None
    description: str | None = None
    result: Any = None
    at: float = 0.0  # on the emulator's monotonic clock (the test's clock), when the call arrived
    fault: str | None = None  # an injected transport fault ("timeout", "reset", "html") that hit this call
    retry_after: int | None = None  # a 429's wait, so a test can check nothing came inside it


# --- rate limits --------------------------------------------------------------------------


class _Bucket:
    """Token bucket: ``capacity`` tokens, refilled at ``rate`` per second."""

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity, self.rate = capacity, rate
        self.tokens, self.stamp = capacity, now

    def wait(self, now: float, count: int) -> float:
        """Seconds until ``count`` tokens are available (0 if they are now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        missing = count - self.tokens
        return 0.0 if missing <= 1e-9 else missing / self.rate

    def take(self, count: int) -> None:
        self.tokens -= count


class RateLimiter:
    """Telegram's documented broadcast limits, so a bot that floods gets 429 in tests too.

    A global bucket (about 30 messages/s), one per private chat (short bursts, then about one
    per second) and one per group (20 per minute). A request is admitted only if every bucket
    it touches has a token; a rejected request consumes nothing.
    """

    def __init__(
        self,
        *,
        global_per_second: float,
        chat_burst: int,
        chat_per_second: float,
        group_per_minute: int,
        monotonic: Callable[[], float],
    ) -> None:
        self._monotonic = monotonic
        self._chat_burst, self._chat_rate = chat_burst, chat_per_second
        self._group_capacity = group_per_minute
        self._global = _Bucket(global_per_second, global_per_second, monotonic())
        self._chats: dict[int, _Bucket] = {}

    def acquire(self, chat_id: int, *, group: bool, count: int = 1) -> int:
        """Take ``count`` tokens; return 0, or the whole seconds to wait (retry_after)."""
        now = self._monotonic()
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if group:
                bucket = _Bucket(self._group_capacity, self._group_capacity / 60, now)
            else:
                bucket = _Bucket(self._chat_burst, self._chat_rate, now)
            self._chats[chat_id] = bucket
        wait = max(self._global.wait(now, count), bucket.wait(now, count))
        if wait > 0:
            return max(1, math.ceil(wait))
        self._global.take(count)
        bucket.take(count)
        return 0


# --- plumbing -----------------------------------------------------------------------------


class _Signal:
    """A broadcast "state changed" notification that sync code can fire.

    asyncio.Condition needs its lock held to notify, which sync injection methods cannot do;
    replacing a set Event wakes every current waiter without a lock.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], T | Literal[False] | None], seconds: float | None) -> T:
        """Return the first truthy ``predicate()``; TimeoutError after ``seconds``."""
        async with asyncio.timeout(seconds):
            while True:
                event = self._event
                if result := predicate():
                    return result
                await event.wait()


@dataclass(frozen=True)
class _Upload:
    filename: str
    data: bytes
    content_type: str | None = None


def _decode_json_fields(values: dict[str, Any]) -> dict[str, Any]:
    for key in _JSON_FIELDS & values.keys():
        if isinstance(values[key], str):
            with contextlib.suppress(ValueError):
                values[key] = json.loads(values[key])
    return values


async def _read_request(request: web.Request) -> tuple[dict[str, Any], dict[str, _Upload]]:
    """Collect parameters like Telegram: query string, JSON, urlencoded or multipart body."""
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, _Upload] = {}
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                values.update(body)
        elif request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    uploads[key] = _Upload(value.filename, value.file.read(), value.content_type)
                else:
                    values[key] = value if isinstance(value, str) else bytes(value).decode()
    return _decode_json_fields(values), uploads


async def _read_webhook_reply(resp: aiohttp.ClientResponse) -> tuple[dict[str, Any], dict[str, _Upload]]:
    """A webhook response may carry a method call (JSON or multipart, as aiogram sends it)."""
    values: dict[str, Any] = {}
    uploads: dict[str, _Upload] = {}
    if resp.content_type == "application/json":
        body = await resp.json()
        if isinstance(body, dict):
            values.update(body)
    elif resp.content_type.startswith("multipart/"):
        reader = aiohttp.MultipartReader.from_response(resp)
        while (part := await reader.next()) is not None:
            if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                continue
            data = bytes(await part.read())
            if part.filename:
                uploads[part.name] = _Upload(part.filename, data, part.headers.get("Content-Type"))
            else:
                values[part.name] = data.decode()
    return _decode_json_fields(values), uploads


class _Params:
    """Typed access to one request's parameters (form values arrive as strings)."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, _Upload]) -> None:
        self.values = values
        self.uploads = uploads

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None else str(value)

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise _bad(f"{name} is empty")
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad(f'field "{name}" must be of type Integer') from None

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        try:
            return None if value in (None, "") else float(value)
        except (TypeError, ValueError):
            raise _bad(f'field "{name}" must be of type Number') from None

    def flag(self, name: str) -> bool:
        return self.values.get(name) in (True, 1, "true", "True", "1")

    def json(self, name: str, kind: type[T]) -> T | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, kind):
            raise _bad(f"can't parse {name} JSON object")
        return value

    def formatted_text(self) -> Formatted:
        return check_text(self.text("text"), self.text("parse_mode"), self.json("entities", list))

    def caption(self) -> Formatted | None:
        return check_caption(self.text("caption"), self.text("parse_mode"), self.json("caption_entities", list))

    def reply_markup(self, *, inline_only: bool = False) -> dict[str, Any] | None:
        return check_reply_markup(self.values.get("reply_markup"), inline_only=inline_only)

    def chat_id(self, name: str = "chat_id") -> int:
        value = self.values.get(name)
        if value is None or value == "":
            raise _bad(f"{name} is empty")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad("chat not found") from None  # "@username" chats are not emulated


class _UpdateQueue:
    """Unconfirmed updates, the getUpdates protocol and the "processed" watermark.

    Telegram keeps an update until getUpdates is called with an offset above its id. aiogram
    moves the offset only after handling the batch (with ``handle_as_tasks=False``), so a
    confirmed update is a handled one; in webhook mode the returned POST means the same.
    """

    def __init__(self, signal: _Signal) -> None:
        self._signal = signal
        self.changed = asyncio.Event()  # wakes webhook delivery (the signal wakes everything else)
        self._pending: list[dict[str, Any]] = []
        self._answered: set[int] = set()  # webhook: updates whose POST returned (or failed) at least once
        self.on_delivered: Callable[[int], None] | None = None  # webhook: told each update_id taken with a 200
        self._ids = itertools.count(1)
        self._done_upto = 0
        self._dropped: set[int] = set()
        self._allowed: set[str] | None = None
        self._poller = 0
        self.closed = False

    @property
    def pending(self) -> list[dict[str, Any]]:
        return self._pending

    def push(self, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._ids), **payload}
        if self._wanted(update):
            self._pending.append(update)
        else:
            self._dropped.add(update["update_id"])
        self._notify()
        return update

    def _notify(self) -> None:
        self.changed.set()
        self._signal.notify()

    def _wanted(self, update: dict[str, Any]) -> bool:
        kind = next(key for key in update if key != "update_id")
        return kind in self._allowed if self._allowed is not None else kind not in _OPT_IN_UPDATES

    def set_allowed(self, allowed: list[str] | None) -> None:
        """allowed_updates persists until changed; an empty list means the default set."""
        if allowed is None or (set(allowed) or None) == self._allowed:
            return  # unchanged (a poller sends it with every call): no need to sift the queue again
        self._allowed = set(allowed) or None
        unwanted = [u for u in self._pending if not self._wanted(u)]
        self._dropped.update(u["update_id"] for u in unwanted)
        self._pending = [u for u in self._pending if self._wanted(u)]

    def confirm(self, offset: int) -> None:
        """getUpdates offset: drop (confirm) earlier updates; negative keeps only the last -offset."""
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
            self._done_upto = max(self._done_upto, offset - 1)
        elif offset < 0:
            self._dropped.update(u["update_id"] for u in self._pending[:offset])
            self._pending = self._pending[offset:]
        self._notify()

    def drop_pending(self) -> None:
        self._dropped.update(u["update_id"] for u in self._pending)
        self._pending = []
        self._notify()

    def requeue(self, update: dict[str, Any]) -> None:
        """Put a copy of ``update`` first in line (a re-delivery a test asks for)."""
        self._pending.insert(0, dict(update))
        self._notify()

    def delivered(self, update: dict[str, Any]) -> None:
        """Webhook mode: the POST carrying this update returned 200; Telegram forgets it."""
        # by identity: of two equal copies (a re-delivery) only the one that went is gone
        self._pending = [u for u in self._pending if u is not update]
        self.attempted(update["update_id"])
        if self.on_delivered is not None:
            self.on_delivered(update["update_id"])

    def attempted(self, update_id: int) -> None:
        """Webhook mode: a POST carrying ``update_id`` returned, successfully or not."""
        self._answered.add(update_id)
        self._notify()

    def is_processed(self, update_id: int) -> bool:
        return update_id <= self._done_upto or update_id in self._dropped or update_id in self._answered

    async def poll(self, *, offset: int | None, limit: int, seconds: float) -> list[dict[str, Any]]:
        """Long poll; a newer getUpdates ends an older one with 409, as on Telegram."""
        if offset:
            self.confirm(offset)
        self._poller += 1
        me = self._poller
        self._signal.notify()
        with contextlib.suppress(TimeoutError):
            await self._signal.wait_for(lambda: self._pending or self.closed or self._poller != me, seconds)
        if self._poller != me:
            raise ApiError(409, _TERMINATED)
        return [] if self.closed else self._pending[:limit]

    def close(self) -> None:
        self.closed = True
        self._signal.notify()


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class _Query:
    user_id: int
    message_id: int
    data: str
    answered: bool = False


@dataclass(frozen=True)
class _Method:
    name: str
    handler: Callable[[_Params], Any]
    sends: bool = False  # creates messages: counts for rate limits and injected faults


@dataclass
class _Fault:
    error: ApiError | None  # None: a transport fault (`kind`) after the call was carried out
    methods: frozenset[str] | None  # lower-case names; None = message-sending methods
    kind: str = "error"

    def applies_to(self, method: _Method) -> bool:
        return method.name.lower() in self.methods if self.methods else method.sends


# --- the emulator -------------------------------------------------------------------------


class Emulator:
    """A Telegram Bot API server on loopback plus the control API tests use to drive it."""

    def __init__(
        self,
        *,
        token_check: bool = False,
        rate_limits: bool = True,
        global_per_second: float = 30,
        chat_burst: int = 10,
        chat_per_second: float = 1.0,
        group_per_minute: int = 20,
        monotonic: Callable[[], float] = time.monotonic,
        bot_username: str = "nurture_sandbox_bot",
        bot_name: str = "Nurture Bot",
        bot_id: int = 7_000_000_001,
        wall_clock: Callable[[], float] = time.time,
        webhook_retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        self.bot = User(bot_id, bot_name, username=bot_username, language_code=None, is_bot=True)
        self.token = f"{bot_id}:AAsandbox-{secrets.token_urlsafe(24)}"
        self._token_check = token_check
        self._wall_clock = wall_clock
        self._monotonic = monotonic
        self._limiter = (
            RateLimiter(
                global_per_second=global_per_second,
                chat_burst=chat_burst,
                chat_per_second=chat_per_second,
                group_per_minute=group_per_minute,
                monotonic=monotonic,
            )
            if rate_limits
            else None
        )
        self._signal = _Signal()
        self._updates = _UpdateQueue(self._signal)
        self._users: dict[int, User] = {}
        self._chats: dict[int, Chat] = {}
        self._files: dict[str, StoredFile] = {}
        self._file_paths: dict[str, StoredFile] = {}
        self._file_ids = itertools.count(1)
        self._queries: dict[str, _Query] = {}
        self._query_ids = itertools.count(1)
        self._media_groups = itertools.count(1)
        self._faults: list[_Fault] = []
        self._hung = asyncio.Event()  # set at stop: answers held back by a "timeout" fault are let go
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.callback_answers: list[CallbackAnswer] = []
        self.calls: list[ApiCall] = []
        self._revision = 0
        self._webhook: _Webhook | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_retry_delays = webhook_retry_delays
        self.delivery: WebhookDelivery | None = None  # the last webhook delivery (its peak_connections)
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._base_url: str | None = None
        self._methods = self._method_table()

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve the Bot API on ``host:port`` (0 = any free port); return the base URL."""
        app = web.Application(client_max_size=UPLOAD_LIMIT)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self._base_url = f"http://{bound_host}:{bound_port}"
        self._http = aiohttp.ClientSession()
        return self._base_url

    async def stop(self) -> None:
        """Release long polls, stop webhook delivery and shut the server down."""
        self._updates.close()
        self._hung.set()
        await self._stop_webhook_worker()
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        """Base URL for ``TelegramAPIServer.from_base``."""
        if self._base_url is None:
            raise RuntimeError("Emulator is not started")
        return self._base_url

    # --- control API: the world -------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> User:
        """Register a user (and their private chat with the bot), or return the known one."""
        if user_id in self._users:
            return self._users[user_id]
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = User(user_id, first_name, last_name, username, language_code)
        self._users[user_id] = user
        self._chats[user_id] = Chat(user_id, "private", user=user)
        return user

    def group(self, chat_id: int, title: str, *, forum: bool = False) -> Chat:
        """Register a supergroup (the bot is an administrator in it); ``forum`` enables topics."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = Chat(chat_id, "supergroup", title=title, is_forum=forum)
            chat.next_message_id()  # id 1 is the "group created" service message; thread 1 is General
        return chat

    def set_member(self, chat_id: int, user_id: int, status: str = "member") -> None:
        """Set a user's status in a group: creator, administrator, member, left or kicked."""
        self.user(user_id)
        self._group(chat_id).members[user_id] = status

    def member(self, chat_id: int, user_id: int) -> str:
        """A user's status in a group: creator, administrator, member, left (never joined) or kicked."""
        return self._group(chat_id).members.get(user_id, "left")

    def block(self, user_id: int) -> None:
        """The user blocked the bot: every later send to them fails with 403."""
        self.user(user_id).blocked = True

    def unblock(self, user_id: int) -> None:
        self.user(user_id).blocked = False

    def chat(self, chat_id: int) -> Chat:
        if chat_id not in self._chats:
            raise ValueError(f"unknown chat {chat_id}")
        return self._chats[chat_id]

    def file(self, file_id: str) -> StoredFile:
        return self._files[file_id]

    def topics(self, chat_id: int) -> list[ForumTopic]:
        return list(self._group(chat_id).topics.values())

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """A manager deleted a forum topic with everything in it; later sends to it fail as Telegram's do."""
        chat = self._group(chat_id)
        del chat.topics[thread_id]
        for message in list(chat.messages.values()):
            if _thread_of(message) == thread_id:
                self._remove(chat, message)

    def recreate_group(self, chat_id: int) -> Chat:
        """The group as after a sandbox restart: empty, with message and topic ids starting again."""
        old = self._group(chat_id)
        del self._chats[chat_id]
        chat = self.group(chat_id, old.title or "", forum=old.is_forum)
        chat.members.update(old.members)
        return chat

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, Any]]:
        """Commands the bot set with setMyCommands for this scope and language."""
        return self._commands.get((self._scope_key(scope), language_code), [])

    def inject_429(self, count: int, retry_after: int = 1) -> None:
        """Fail the next ``count`` message-sending calls with 429 Too Many Requests."""
        self._faults.extend(_Fault(_too_many(retry_after), None) for _ in range(count))

    def inject_error(
        self,
        count: int,
        status: int = 502,
        description: str = "Bad Gateway",
        *,
        methods: tuple[str, ...] = (),
    ) -> None:
        """Fail the next ``count`` calls (message-sending ones, or ``methods``) with an error."""
        names = frozenset(m.lower() for m in methods) or None
        self._faults.extend(_Fault(ApiError(status, description), names) for _ in range(count))

    def inject_fault(
        self, kind: str, count: int = 1, *, methods: tuple[str, ...] = (), migrate_to: int = 0
    ) -> None:
        """Make the next ``count`` calls (message-sending ones, or ``methods``) meet a real-world fault.

        After the call is carried out (the message exists): ``timeout`` (no answer until the emulator
        stops), ``reset`` (the connection drops), ``html`` (a proxy's 502 page instead of JSON). Instead of
        it: ``migrate`` (the group became supergroup ``migrate_to``), ``unauthorized`` (401),
        ``conflict`` (409), ``server`` (a JSON 500).
        """
        names = frozenset(m.lower() for m in methods) or None
        errors = {
            "migrate": ApiError(
                400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to=migrate_to
            ),
            "unauthorized": ApiError(401, "Unauthorized"),
            "conflict": ApiError(409, _TERMINATED),
            "server": ApiError(500, "Internal Server Error"),
        }
        if kind not in errors and kind not in ("timeout", "reset", "html"):
            raise ValueError(f"unknown fault {kind!r}")
        self._faults.extend(_Fault(errors.get(kind), names, kind) for _ in range(count))

    # --- control API: injecting updates -----------------------------------------------------

    def push_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update payload (e.g. ``{"message": {...}}``); returns it with update_id."""
        return self._updates.push(payload)

    def send_message(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The user sends ``text``; a leading "/command" gets its bot_command entity."""
        user = self.user(user_id)
        chat = self._chat_of(user, chat_id)
        if chat.user is not None and user.blocked and text.split(maxsplit=1)[:1] == ["/start"]:
            self.chat_member_update(user_id, "member")  # pressing "Restart" unblocks the bot
        if entities is None and text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        return self._user_message(user, chat, content, reply_to_message_id, message_thread_id)

    def send_contact(
        self,
        user_id: int,
        phone_number: str,
        *,
        contact_user_id: int | None = None,
        first_name: str | None = None,
        chat_id: int | None = None,
    ) -> dict[str, Any]:
        """The user shares a contact; by default their own. ``contact_user_id=0``: no Telegram account."""
        user = self.user(user_id)
        owner = user_id if contact_user_id is None else contact_user_id
        contact = {
            "phone_number": phone_number,
            "first_name": first_name or (user.first_name if owner == user_id else "Contact"),
            "last_name": user.last_name if owner == user_id else None,
            "user_id": owner or None,
        }
        return self._user_message(user, self._chat_of(user, chat_id), {"contact": _drop_none(contact)})

    def send_photo(
        self,
        user_id: int,
        data: bytes = TINY_PNG,
        caption: str | None = None,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> dict[str, Any]:
        stored = self._store_file("photo", data, "photo.png", "image/png")
        return self._media_update(user_id, stored, caption, chat_id, reply_to_message_id, message_thread_id)

    def send_document(
        self,
        user_id: int,
        data: bytes = b"hello",
        *,
        file_name: str = "document.txt",
        mime_type: str = "text/plain",
        caption: str | None = None,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> dict[str, Any]:
        stored = self._store_file("document", data, file_name, mime_type)
        return self._media_update(user_id, stored, caption, chat_id, reply_to_message_id, message_thread_id)

    def send_voice(
        self,
        user_id: int,
        data: bytes = b"OggS\x00sandbox-voice",
        *,
        duration: int = 1,
        caption: str | None = None,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> dict[str, Any]:
        stored = self._store_file("voice", data, "voice.ogg", "audio/ogg", duration=duration)
        return self._media_update(user_id, stored, caption, chat_id, reply_to_message_id, message_thread_id)

    def send_video(
        self,
        user_id: int,
        data: bytes = b"\x00\x00\x00\x18ftypmp42sandbox-video",
        *,
        duration: int = 3,
        caption: str | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
        chat_id: int | None = None,
    ) -> dict[str, Any]:
        stored = self._store_file(
            "video", data, "video.mp4", "video/mp4", width=320, height=240, duration=duration
        )
        user = self.user(user_id)
        content: dict[str, Any] = {"video": stored.to_api()}
        if caption:
            content["caption"] = caption
            if caption_entities:
                content["caption_entities"] = caption_entities
        return self._user_message(user, self._chat_of(user, chat_id), content)

    def press_button(
        self, user_id: int, message_id: int, callback_data: str, chat_id: int | None = None
    ) -> dict[str, Any]:
        """The user presses an inline button; it must exist on that bot message (else ValueError)."""
        user = self.user(user_id)
        chat = self._chat_of(user, chat_id)
        message = chat.messages.get(message_id)
        if not isinstance(message, SentMessage) or message.deleted:
            raise ValueError(f"no bot message {message_id} in chat {chat.id}")
        datas = [
            b.get("callback_data") for row in (_inline(message) or {}).get("inline_keyboard", []) for b in row
        ]
        if callback_data not in datas:
            raise ValueError(f"message {message_id} has no button with callback_data {callback_data!r}: {datas}")
        return self._push_press(user, chat, message, callback_data)

    def chat_member_update(self, user_id: int, status: str = "kicked") -> dict[str, Any]:
        """The user blocks ("kicked") or unblocks ("member") the bot in the Telegram app."""
        if status not in ("kicked", "member"):
            raise ValueError("status must be 'kicked' or 'member'")
        user = self.user(user_id)
        old = "member" if status == "kicked" else "kicked"
        user.blocked = status == "kicked"
        user.started = True

        def member(state: str) -> dict[str, Any]:
            return {"status": state, "user": self.bot.to_api()} | ({"until_date": 0} if state == "kicked" else {})

        payload = {
            "chat": self._chats[user_id].to_api(),
            "from": user.to_api(),
            "date": self._now(),
            "old_chat_member": member(old),
            "new_chat_member": member(status),
        }
        return self.push_update({"my_chat_member": payload})

    # --- control API: observing -------------------------------------------------------------

    @property
    def revision(self) -> int:
        """Counter bumped on every bot message create/edit/delete."""
        return self._revision

    def messages(self, chat_id: int, *, thread_id: int | None = None) -> list[SentMessage]:
        """Bot messages in a chat (optionally one topic), oldest first, deleted ones excluded."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [
            m
            for _, m in sorted(chat.messages.items())
            if isinstance(m, SentMessage) and not m.deleted and (thread_id is None or m.thread_id == thread_id)
        ]

    def last_message(self, chat_id: int) -> SentMessage | None:
        found = self.messages(chat_id)
        return found[-1] if found else None

    def changes_since(self, chat_id: int, revision: int) -> list[SentMessage]:
        """Bot messages in the chat created or edited after ``revision``, in chat order."""
        return [m for m in self.messages(chat_id) if m.revision > revision]

    def calls_of(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    async def wait_for_message(
        self,
        chat_id: int,
        *,
        after: int = 0,
        timeout: float = 5.0,
        predicate: Callable[[SentMessage], bool] | None = None,
    ) -> SentMessage:
        """Wait for a bot message in the chat with message_id > ``after`` (and matching ``predicate``)."""

        def find() -> SentMessage | None:
            for message in self.messages(chat_id):
                if message.message_id > after and (predicate is None or predicate(message)):
                    return message
            return None

        try:
            return await self._signal.wait_for(find, timeout)
        except TimeoutError:
            raise TimeoutError(f"no bot message in chat {chat_id} after #{after} within {timeout}s") from None

    async def wait_processed(self, update_id: int, timeout: float = 5.0) -> None:
        """Wait until the bot has handled update ``update_id``.

        Polling: the bot called getUpdates with an offset above it (with aiogram's
        ``handle_as_tasks=False`` that happens after the handler finished). Webhook: the POST
        carrying it returned, so use ``SimpleRequestHandler(..., handle_in_background=False)``;
        aiogram's default answers the POST before the handler runs.
        """
        try:
            await self._signal.wait_for(lambda: self._updates.is_processed(update_id), timeout)
        except TimeoutError:
            mode = "the webhook POST did not return" if self._webhook else "no getUpdates with a higher offset"
            raise TimeoutError(
                f"update {update_id} was not processed within {timeout}s ({mode}); is the bot running "
                "(polling with handle_as_tasks=False) and not stuck in a handler?"
            ) from None

    async def wait_until(self, predicate: Callable[[], T | Literal[False] | None], timeout: float = 5.0) -> T:
        """Wait until ``predicate()`` (about the emulator's state) is truthy, re-checked on every change."""
        return await self._signal.wait_for(predicate, timeout)

    async def wait_for_call(self, method: str, *, after: int = 0, timeout: float = 5.0) -> ApiCall:
        """Wait for the bot to call ``method`` (the first such call at index >= ``after`` in calls)."""

        def find() -> ApiCall | None:
            return next((c for c in self.calls[after:] if c.method.lower() == method.lower()), None)

        try:
            return await self._signal.wait_for(find, timeout)
        except TimeoutError:
            raise TimeoutError(f"the bot did not call {method} within {timeout}s") from None

    # --- HTTP ---------------------------------------------------------------------------------

    def _accept_token(self, token: str) -> bool:
        """With token_check only ``self.token`` works; otherwise any token, and the bot adopts its id."""
        if self._token_check:
            return token == self.token
        prefix = token.partition(":")[0]
        if prefix.isdigit():
            self.bot.id = int(prefix)
        return True

    async def _handle_api(self, request: web.Request) -> web.Response:
        if not self._accept_token(request.match_info["token"]):
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        try:
            values, uploads = await _read_request(request)
        except ValueError:
            error = _bad("can't parse request body")
            return web.json_response(error.payload(), status=error.status)
        status, payload, call = await self._call(request.match_info["method"], values, uploads)
        if call.fault == "timeout":  # carried out, but the answer never comes (until the emulator stops)
            await self._hung.wait()
        elif call.fault == "reset":  # carried out, then the connection drops before the answer
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        elif call.fault == "html":  # a proxy in between answers with its own error page
            return web.Response(status=502, text=_HTML_502, content_type="text/html")
        return web.json_response(payload, status=status)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        stored = self._file_paths.get(request.match_info["file_path"])
        if not self._accept_token(request.match_info["token"]) or stored is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")

    async def _call(
        self, name: str, values: dict[str, Any], uploads: dict[str, _Upload]
    ) -> tuple[int, dict[str, Any], ApiCall]:
        """Run one Bot API method; log it in ``calls``; return (HTTP status, JSON body, the logged call)."""
        method = self._methods.get(name.lower())
        call = ApiCall(method.name if method else name, values, tuple(uploads), at=self._monotonic())
        self.calls.append(call)
        self._signal.notify()
        try:
            if method is None:
                raise ApiError(404, "Not Found")
            call.fault = self._take_fault(method)
            result = method.handler(_Params(values, uploads))
            if inspect.isawaitable(result):
                result = await result
            status, payload = 200, {"ok": True, "result": result}
        except ApiError as error:
            status, payload = error.status, error.payload()
            call.retry_after = error.retry_after
        except ContentError as error:
            status, payload = 400, _bad(str(error)).payload()
        except Exception:
            log.exception("emulator failed in %s", call.method)
            status, payload = 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        call.status, call.description, call.result = status, payload.get("description"), payload.get("result")
        self._signal.notify()
        return status, payload, call

    def _take_fault(self, method: _Method) -> str | None:
        """Raise the next injected error for this method; or name the transport fault to apply after it."""
        for i, fault in enumerate(self._faults):
            if fault.applies_to(method):
                del self._faults[i]
                if fault.error is not None:
                    raise fault.error
                return fault.kind
        return None

    def _method_table(self) -> dict[str, _Method]:
        sending: dict[str, Callable[[_Params], Any]] = {
            "sendMessage": self._send_message,
            "sendMediaGroup": self._send_media_group,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
        }
        for name, kind in _MEDIA_METHODS.items():
            sending[name] = functools.partial(self._send_media, name, kind)
        other: dict[str, Callable[[_Params], Any]] = {
            "getMe": self._get_me,
            "logOut": lambda p: True,
            "close": lambda p: True,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "banChatMember": self._ban_chat_member,
            "unbanChatMember": self._unban_chat_member,
            "getFile": self._get_file,
            "createForumTopic": self._create_forum_topic,
            "editForumTopic": self._edit_forum_topic,
            "closeForumTopic": functools.partial(self._set_topic_closed, True),
            "reopenForumTopic": functools.partial(self._set_topic_closed, False),
            "deleteForumTopic": self._delete_forum_topic,
            "pinChatMessage": self._pin_chat_message,
            "unpinChatMessage": self._unpin_chat_message,
            "unpinAllChatMessages": self._unpin_all_chat_messages,
            **dict.fromkeys(("setMyDescription", "setMyShortDescription", "setMyName"), lambda p: True),
        }
        table = {name.lower(): _Method(name, handler, sends=True) for name, handler in sending.items()}
        table.update({name.lower(): _Method(name, handler) for name, handler in other.items()})
        return table

    # --- Bot API: updates and webhook -----------------------------------------------------

    def _get_me(self, p: _Params) -> dict[str, Any]:
        return self.bot.to_api() | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, p: _Params) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._updates.set_allowed(p.json("allowed_updates", list))
        limit = min(max(p.integer("limit") or 100, 1), 100)
        timeout = max(p.number("timeout") or 0.0, 0.0)
        return await self._updates.poll(offset=p.integer("offset"), limit=limit, seconds=timeout)

    def _set_webhook(self, p: _Params) -> bool:
        url = p.text("url") or ""
        if not url:
            return self._delete_webhook(p)
        if not re.match(r"https?://[^/\s]+", url):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.text("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise _bad("secret token contains unallowed characters")
        if p.flag("drop_pending_updates"):
            self._updates.drop_pending()
        self._updates.set_allowed(p.json("allowed_updates", list))
        self._webhook = _Webhook(url, secret, min(max(p.integer("max_connections") or 40, 1), 100))
        if self._webhook_task is None:
            self._webhook_task = asyncio.create_task(self._webhook_worker())
        return True

    def _delete_webhook(self, p: _Params) -> bool:
        self._webhook = None
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None
        if p.flag("drop_pending_updates"):
            self._updates.drop_pending()
        return True

    def _get_webhook_info(self, p: _Params) -> dict[str, Any]:
        hook = self._webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates.pending),
        }
        if hook is not None:
            info |= _drop_none(
                {
                    "max_connections": hook.max_connections,
                    "last_error_date": hook.last_error_date,
                    "last_error_message": hook.last_error_message,
                }
            )
        return info

    async def _stop_webhook_worker(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _webhook_worker(self) -> None:
        """POST pending updates as Telegram does (bot/sandbox/delivery.py): concurrently, in order per chat."""
        self.delivery = WebhookDelivery(
            self._updates, lambda: self._webhook, self._post_update, self._webhook_retry_delays
        )
        await self.delivery.run()

    async def _post_update(self, hook: Hook, update: dict[str, Any]) -> bool:
        """Deliver one update; a method in the response body is executed (webhook reply). False: it failed."""
        assert isinstance(hook, _Webhook)
        assert self._http is not None, "Emulator is not started"
        headers = {"X-Telegram-Bot-Api-Secret-Token": hook.secret_token} if hook.secret_token else {}
        try:
            async with self._http.post(
                hook.url, json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=60)
            ) as resp:
                if resp.status != 200:
                    hook.last_error_date = self._now()
                    hook.last_error_message = f"Wrong response from the webhook: {resp.status} {resp.reason}"
                    return False
                try:
                    values, uploads = await _read_webhook_reply(resp)
                except ValueError as error:  # a 200 is delivered whatever its body; Telegram drops the reply
                    log.warning("webhook reply to update %s could not be read: %s", update["update_id"], error)
                    return True
        except (aiohttp.ClientError, TimeoutError) as error:
            hook.last_error_date = self._now()
            hook.last_error_message = f"Connection failed: {error}"
            return False
        method = values.pop("method", None)
        if method:
            await self._call(str(method), values, uploads)
        return True

    # --- Bot API: settings ------------------------------------------------------------------

    @staticmethod
    def _scope_key(scope: dict[str, Any] | None) -> str:
        return json.dumps(scope or {"type": "default"}, sort_keys=True)

    def _set_my_commands(self, p: _Params) -> bool:
        commands = p.json("commands", list)
        if commands is None:
            raise _bad("commands is empty")
        if len(commands) > 100:
            raise _bad("too many commands")
        for command in commands:
            if not isinstance(command, dict) or not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command"))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = (self._scope_key(p.json("scope", dict)), p.text("language_code") or "")
        self._commands[key] = commands
        return True

    def _get_my_commands(self, p: _Params) -> list[dict[str, Any]]:
        return self.commands(p.json("scope", dict), p.text("language_code") or "")

    def _delete_my_commands(self, p: _Params) -> bool:
        self._commands.pop((self._scope_key(p.json("scope", dict)), p.text("language_code") or ""), None)
        return True

    def _set_chat_menu_button(self, p: _Params) -> bool:
        chat_id = p.integer("chat_id")
        if chat_id is not None and chat_id not in self._chats:
            raise _bad("chat not found")
        button = p.json("menu_button", dict) or {"type": "default"}
        if button.get("type") == "web_app":
            # Telegram opens Mini Apps only over https
            url = str((button.get("web_app") or {}).get("url", ""))
            if not url.startswith("https://") or not button.get("text"):
                raise _bad("BUTTON_URL_INVALID" if button.get("text") else "BUTTON_TEXT_INVALID")
        self.menu_buttons[chat_id] = button
        return True

    def _get_chat_menu_button(self, p: _Params) -> dict[str, Any]:
        chat_id = p.integer("chat_id")
        return self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "default"}

    # --- Bot API: sending -----------------------------------------------------------------

    def _send_message(self, p: _Params) -> dict[str, Any]:
        chat, thread_id, reply_to = self._destination(p)
        shown = _shown(p.formatted_text())
        markup = p.reply_markup()
        self._admit(chat)
        message = self._store(
            chat,
            method="sendMessage",
            kind="text",
            text=p.text("text"),
            parse_mode=p.text("parse_mode"),
            reply_markup=markup,
            **shown,
            reply_to_message_id=reply_to,
            thread_id=thread_id,
        )
        return self._render(message)

    def _send_media(self, method: str, kind: str, p: _Params) -> dict[str, Any]:
        chat, thread_id, reply_to = self._destination(p)
        stored = self._input_file(p, kind, p.values.get(kind), field_name=kind)
        shown = _shown(p.caption())
        markup = p.reply_markup()
        self._admit(chat)
        message = self._store(
            chat,
            method=method,
            kind=kind,
            file=stored,
            caption=p.text("caption"),
            parse_mode=p.text("parse_mode"),
            reply_markup=markup,
            **shown,
            reply_to_message_id=reply_to,
            thread_id=thread_id,
        )
        return self._render(message)

    def _send_media_group(self, p: _Params) -> list[dict[str, Any]]:
        chat, thread_id, reply_to = self._destination(p)
        media = p.json("media", list)
        if not media or not 2 <= len(media) <= 10:
            raise _bad("media group must contain 2-10 items")
        prepared = []
        for item in media:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in ("photo", "video", "document", "audio"):
                raise _bad("wrong type of the media group item")
            stored = self._input_file(p, kind, item.get("media"))
            caption = check_caption(item.get("caption"), item.get("parse_mode"), item.get("caption_entities"))
            prepared.append((kind, stored, item, _shown(caption)))
        self._admit(chat, len(prepared))
        group_id = f"{next(self._media_groups):012d}"
        sent = [
            self._store(
                chat,
                method="sendMediaGroup",
                kind=kind,
                file=stored,
                caption=item.get("caption"),
                parse_mode=item.get("parse_mode"),
                reply_to_message_id=reply_to,
                thread_id=thread_id,
                media_group_id=group_id,
                **shown,
            )
            for kind, stored, item, shown in prepared
        ]
        return [self._render(m) for m in sent]

    def _source_message(self, p: _Params, missing: str) -> dict[str, Any]:
        source = self._chats.get(p.chat_id("from_chat_id"))
        if source is None:
            raise _bad("chat not found")
        original = source.messages.get(p.integer("message_id", required=True) or 0)
        if original is None or (isinstance(original, SentMessage) and original.deleted):
            raise _bad(missing)
        return self._api_message(original)

    def _copy_message(self, p: _Params) -> dict[str, Any]:
        chat, thread_id, reply_to = self._destination(p)
        content = self._content_of(self._source_message(p, "message to copy not found"))
        if "caption" in p.values and content["kind"] != "text":
            content |= {"caption": p.text("caption"), "parse_mode": p.text("parse_mode")}
            content |= _shown(p.caption())
        markup = p.reply_markup()
        self._admit(chat)
        message = self._store(
            chat,
            method="copyMessage",
            reply_markup=markup,
            reply_to_message_id=reply_to,
            thread_id=thread_id,
            **content,
        )
        return {"message_id": message.message_id}

    def _forward_message(self, p: _Params) -> dict[str, Any]:
        chat, thread_id, _ = self._destination(p)
        original = self._source_message(p, "message to forward not found")
        content = self._content_of(original)
        origin = {"type": "user", "sender_user": original["from"], "date": original["date"]}
        content["extra"] = content.get("extra", {}) | {"forward_origin": origin}
        self._admit(chat)
        message = self._store(chat, method="forwardMessage", thread_id=thread_id, **content)
        return self._render(message)

    def _send_chat_action(self, p: _Params) -> bool:
        chat = self._target_chat(p.chat_id())
        self._thread(chat, p.integer("message_thread_id"))
        if p.text("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    # --- Bot API: editing -------------------------------------------------------------------

    def _edit_message_text(self, p: _Params) -> dict[str, Any]:
        message = self._own_message(p)
        if message.kind != "text":
            raise _bad("there is no text in the message to edit")
        shown = _shown(p.formatted_text())
        markup = p.reply_markup(inline_only=True)
        self._check_modified(message, shown, markup)
        self._edit(message, text=p.text("text"), parse_mode=p.text("parse_mode"), reply_markup=markup, **shown)
        return self._render(message)

    def _edit_message_caption(self, p: _Params) -> dict[str, Any]:
        message = self._own_message(p)
        if message.kind == "text":
            raise _bad("there is no caption in the message to edit")
        shown = _shown(p.caption())
        markup = p.reply_markup(inline_only=True)
        self._check_modified(message, shown, markup)
        self._edit(
            message, caption=p.text("caption"), parse_mode=p.text("parse_mode"), reply_markup=markup, **shown
        )
        return self._render(message)

    def _edit_message_reply_markup(self, p: _Params) -> dict[str, Any]:
        message = self._own_message(p)
        markup = p.reply_markup(inline_only=True)
        self._check_modified(message, {"plain_text": message.plain_text, "entities": message.entities}, markup)
        self._edit(message, reply_markup=markup)
        return self._render(message)

    def _delete_message(self, p: _Params) -> bool:
        chat = self._known_chat(p.chat_id())
        message = chat.messages.get(p.integer("message_id", required=True) or 0)
        if message is None or (isinstance(message, SentMessage) and message.deleted):
            raise _bad("message to delete not found")
        self._remove(chat, message)
        return True

    def _delete_messages(self, p: _Params) -> bool:
        chat = self._known_chat(p.chat_id())
        if not 1 <= len(p.json("message_ids", list) or []) <= 100:
            raise _bad("MESSAGE_IDS_EMPTY" if not p.json("message_ids", list) else "too many message identifiers")
        for message_id in p.json("message_ids", list) or []:
            if (message := chat.messages.get(int(message_id))) is not None:
                self._remove(chat, message)
        return True

    def _answer_callback_query(self, p: _Params) -> bool:
        query_id = p.text("callback_query_id") or ""
        query = self._queries.get(query_id)
        if query is None or query.answered:
            raise _bad(_QUERY_INVALID)
        text = p.text("text")
        if text is not None and len(text) > CALLBACK_ANSWER_LIMIT:
            raise _bad("MESSAGE_TOO_LONG")
        query.answered = True
        answer = CallbackAnswer(
            query_id,
            text,
            p.flag("show_alert"),
            p.text("url"),
            p.integer("cache_time") or 0,
            query.data,
            query.user_id,
            query.message_id,
        )
        self.callback_answers.append(answer)
        return True

    # --- Bot API: chats, files, topics, pins ------------------------------------------------

    def _get_chat(self, p: _Params) -> dict[str, Any]:
        chat = self._known_chat(p.chat_id())
        gifts = dict.fromkeys(
            (
                "unlimited_gifts",
                "limited_gifts",
                "unique_gifts",
                "premium_subscription",
                "gifts_from_channels",
            ),
            False,
        )
        return chat.to_api() | {"accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}

    def _get_chat_member(self, p: _Params) -> dict[str, Any]:
        chat = self._known_chat(p.chat_id())
        user_id = p.integer("user_id", required=True)
        if user_id == self.bot.id:
            return self._member("member" if chat.user else "administrator", self.bot)
        user = self._users.get(user_id or 0)
        if user is None:
            raise _bad("PARTICIPANT_ID_INVALID")
        if chat.user is not None:
            return self._member("member" if chat.user is user else "left", user)
        return self._member(chat.members.get(user.id, "left"), user)

    def _group_of(self, p: _Params) -> Chat:
        chat = self._known_chat(p.chat_id())
        if chat.user is not None:
            raise _bad("method is available for supergroup and channel chats only")
        return chat

    def _ban_chat_member(self, p: _Params) -> bool:
        chat = self._group_of(p)
        user_id = p.integer("user_id", required=True) or 0
        if user_id == self.bot.id or chat.members.get(user_id) == "creator":
            raise _bad("can't remove chat owner" if user_id != self.bot.id else "can't ban self")
        self.user(user_id)
        chat.members[user_id] = "kicked"  # out of the group, and cannot join again until unbanned
        return True

    def _unban_chat_member(self, p: _Params) -> bool:
        chat = self._group_of(p)
        user_id = p.integer("user_id", required=True) or 0
        status = chat.members.get(user_id, "left")
        if status == "kicked" or (status != "left" and not p.flag("only_if_banned")):
            chat.members[user_id] = "left"  # like Telegram: without only_if_banned a member is removed too
        return True

    @staticmethod
    def _member(status: str, user: User) -> dict[str, Any]:
        member: dict[str, Any] = {"status": status, "user": user.to_api()}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "kicked":
            member["until_date"] = 0
        elif status == "administrator":
            member |= dict.fromkeys(_ADMIN_RIGHTS, True) | dict.fromkeys(_ADMIN_LACKS, False)
        return member

    def _get_file(self, p: _Params) -> dict[str, Any]:
        stored = self._files.get(p.text("file_id") or "")
        if stored is None:
            raise _bad("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _create_forum_topic(self, p: _Params) -> dict[str, Any]:
        chat = self._known_chat(p.chat_id())
        if not chat.is_forum:
            raise _bad("the chat is not a forum")
        name = p.text("name") or ""
        if not 1 <= len(name) <= 128:
            raise _bad("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_TOO_LONG")
        topic = ForumTopic(
            chat.next_message_id(),
            name,
            p.integer("icon_color") or _DEFAULT_TOPIC_COLOR,
            p.text("icon_custom_emoji_id"),
        )
        chat.topics[topic.message_thread_id] = topic
        chat.messages[topic.message_thread_id] = {
            "message_id": topic.message_thread_id,
            "from": self.bot.to_api(),
            "chat": chat.to_api(),
            "date": self._now(),
            "message_thread_id": topic.message_thread_id,
            "is_topic_message": True,
            "forum_topic_created": {"name": name, "icon_color": topic.icon_color},
        }
        return topic.to_api()

    def _topic(self, p: _Params) -> ForumTopic:
        chat = self._known_chat(p.chat_id())
        topic = chat.topics.get(p.integer("message_thread_id", required=True) or 0)
        if topic is None:
            raise _bad("TOPIC_ID_INVALID")
        return topic

    def _edit_forum_topic(self, p: _Params) -> bool:
        topic = self._topic(p)
        name, emoji = p.text("name"), p.text("icon_custom_emoji_id")
        if (name is None or name == topic.name) and (emoji is None or emoji == topic.icon_custom_emoji_id):
            raise _bad("TOPIC_NOT_MODIFIED")
        if name is not None:
            if not 1 <= len(name) <= 128:
                raise _bad("TOPIC_TITLE_EMPTY")
            topic.name = name
        if emoji is not None:
            topic.icon_custom_emoji_id = emoji or None
        return True

    def _set_topic_closed(self, closed: bool, p: _Params) -> bool:
        topic = self._topic(p)
        if topic.closed == closed:
            raise _bad("TOPIC_NOT_MODIFIED")
        topic.closed = closed
        return True

    def _delete_forum_topic(self, p: _Params) -> bool:
        topic = self._topic(p)
        self.delete_topic(p.chat_id(), topic.message_thread_id)
        return True

    def _pin_chat_message(self, p: _Params) -> bool:
        chat = self._target_chat(p.chat_id())
        message = chat.messages.get(p.integer("message_id", required=True) or 0)
        if message is None:
            raise _bad("message to pin not found")
        if isinstance(message, SentMessage):
            message.pinned = True
        return True

    def _unpin_chat_message(self, p: _Params) -> bool:
        chat = self._known_chat(p.chat_id())
        message_id = p.integer("message_id")
        pinned = [m for m in self.messages(chat.id) if m.pinned]
        for message in pinned if message_id is None else [m for m in pinned if m.message_id == message_id]:
            message.pinned = False
        return True

    def _unpin_all_chat_messages(self, p: _Params) -> bool:
        for message in self.messages(self._known_chat(p.chat_id()).id):
            message.pinned = False
        return True

    # --- helpers: validation ----------------------------------------------------------------

    def _known_chat(self, chat_id: int) -> Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise _bad("chat not found")
        return chat

    def _target_chat(self, chat_id: int) -> Chat:
        """A chat the bot may write to: private chats need a started, unblocked user."""
        chat = self._known_chat(chat_id)
        if chat.user is not None:
            if chat.user.blocked:
                raise ApiError(403, _BLOCKED)
            if not chat.user.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def _thread(self, chat: Chat, thread_id: int | None) -> int | None:
        if thread_id is None or (chat.is_forum and thread_id == 1):  # 1 = the General topic
            return None
        if chat.is_forum and thread_id in chat.topics:
            return thread_id
        raise _bad("message thread not found")

    def _destination(self, p: _Params) -> tuple[Chat, int | None, int | None]:
        """Chat, topic and reply target of a message the bot wants to send."""
        chat = self._target_chat(p.chat_id())
        thread_id = self._thread(chat, p.integer("message_thread_id"))
        params = p.json("reply_parameters", dict) or {}
        reply_to = params.get("message_id") or p.integer("reply_to_message_id")
        if reply_to is None:
            return chat, thread_id, None
        original = chat.messages.get(int(reply_to))
        if original is None or (isinstance(original, SentMessage) and original.deleted):
            if params.get("allow_sending_without_reply") or p.flag("allow_sending_without_reply"):
                return chat, thread_id, None
            raise _bad("message to be replied not found")
        if thread_id is None:  # a reply stays in the topic of the message it answers
            thread_id = _thread_of(original)
        return chat, thread_id, int(reply_to)

    def _admit(self, chat: Chat, count: int = 1) -> None:
        if self._limiter is not None:
            wait = self._limiter.acquire(chat.id, group=chat.user is None, count=count)
            if wait:
                raise _too_many(wait)

    @staticmethod
    def _check_modified(message: SentMessage, shown: dict[str, Any], markup: dict[str, Any] | None) -> None:
        """Telegram refuses an edit that changes nothing (a common source of noisy errors)."""
        if (shown["plain_text"], shown["entities"], markup) == (
            message.plain_text,
            message.entities,
            _inline(message),
        ):
            raise _bad(_NOT_MODIFIED)

    def _own_message(self, p: _Params) -> SentMessage:
        """The bot message an edit refers to (edits in a blocked chat fail like sends)."""
        if p.text("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")  # inline mode is not emulated
        chat = self._target_chat(p.chat_id())
        message = chat.messages.get(p.integer("message_id", required=True) or 0)
        if message is None or (isinstance(message, SentMessage) and message.deleted):
            raise _bad("message to edit not found")
        if not isinstance(message, SentMessage):
            raise _bad("message can't be edited")
        return message

    # --- helpers: files ---------------------------------------------------------------------

    def _input_file(self, p: _Params, kind: str, value: Any, *, field_name: str | None = None) -> StoredFile:
        """Resolve a file parameter: an upload ("attach://name" or the field itself), a file_id or a URL."""
        upload = None
        if isinstance(value, str) and value.startswith("attach://"):
            upload = p.uploads.get(value.removeprefix("attach://"))
            if upload is None:
                raise _bad(_WRONG_FILE)
        elif value is None and field_name is not None:
            upload = p.uploads.get(field_name)
            if upload is None:
                raise _bad(f"there is no {kind} in the request")
        if upload is not None:
            if not upload.data:
                raise _bad("file must be non-empty")
            meta = {k: p.integer(k) for k in ("duration", "width", "height") if p.integer(k)}
            return self._store_file(kind, upload.data, upload.filename, upload.content_type, **meta)
        if not isinstance(value, str) or not value:
            raise _bad(f"there is no {kind} in the request")
        if re.match(r"https?://", value):
            return self._store_file(kind, b"", PurePosixPath(value).name or kind, None, url=value)
        stored = self._files.get(value)
        if stored is None:
            raise _bad(_WRONG_FILE)
        if stored.kind != kind:
            raise _bad(f"can't use file of type {stored.kind.title()} as {kind.title()}")
        return stored

    def _store_file(
        self, kind: str, data: bytes, file_name: str | None, mime_type: str | None, **meta: Any
    ) -> StoredFile:
        number = next(self._file_ids)
        suffix = PurePosixPath(file_name or "").suffix
        if kind in ("photo", "sticker", "animation") and "width" not in meta:
            meta["width"], meta["height"] = _image_size(data)
        stored = StoredFile(
            file_id=f"sandbox-{kind}-{number:06d}",
            file_unique_id=f"u{number:06d}",
            kind=kind,
            data=data,
            file_path=f"{kind}s/file_{number}{suffix}",
            file_name=file_name,
            mime_type=mime_type,
            **meta,
        )
        self._files[stored.file_id] = stored
        self._file_paths[stored.file_path] = stored
        return stored

    # --- helpers: the message store ---------------------------------------------------------

    def _now(self) -> int:
        return int(self._wall_clock())

    def _store(self, chat: Chat, **fields: Any) -> SentMessage:
        self._revision += 1
        message = SentMessage(
            message_id=chat.next_message_id(),
            chat_id=chat.id,
            date=self._now(),
            revision=self._revision,
            **fields,
        )
        chat.messages[message.message_id] = message
        self._signal.notify()
        return message

    def _edit(self, message: SentMessage, **changes: Any) -> None:
        snapshot = {k: getattr(message, k) for k in ("text", "caption", "plain_text", "entities", "reply_markup")}
        message.history.append(snapshot)
        for key, value in changes.items():
            setattr(message, key, value)
        self._revision += 1
        message.edits += 1
        message.edit_date = self._now()
        message.revision = self._revision
        self._signal.notify()

    def _remove(self, chat: Chat, message: SentMessage | dict[str, Any]) -> None:
        if isinstance(message, SentMessage):
            message.deleted = True
            self._revision += 1
            self._signal.notify()
        else:
            chat.messages.pop(message["message_id"], None)

    def _api_message(self, message: SentMessage | dict[str, Any], *, with_reply: bool = True) -> dict[str, Any]:
        return self._render(message, with_reply=with_reply) if isinstance(message, SentMessage) else message

    def _render(self, message: SentMessage, *, with_reply: bool = True) -> dict[str, Any]:
        """The API Message object for a bot message, as aiogram will parse it."""
        chat = self._chats[message.chat_id]
        out: dict[str, Any] = {
            "message_id": message.message_id,
            "from": self.bot.to_api(),
            "chat": chat.to_api(),
            "date": message.date,
        }
        if message.thread_id is not None:
            out |= {"message_thread_id": message.thread_id, "is_topic_message": True}
        original = chat.messages.get(message.reply_to_message_id or 0)
        if with_reply and original is not None:
            out["reply_to_message"] = self._api_message(original, with_reply=False)
        if message.edit_date is not None:
            out["edit_date"] = message.edit_date
        if message.media_group_id:
            out["media_group_id"] = message.media_group_id
        if message.kind == "text":
            out["text"] = message.plain_text
            if message.entities:
                out["entities"] = message.entities
        elif message.file is not None:
            out[message.kind] = message.file.to_api(message.kind)
            if message.plain_text:
                out["caption"] = message.plain_text
                if message.entities:
                    out["caption_entities"] = message.entities
        out |= message.extra
        if inline := _inline(message):
            out["reply_markup"] = inline
        return out

    def _content_of(self, message: dict[str, Any]) -> dict[str, Any]:
        """SentMessage fields that reproduce an API message's content (for copy/forward)."""
        if "text" in message:
            text = message["text"]
            return {"kind": "text", "text": text, "plain_text": text, "entities": message.get("entities", [])}
        for kind in _FILE_KINDS:
            if kind in message:
                item = message[kind][-1] if kind == "photo" else message[kind]
                return {
                    "kind": kind,
                    "file": self._files[item["file_id"]],
                    "caption": message.get("caption"),
                    "plain_text": message.get("caption"),
                    "entities": message.get("caption_entities", []),
                }
        for kind in ("contact", "location", "venue", "dice", "poll"):
            if kind in message:
                return {"kind": kind, "extra": {kind: message[kind]}}
        raise _bad("message can't be copied")

    # --- helpers: injection -----------------------------------------------------------------

    def _group(self, chat_id: int) -> Chat:
        chat = self._chats.get(chat_id)
        if chat is None or chat.user is not None:
            raise ValueError(f"unknown group {chat_id}; register it with emu.group()")
        return chat

    def _chat_of(self, user: User, chat_id: int | None) -> Chat:
        """The chat a user writes in: their private chat, or a registered group (joining it)."""
        if chat_id is None or chat_id == user.id:
            return self._chats[user.id]
        chat = self._group(chat_id)
        chat.members.setdefault(user.id, "member")
        return chat

    def _media_update(
        self,
        user_id: int,
        stored: StoredFile,
        caption: str | None,
        chat_id: int | None,
        reply_to_message_id: int | None,
        message_thread_id: int | None,
    ) -> dict[str, Any]:
        user = self.user(user_id)
        content: dict[str, Any] = {stored.kind: stored.to_api()}
        if caption:
            content["caption"] = caption
        chat = self._chat_of(user, chat_id)
        return self._user_message(user, chat, content, reply_to_message_id, message_thread_id)

    def _user_message(
        self,
        user: User,
        chat: Chat,
        content: dict[str, Any],
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> dict[str, Any]:
        if chat.user is not None:
            user.started = True
        message: dict[str, Any] = {"message_id": chat.next_message_id(), "from": user.to_api()}
        message |= {"chat": chat.to_api(), "date": self._now()}
        if reply_to_message_id is not None:
            original = chat.messages.get(reply_to_message_id)
            if original is None:
                raise ValueError(f"no message {reply_to_message_id} in chat {chat.id} to reply to")
            message["reply_to_message"] = self._api_message(original, with_reply=False)
            if message_thread_id is None:
                message_thread_id = _thread_of(original)
        if message_thread_id is not None:
            if message_thread_id not in chat.topics:
                raise ValueError(f"no topic {message_thread_id} in chat {chat.id}")
            message |= {"message_thread_id": message_thread_id, "is_topic_message": True}
        message |= content
        chat.messages[message["message_id"]] = message
        return self.push_update({"message": message})

    # --- re-delivery and forged presses (tests of exactly-once handling and of hostile input) -------

    def on_delivered(self, callback: Callable[[int], None] | None) -> None:
        """Webhook mode: call ``callback(update_id)`` whenever a POST carrying an update returned 200
        (benchmarks wait for thousands of updates without a predicate each)."""
        self._updates.on_delivered = callback

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates Telegram still holds for the bot: not yet confirmed by a getUpdates offset or a webhook POST."""
        return list(self._updates.pending)

    async def redeliver(self, update: dict[str, Any], timeout: float = 5.0) -> None:
        """Send a copy of an update again (as Telegram may, after a webhook POST failed or timed out) and wait
        until the bot took it."""
        update_id = update["update_id"]
        self._updates.requeue(update)
        try:
            await self._signal.wait_for(
                lambda: all(u["update_id"] != update_id for u in self._updates.pending), timeout
            )
        except TimeoutError:
            raise TimeoutError(f"the re-delivered update {update_id} was not taken within {timeout}s") from None

    def forge_button_press(
        self, user_id: int, message_id: int, callback_data: str, chat_id: int | None = None
    ) -> dict[str, Any]:
        """A callback query with any data, as a modified client can send: no check that the button exists."""
        user = self.user(user_id)
        chat = self._chat_of(user, chat_id)
        message = chat.messages.get(message_id)
        if not isinstance(message, SentMessage):
            raise ValueError(f"no bot message {message_id} in chat {chat.id}")
        return self._push_press(user, chat, message, callback_data)

    def _push_press(self, user: User, chat: Chat, message: SentMessage, callback_data: str) -> dict[str, Any]:
        """The callback query a press of `message`'s button sends (real or forged data)."""
        query_id = f"{next(self._query_ids)}{secrets.randbelow(10**6):06d}"
        self._queries[query_id] = _Query(user.id, message.message_id, callback_data)
        query = {
            "id": query_id,
            "from": user.to_api(),
            "message": self._render(message),
            "chat_instance": str(abs(hash((chat.id, self.bot.id))) % 10**18),
            "data": callback_data,
        }
        return self.push_update({"callback_query": query})


def _shown(formatted: Formatted | None) -> dict[str, Any]:
    """SentMessage fields for what the user sees of a text or caption."""
    if formatted is None:
        return {"plain_text": None, "entities": []}
    return {"plain_text": formatted.text, "entities": formatted.entities}


def _thread_of(message: SentMessage | dict[str, Any]) -> int | None:
    return message.thread_id if isinstance(message, SentMessage) else message.get("message_thread_id")


def _inline(message: SentMessage) -> dict[str, Any] | None:
    """Only inline keyboards belong to a message (reply keyboards belong to the chat)."""
    markup = message.reply_markup
    return markup if markup is not None and "inline_keyboard" in markup else None
