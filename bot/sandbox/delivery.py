"""Webhook delivery as Telegram does it: up to ``max_connections`` POSTs at once, one per chat, retried on failure.

Telegram opens at most ``max_connections`` connections to a webhook and keeps each chat's updates in
order: a chat's next update waits until the POST carrying its previous one returned. A POST that failed
(a connection error or any status but 200) is sent again later, with a growing pause, until it succeeds
or the webhook is removed; the chat's later updates wait behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Protocol

log = logging.getLogger(__name__)

# Pauses before the 1st, 2nd, ... retry of one update; the last one repeats. Real seconds: only the
# emulator waits, never a test's clock.
RETRY_DELAYS = (0.05, 0.1, 0.25, 0.5, 1.0)

Update = dict[str, Any]


class Hook(Protocol):
    max_connections: int


class Queue(Protocol):
    """What delivery needs of the emulator's update queue."""

    changed: asyncio.Event

    @property
    def pending(self) -> list[Update]: ...

    def delivered(self, update: Update) -> None: ...

    def attempted(self, update_id: int) -> None: ...


def chat_key(update: Update) -> int | None:
    """The chat an update belongs to (its order is kept per chat); None for updates without one."""
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        chat = value.get("chat") or (value.get("message") or {}).get("chat")
        if isinstance(chat, dict) and "id" in chat:
            return int(chat["id"])
        sender = value.get("from")
        if isinstance(sender, dict) and "id" in sender:
            return int(sender["id"])
    return None


class WebhookDelivery:
    """Runs until cancelled: takes pending updates off ``queue`` and POSTs them through ``post``."""

    def __init__(
        self,
        queue: Queue,
        hook: Callable[[], Hook | None],
        post: Callable[[Hook, Update], Awaitable[bool]],
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        self._queue = queue
        self._hook = hook
        self._post = post
        self._delays = tuple(retry_delays) or (0.0,)
        self._flying: dict[int, object] = {}  # id(update) -> its chat key, while its POST is out
        self._failures: dict[int, tuple[int, float]] = {}  # id(update) -> (failed POSTs, next try at)
        self._tasks: set[asyncio.Task[None]] = set()
        self.peak_connections = 0

    @property
    def in_flight(self) -> int:
        """POSTs out right now."""
        return len(self._flying)

    async def run(self) -> None:
        """Deliver forever; cancelling it cancels the POSTs in flight (their updates stay pending)."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                self._queue.changed.clear()
                hook = self._hook()
                if hook is not None:
                    for update in self._ready(loop.time(), max(1, hook.max_connections)):
                        self._launch(hook, update)
                await self._sleep(loop.time())
        finally:
            for task in self._tasks:
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def _ready(self, now: float, limit: int) -> Iterator[Update]:
        """Pending updates that may go now: the first of their chat, not waiting for a retry, within the limit."""
        pending = list(self._queue.pending)
        if self._failures:  # forget the failures of updates no longer pending (dropped, delivered twice)
            ids = {id(u) for u in pending}
            self._failures = {k: v for k, v in self._failures.items() if k in ids}
        busy = set(self._flying.values())
        for update in pending:
            if len(self._flying) >= limit:
                return
            key: object = chat_key(update)
            if key is None:
                key = ("update", id(update))
            if key in busy:
                continue
            busy.add(key)  # taken or not, the chat's later updates wait behind this one
            failure = self._failures.get(id(update))
            if failure is None or failure[1] <= now:
                self._flying[id(update)] = key
                yield update

    def _launch(self, hook: Hook, update: Update) -> None:
        task = asyncio.create_task(self._deliver(hook, update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self.peak_connections = max(self.peak_connections, len(self._flying))

    async def _deliver(self, hook: Hook, update: Update) -> None:
        try:
            ok = await self._post(hook, update)
        except Exception:  # counted as a failed POST: retried, never a delivery loop waiting for nothing
            log.exception("webhook delivery: the POST of update %s failed unexpectedly", update.get("update_id"))
            ok = False
        finally:
            self._flying.pop(id(update), None)
        if ok:
            self._failures.pop(id(update), None)
            self._queue.delivered(update)
        else:
            count = self._failures.get(id(update), (0, 0.0))[0]
            delay = self._delays[min(count, len(self._delays) - 1)]
            self._failures[id(update)] = (count + 1, asyncio.get_running_loop().time() + delay)
            self._queue.attempted(update["update_id"])

    async def _sleep(self, now: float) -> None:
        """Until the queue changes or the earliest retry is due."""
        waiting = [at for at in (f[1] for f in self._failures.values()) if at > now]
        timeout = min(waiting) - now if waiting else None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._queue.changed.wait()
