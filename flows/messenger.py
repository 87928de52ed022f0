"""The port through which flows send messages; `bot/messenger.py` implements it with aiogram."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol


@dataclass(frozen=True)
class Button:
    text: str
    url: str | None = None
    data: str | None = None  # callback data, ≤ 64 bytes


@dataclass(frozen=True)
class Outgoing:
    """A rendered message: HTML text (a caption when there is a photo) and inline buttons."""

    text: str
    photo: str | None = None  # a file path, an URL or a Telegram file_id
    buttons: list[list[Button]] = field(default_factory=list)

    def to_payload(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "photo": self.photo,
            "buttons": [[{"text": b.text, "url": b.url, "data": b.data} for b in row] for row in self.buttons],
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Outgoing:
        rows = [[Button(**button) for button in row] for row in payload.get("buttons") or []]
        return cls(text=payload["text"], photo=payload.get("photo"), buttons=rows)


class Delivery(Enum):
    SENT = "sent"
    RETRY_AFTER = "retry_after"  # Telegram asked us to slow down
    BLOCKED = "blocked"  # the customer blocked the bot or deleted the account
    REJECTED = "rejected"  # a 400: chat not found, bad content — retrying will not help
    TRANSIENT = "transient"  # network trouble or a 5xx: worth retrying


@dataclass(frozen=True)
class DeliveryResult:
    status: Delivery
    message_id: int | None = None
    retry_after: float = 0.0
    error: str | None = None


class Messenger(Protocol):
    async def deliver(self, chat_id: int, message: Outgoing) -> DeliveryResult:
        """Send one message and classify the outcome; never raises for Telegram's answers."""
        ...
