"""/forget: erase a customer from the database and clean up what the bot posted about them in Telegram.

One transaction erases every personal trace (storage/forgetting.py) and queues, through the outbox, the
Telegram calls that remove what the managers' chat and staff chats got about the person: the messages the
bot posted (lead card, copies of what they wrote, notes, reminders, notices) and the managers' replies
relayed to them are deleted; their forum topic is renamed to an anonymous "Customer #4821" at once and
then deleted with everything in it. Each is a separate call, so what Telegram refuses (a message older
than 48 hours, a missing admin right) does not stop the rest; the rename alone already takes the name off
the topic. Then the write-ahead log is emptied, so the erased bytes stay in no file (with `secure_delete`
SQLite zeroes freed space). Purchases stay, on the anonymous row, for the figures.

A message about them that the sender was sending at that very moment gets its Telegram id only when that
send ends: `forget` waits for the sender's drain and queues its deletion too (a crash in those seconds
would leave that one message in Telegram; the database is clean either way).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from flows.chat_actions import action_row, delete_messages, delete_topic, rename_topic
from flows.clock import Clock
from storage.customers import Customer
from storage.db import Database
from storage.forgetting import Traces, erase, erase_outbox, traces_of
from storage.outbox import NewMessage, enqueue


def anonymous_title() -> str:
    """A topic title that names no one and cannot be traced back (a random number, not the customer id)."""
    return f"Customer #{1000 + secrets.randbelow(9000)}"


def cleanup(customer_id: int, traces: Traces, now: datetime, part: str = "delete") -> list[NewMessage]:
    """The queued Telegram calls that remove the customer from staff chats, in the order they should run."""
    rows: list[NewMessage] = []
    for chat_id, thread_id in traces.topics:
        rows.append(
            action_row(
                f"forget:{customer_id}:{chat_id}:rename", chat_id, rename_topic(thread_id, anonymous_title()), now
            )
        )
    for chat_id, message_ids in sorted(traces.posted.items()):
        for n, action in enumerate(delete_messages(list(message_ids))):
            rows.append(action_row(f"forget:{customer_id}:{chat_id}:{part}:{n}", chat_id, action, now))
    for chat_id, thread_id in traces.topics:
        rows.append(action_row(f"forget:{customer_id}:{chat_id}:topic", chat_id, delete_topic(thread_id), now))
    return rows


@dataclass
class Forgetting:
    db: Database
    clock: Clock
    # Waits until the sender's current drain is over (Sender.wait_idle): a message about the customer that
    # was on its way at the moment of forgetting gets its Telegram id only then, and is deleted after.
    sender_idle: Callable[[], Awaitable[None]] | None = None

    async def forget(self, customer: Customer) -> None:
        """Delete the customer's personal data everywhere, keeping anonymous purchase figures.

        If they write again they are a new person: a new record, no purchases, no points, and no marketing
        until they send /start (see `Customers.seen`: a record made by anything else starts opted out).
        """
        now = self.clock.now()
        async with self.db.transaction() as tx:
            traces = await traces_of(tx, customer.id)
            for row in cleanup(customer.id, traces, now):
                await enqueue(tx, row, now)
            await erase(tx, customer.id, now)
        if traces.in_flight and self.sender_idle is not None:
            await self.sender_idle()
            await self._after_the_drain(customer.id, traces, now)
        await self.db.wipe_log()

    async def _after_the_drain(self, customer_id: int, before: Traces, now: datetime) -> None:
        """Sends that were under way have ended: delete what they posted about the customer, and scrub what
        they left (a "not delivered" notice is queued from the payload the sender held in memory)."""
        async with self.db.transaction() as tx:
            after = await traces_of(tx, customer_id)
            late = Traces(
                posted={chat: ids - before.posted.get(chat, set()) for chat, ids in after.posted.items()}
            )
            for row in cleanup(customer_id, late, now, part="late"):
                await enqueue(tx, row, now)
            await erase_outbox(tx, customer_id)
