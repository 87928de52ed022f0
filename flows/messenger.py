"""The port through which flows send messages; `bot/messenger.py` implements it with aiogram."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Protocol

from flows.markup import Html, trusted


@dataclass(frozen=True)
class Button:
    text: str
    url: str | None = None
    data: str | None = None  # callback data, ≤ 64 bytes


_NO_TEXT = Html()


@dataclass(frozen=True)
class Outgoing:
    """A rendered message: HTML text (a caption when there is a photo) and inline buttons.

    Or a copy of a message someone sent (`copy_chat_id`/`copy_message_id`): how a customer's photo
    reaches the managers and a manager's voice note reaches the customer. `thread_id` posts in a forum
    topic; `reply_to` answers a message, `reply_to_outbox` the message another outbox row became.
    """

    text: Html = _NO_TEXT
    photo: str | None = None  # a file path, an URL or a Telegram file_id
    video: str | None = None  # a Telegram file_id (or URL); the text is its caption
    buttons: list[list[Button]] = field(default_factory=list)
    copy_chat_id: int | None = None
    copy_message_id: int | None = None
    thread_id: int | None = None
    reply_to: int | None = None
    reply_to_outbox: int | None = None

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "text": self.text,
            "photo": self.photo,
            "buttons": [[{"text": b.text, "url": b.url, "data": b.data} for b in row] for row in self.buttons],
        }
        for name in ("video", "copy_chat_id", "copy_message_id", "thread_id", "reply_to", "reply_to_outbox"):
            if getattr(self, name) is not None:
                payload[name] = getattr(self, name)
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Outgoing:
        rows = [[Button(**button) for button in row] for row in payload.get("buttons") or []]
        return cls(
            text=trusted(payload.get("text") or ""),  # rendered by the bot before it was queued
            photo=payload.get("photo"),
            video=payload.get("video"),
            buttons=rows,
            copy_chat_id=payload.get("copy_chat_id"),
            copy_message_id=payload.get("copy_message_id"),
            thread_id=payload.get("thread_id"),
            reply_to=payload.get("reply_to"),
            reply_to_outbox=payload.get("reply_to_outbox"),
        )

    def replying_to(self, message_id: int | None) -> Outgoing:
        """The same message answering `message_id` (resolved from `reply_to_outbox` at send time)."""
        return replace(self, reply_to=message_id, reply_to_outbox=None)


class Delivery(Enum):
    """What became of one message; `bot/messenger.py` decides this, and only there."""

    SENT = "sent"
    RETRY_AFTER = "retry_after"  # Telegram asked for a pause longer than the outbound layer waits
    BLOCKED = "blocked"  # the customer blocked the bot or deleted the account
    REJECTED = "rejected"  # a 4xx: chat not found, bad content — retrying will not help
    TRANSIENT = "transient"  # not taken (connection refused, DNS, a 5xx answer): safe to send again
    UNKNOWN = "unknown"  # it may have reached Telegram (timeout or reset after sending, an unreadable answer)
    MIGRATED = "migrated"  # the group became a supergroup: send to `new_chat_id` instead
    STOPPED = "stopped"  # the token was revoked (401) or another instance runs (409): stop sending


@dataclass(frozen=True)
class DeliveryResult:
    status: Delivery
    message_id: int | None = None
    retry_after: float = 0.0
    error: str | None = None
    new_chat_id: int | None = None


class Messenger(Protocol):
    async def deliver(self, chat_id: int, message: Outgoing) -> DeliveryResult:
        """Send one message and classify the outcome; never raises for Telegram's answers."""
        ...
