"""Long polling that confirms an update to Telegram only once it has been handled.

Telegram forgets an update when getUpdates is called with an offset above its id. aiogram's own loop
(with `handle_as_tasks=True`) moves the offset as soon as it has *started* the batch, so a crash while
handlers run loses those updates for good. Here the offset sent is the lowest update id still being
handled: after a crash Telegram delivers the unfinished ones again, and their processed marks
(`storage.db.handling`) make the replay of any that did finish harmless.

Updates are handled concurrently (at most `concurrency` at once), one after another within a chat, each
by `Dispatcher.feed_update`. Updates fetched again while still in flight (or just handled) are skipped.

Telegram can only hand out the 100 updates after the offset, so one slow update would hide everything
behind it. An update that has held back the offset for `park_after` seconds is therefore *parked*: its
JSON is kept in the database (kv) and the offset moves past it; a parked update that has not finished
when the process dies is handled at the next start. An update still not handled after `update_timeout`
seconds is cancelled, logged and given up, so a handler that never returns cannot stall the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramConflictError
from aiogram.methods import GetUpdates
from aiogram.types import Update
from aiogram.utils.backoff import Backoff, BackoffConfig

from flows.clock import Clock
from storage.kv import KvRepo

log = logging.getLogger(__name__)

PARKED_KEY = "polling:parked"
POLL_SECONDS = 25
BATCH = 100
WATCH_SECONDS = 0.05  # how often (real time) the watchdog looks for slow and stuck updates
BACKOFF = BackoffConfig(min_delay=1.0, max_delay=30.0, factor=1.5, jitter=0.1)


class RawGetUpdates(GetUpdates):
    """getUpdates whose answer stays JSON. While updates are in flight the offset stays behind them, so
    Telegram hands them back on every fetch; building `Update` models only for the new ones keeps a fetch's
    cost at a JSON decode instead of a pydantic model per update in flight."""

    __returning__ = list[dict[str, Any]]  # type: ignore[assignment]


@dataclass
class PollingLimits:
    concurrency: int = 64
    update_timeout: float = 120.0  # clock seconds one update may take before it is given up
    park_after: float = 1.0  # clock seconds an update may hold back the offset before it is parked
    max_tracked: int = 1000  # fetched but unfinished updates; no more are fetched beyond this


@dataclass
class _Tracked:
    update: Update
    fetched_at: float
    task: asyncio.Task[None] | None = None
    started_at: float | None = None
    timed_out: bool = False


def chat_key(update: Update) -> int | None:
    """The chat whose updates must be handled in order (None: no order needed).

    Button presses are not queued behind their chat: ten impatient taps on one button must meet while
    the first is handled, so that `SamePressMiddleware` answers the other nine at once instead of each
    acting again after the one before. Every other update (messages above all) keeps its chat's order.
    """
    if update.callback_query is not None:
        return None
    event = update.event
    chat = getattr(event, "chat", None)
    if chat is not None:
        return int(chat.id)
    user = getattr(event, "from_user", None)
    return int(user.id) if user is not None else None


@dataclass
class Poller:
    """getUpdates in a loop; run() until stop()."""

    dp: Dispatcher
    bot: Bot
    kv: KvRepo
    clock: Clock
    limits: PollingLimits = field(default_factory=PollingLimits)
    _tracked: dict[int, _Tracked] = field(default_factory=dict)
    _done: set[int] = field(default_factory=set)  # handled ids Telegram may still hand out again
    _parked: dict[int, str] = field(default_factory=dict)
    _parked_saved: bool = True
    _safe: set[int] = field(default_factory=set)  # parked and saved: the offset may move past these
    _fatal: BaseException | None = None
    _tails: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    _seen: int = 0
    _confirmed: int = 0
    _sent: int | None = None  # the offset of the last getUpdates sent (Telegram applies it on arrival)
    _stopping: bool = False
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _fetch: asyncio.Task[list[dict[str, Any]]] | None = None
    _slots: asyncio.Semaphore | None = None
    _allowed: list[str] = field(default_factory=list)  # the update types the routers handle

    async def run(self) -> None:
        self._slots = asyncio.Semaphore(self.limits.concurrency)
        await self.dp.emit_startup(bot=self.bot, **self._workflow())
        watchdog = asyncio.create_task(self._watch())
        try:
            await self._resume_parked()
            await self._poll_until_stopped()
        finally:
            watchdog.cancel()
        if self._fatal is not None:
            raise self._fatal  # the process is going down: nothing more is confirmed
        await self._finish()
        await self.dp.emit_shutdown(bot=self.bot, **self._workflow())

    def stop(self) -> None:
        """Stop fetching; updates in flight finish (run() waits for them) and are confirmed."""
        self._stopping = True
        self._changed.set()
        if self._fetch is not None:
            self._fetch.cancel()

    # --- fetching -------------------------------------------------------------------------------

    def offset(self) -> int | None:
        """The lowest update id not yet handled (and not parked); None before the first update."""
        waiting = [i for i in self._tracked if i not in self._safe]
        if waiting:
            return min(waiting)
        return self._seen + 1 if self._seen else None

    async def _poll_until_stopped(self) -> None:
        backoff = Backoff(BACKOFF)
        failing: str | None = None
        # The routers are fixed once polling starts: walking them for every request cost 0.2 ms an update.
        self._allowed = self.dp.resolve_used_update_types()
        while not self._stopping:
            if len(self._tracked) - len(self._safe) >= self.limits.max_tracked:
                await self._wait_for_change(1.0)
                continue
            self._changed.clear()
            blocked = self.offset() is not None and self.offset() in self._tracked
            try:
                updates = await self._get_updates(0 if blocked else POLL_SECONDS)
            except asyncio.CancelledError:
                if self._stopping:
                    return
                raise
            except Exception as error:  # Telegram unreachable or refusing: retry, never stop
                failing = self._log_failure(error, failing)
                await self._backoff(backoff)
                continue
            if failing is not None:
                log.info("getUpdates works again")
                failing = None
                backoff.reset()
            fresh = [
                raw
                for raw in updates
                if raw["update_id"] not in self._tracked and raw["update_id"] not in self._done
            ]
            for raw in fresh:
                self._start(Update.model_validate(raw, context={"bot": self.bot}))
            if not fresh and blocked:
                # Telegram hands out the unfinished ones again at once (each time parsed anew): ask again only
                # once the offset moves (the lowest one finished or was parked), or after a short pause.
                await self._wait_for_offset_change(WATCH_SECONDS * 4)

    async def _get_updates(self, timeout: int) -> list[dict[str, Any]]:
        offset = self.offset()
        method = RawGetUpdates(offset=offset, limit=BATCH, timeout=timeout, allowed_updates=self._allowed)
        self._fetch = asyncio.create_task(self.bot(method, request_timeout=timeout + 30))  # type: ignore[arg-type]
        self._sent = offset
        try:
            updates = await self._fetch
        finally:
            self._fetch = None
        if offset is not None:
            self._confirm(offset)
        return updates

    def _confirm(self, offset: int) -> None:
        self._confirmed = max(self._confirmed, offset)
        self._done = {i for i in self._done if i >= offset}

    def _log_failure(self, error: Exception, failing: str | None) -> str:
        kind = "conflict" if isinstance(error, TelegramConflictError) else "network"
        if kind != failing:  # once per outage, not once per retry
            if kind == "conflict":
                log.error("another bot process is polling with this token; retrying until it stops (%s)", error)
            else:
                log.warning("getUpdates failed (%s: %s); retrying with backoff", type(error).__name__, error)
        return kind

    async def _backoff(self, backoff: Backoff) -> None:
        # On the app's clock, so tests wait out an outage without waiting for real.
        sleeping = asyncio.ensure_future(self.clock.sleep(next(backoff)))
        stopped = asyncio.ensure_future(self._stopped())
        await asyncio.wait({sleeping, stopped}, return_when=asyncio.FIRST_COMPLETED)
        sleeping.cancel()
        stopped.cancel()

    async def _stopped(self) -> None:
        while not self._stopping:
            self._changed.clear()
            await self._changed.wait()

    async def _wait_for_offset_change(self, seconds: float) -> None:
        offset = self.offset()

        async def moved() -> None:
            while self.offset() == offset and not self._stopping:
                self._changed.clear()
                await self._changed.wait()

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(moved(), seconds)

    async def _wait_for_change(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), seconds)

    # --- handling -------------------------------------------------------------------------------

    def _start(self, update: Update, *, now: float | None = None) -> None:
        uid = update.update_id
        self._seen = max(self._seen, uid)
        tracked = _Tracked(update, self.clock.monotonic() if now is None else now)
        self._tracked[uid] = tracked
        key = chat_key(update)
        after = self._tails.get(key) if key is not None else None
        tracked.task = asyncio.create_task(self._handle(tracked, after))
        tracked.task.add_done_callback(_seen_fatal)
        if key is not None:
            self._tails[key] = tracked.task
            tracked.task.add_done_callback(lambda t: self._tails.pop(key) if self._tails.get(key) is t else None)

    def _workflow(self) -> dict[str, Any]:
        """The Dispatcher's data as it is now (a content switch replaces entries in it)."""
        return {k: v for k, v in self.dp.workflow_data.items() if k != "bot"}

    async def _handle(self, tracked: _Tracked, after: asyncio.Task[None] | None) -> None:
        uid = tracked.update.update_id
        try:
            if after is not None:
                await asyncio.wait([after])  # the chat's previous update first
            assert self._slots is not None
            async with self._slots:
                tracked.started_at = self.clock.monotonic()
                # feed_update adds the Dispatcher's data as it is now: a content switch (flows.content_live)
                # replaces entries there, so a copy taken at start must not override them.
                await self.dp.feed_update(self.bot, tracked.update)
        except asyncio.CancelledError:
            if not tracked.timed_out:
                raise
        except Exception:
            log.exception("update %s failed", uid)
        except BaseException as error:  # SystemExit and the like: the process dies with nothing confirmed
            self._fatal = error
            self.stop()
            raise
        finally:
            del self._tracked[uid]
            self._done.add(uid)
            self._safe.discard(uid)
            if self._parked.pop(uid, None) is not None:
                self._parked_saved = False
            self._changed.set()

    # --- slow and stuck updates -------------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            self._give_up_stuck()
            self._park_slow()
            if not self._parked_saved:
                try:
                    await self._save_parked()
                except Exception:  # the database is busy or gone: keep the offset where it is, try again
                    log.exception("could not save the parked updates")
                    self._parked_saved = False

    def _give_up_stuck(self) -> None:
        now = self.clock.monotonic()
        for uid, tracked in list(self._tracked.items()):
            started = tracked.started_at
            if started is None or tracked.timed_out or now - started < self.limits.update_timeout:
                continue
            log.error("update %s not handled after %.0f s; given up and confirmed", uid, now - started)
            tracked.timed_out = True
            assert tracked.task is not None
            tracked.task.cancel()

    def _park_slow(self) -> None:
        now = self.clock.monotonic()
        for uid, tracked in self._tracked.items():
            if uid not in self._parked and now - tracked.fetched_at >= self.limits.park_after:
                self._parked[uid] = tracked.update.model_dump_json(exclude_none=True)
                self._parked_saved = False

    async def _save_parked(self) -> None:
        """Persist the parked updates before the offset moves past them."""
        self._parked_saved = True
        snapshot = dict(self._parked)
        await self.kv.set(PARKED_KEY, json.dumps(snapshot))
        self._safe = {i for i in snapshot if i in self._tracked}
        self._changed.set()

    async def _resume_parked(self) -> None:
        """Updates parked by a process that died before handling them: handle them now."""
        saved = await self.kv.get(PARKED_KEY)
        if not saved:
            return
        for raw in json.loads(saved).values():
            update = Update.model_validate_json(raw, context={"bot": self.bot})
            self._parked[update.update_id] = raw
            self._safe.add(update.update_id)
            self._start(update)
        if self._parked:
            log.info("handling %d update(s) left unfinished by the last run", len(self._parked))

    async def _finish(self, grace: float = 20.0) -> None:
        """Let the updates in flight finish, then confirm them so Telegram does not send them again."""
        tasks = [t.task for t in self._tracked.values() if t.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        await self._save_parked()
        offset = self.offset()
        if offset is not None and offset != self._sent:
            with contextlib.suppress(Exception):
                await self.bot(GetUpdates(offset=offset, limit=1, timeout=0))


def _seen_fatal(task: asyncio.Task[None]) -> None:
    """A handling task that ended with a fatal error has handed it to `run` (`_fatal`), which raises it;
    looking at it here keeps asyncio from reporting it again, much later, as never retrieved."""
    if not task.cancelled():
        task.exception()
