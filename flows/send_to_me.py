""" "Send to me": a message as customers will get it, sent to the person trying it, through the outbox.

The outbox is the one way out for messages the bot sends on its own, so a try reaches the owner exactly
as the bot would deliver it (the same messenger, the same per-chat pacing, photos the same way). Quiet
hours and the contact budget do not apply — they protect customers from the bot, and this is the owner
asking for a message now — so the row is transactional and names no customer. Its key is the form's
one-time key with the message's digest: a double click queues one message, a changed message another.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets

from flows.clock import Clock
from flows.messenger import Outgoing
from storage.outbox import NewMessage, OutboxRepo

KIND = "preview"
_FORM_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_form_key() -> str:
    """A fresh one-time key for a form that can send to me."""
    return secrets.token_urlsafe(16)


class SendToMe:
    def __init__(self, outbox: OutboxRepo, clock: Clock) -> None:
        self.outbox = outbox
        self.clock = clock

    async def send(self, tg_id: int, message: Outgoing, form_key: str) -> bool:
        """Queue `message` for `tg_id`'s chat with the bot; False when this form sent this message already.

        A form key that is not one of ours (missing, odd) gets a fresh one: that send is not deduplicated."""
        key = form_key if _FORM_KEY.match(form_key) else new_form_key()
        payload = message.to_payload()
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        now = self.clock.now()
        row = NewMessage(
            key=f"preview:{tg_id}:{key}:{digest[:24]}",
            chat_id=tg_id,
            kind=KIND,
            payload=payload,
            due_at=now,
            transactional=True,  # no quiet hours, no contact budget: the owner asked for it now
        )
        return await self.outbox.enqueue(row, now)
