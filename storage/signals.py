"""Telling every process that something it keeps in memory changed in the database.

Several bot processes may share one PostgreSQL database (webhook mode behind a load balancer: any process
gets any update, the owner's console may be served by any of them). A few things are kept in memory
because they are read on every update and change rarely: the staff's roles, the running content, what the
FAQ was taught, the managers' chat id. The process that changes one of them updates its own memory at
once; the others learn it from a *signal*: a topic name (`STAFF`, `CONTENT`…) published with the change.

- A change made in a write transaction signals from inside it (`Tx.notify`): on PostgreSQL that is
  ``pg_notify``, which the server delivers when, and only if, the transaction commits — so no process can
  hear of a change before it can read it, and a change cannot commit without its signal (a crash after
  the commit loses nothing). A change written outside our transactions publishes after it (`publish`).
- Each process listens on one dedicated connection (`storage.postgres_signals`) and runs the callbacks
  subscribed to a topic one after another, in the order the changes committed. A callback re-reads what
  it keeps from the database, so it does not matter how many signals it hears, or that it hears its own.
- When the listening connection is lost — closed, or deaf without closing, which a heartbeat notices —
  signals sent meanwhile are lost with it: on reconnecting, every topic is treated as changed (every
  callback runs once), which is what a restart would have done.

SQLite is one process (the file has one writer), so signals go nowhere: `LocalSignals` runs no callback,
the process that made a change has already updated itself.

Where a signal is too late — between a commit in one process and the callback in another there are a few
milliseconds — the edge re-reads the database instead (the console reads the person's role per request).
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

CHANNEL = "nurture_bot"  # the one PostgreSQL channel; the payload is the topic

# The topics, one per thing kept in memory.
STAFF = "staff"  # hires, role changes, revokes (flows/staff.py's roles)
CONTENT = "content"  # a new content version (flows/content_edits.py switches to it)
FAQ_TEACHING = "faq_teaching"  # learned phrasings and the owner's entries (flows/faq_teaching.py)
MANAGER_CHAT = "manager_chat"  # the managers' group moved to a new id (bot/app.py)

Callback = Callable[[], Awaitable[None]]


class Signals(ABC):
    """Subscribe to topics, publish a topic; `start` once every subscription is made."""

    def __init__(self) -> None:
        self._callbacks: dict[str, list[Callback]] = {}

    def subscribe(self, topic: str, callback: Callback) -> None:
        """Run `callback()` whenever another process (or this one) signals `topic`, and after a reconnect."""
        self._callbacks.setdefault(topic, []).append(callback)

    @abstractmethod
    async def publish(self, topic: str) -> None:
        """Signal `topic` to every process, for a change that is already committed."""

    @abstractmethod
    async def start(self) -> None:
        """Begin running callbacks (signals heard since the hub was opened are not lost: they run now)."""

    @abstractmethod
    async def settled(self) -> None:
        """Wait until every signal committed before this call was heard and its callbacks ran (for tests,
        and for a caller that must see another process's change at once)."""

    @abstractmethod
    async def close(self) -> None:
        """Stop listening."""

    async def _run(self, topic: str) -> None:
        """Every callback of `topic`, each isolated: one that fails is logged and the others still run."""
        for callback in self._callbacks.get(topic, ()):
            try:
                await callback()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("signal %r: %s failed", topic, getattr(callback, "__qualname__", callback))

    async def _run_all(self) -> None:
        for topic in list(self._callbacks):
            await self._run(topic)


class LocalSignals(Signals):
    """One process (SQLite): whoever changes something updates itself; there is nobody else to tell."""

    async def publish(self, topic: str) -> None:
        return None

    async def start(self) -> None:
        return None

    async def settled(self) -> None:
        return None

    async def close(self) -> None:
        return None
