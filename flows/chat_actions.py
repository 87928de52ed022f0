"""Things the bot does in a chat that are not messages: deleting messages, renaming or deleting a forum
topic, removing a member. Queued in the outbox like messages (outbox kind `chat_action`), so they are
durable, committed with the change that causes them, paced with the chat's messages and done once.

The sender hands a row of this kind to a `ChatActions` executor (bot/chat_actions.py implements it with
aiogram) instead of the messenger; the outcome is a `DeliveryResult` like a message's, so retrying,
giving up and "unknown after a crash" work the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

from flows.messenger import DeliveryResult
from storage.outbox import NewMessage

ACTION_KIND = "chat_action"
DELETE_BATCH = 100  # deleteMessages takes at most 100 ids


class ChatActions(Protocol):
    async def perform(self, chat_id: int, action: dict[str, Any]) -> DeliveryResult:
        """Do one queued action and classify the outcome; never raises for Telegram's answers."""
        ...


def delete_messages(message_ids: list[int]) -> Iterator[dict[str, Any]]:
    """Actions deleting these messages, at most 100 per call."""
    ids = sorted(set(message_ids))
    for start in range(0, len(ids), DELETE_BATCH):
        yield {"action": "delete_messages", "message_ids": ids[start : start + DELETE_BATCH]}


def rename_topic(thread_id: int, name: str) -> dict[str, Any]:
    return {"action": "rename_topic", "thread_id": thread_id, "name": name[:128]}


def delete_topic(thread_id: int) -> dict[str, Any]:
    return {"action": "delete_topic", "thread_id": thread_id}


def remove_member(user_id: int) -> dict[str, Any]:
    """Out of the group, yet free to be invited again (a ban lifted at once)."""
    return {"action": "remove_member", "user_id": user_id}


def action_row(key: str, chat_id: int, action: dict[str, Any], now: datetime) -> NewMessage:
    """The outbox row for an action: transactional (no opt-out, quiet hours or budget apply)."""
    return NewMessage(key=key, chat_id=chat_id, kind=ACTION_KIND, payload=action, due_at=now, transactional=True)
