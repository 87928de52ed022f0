"""The send budget shared by every bot process: the pacer's lanes kept in PostgreSQL.

With several processes behind one address, each one pacing itself would let N processes send N times
Telegram's limits, and a 429 one of them got would not stop the others. `SharedLanes` keeps the bot's
bucket, every chat's bucket and Telegram's pauses in the database they already share
(`storage/pace_lanes.py`): a message costs one round trip to a PL/pgSQL function that locks the chat's
lane and the bot's, and takes a token of both or of neither. A pause (`retry_after`) is written there at
once, for the chat or for the whole bot. The time is wall time from the injected clock (`clock.now()`),
the one time every process agrees on; monotonic clocks differ between processes.

**PostgreSQL, not Redis.** A deployment of several processes runs PostgreSQL already; Redis would be one
more server to install, secure, monitor and keep running, for a few small rows. What Redis would give —
an atomic check-and-spend in one round trip (a Lua script) — PL/pgSQL gives as well. The cost is one
round trip per message sent, about a third of a millisecond on loopback (bench/README.md, "pacing"),
against Telegram's 33 ms between two messages at 30 a second; and a few row updates a second into an
UNLOGGED table (no WAL). So there is no ``REDIS_URL``.

What each process keeps: its callers' turns (the FIFO per chat, and per process for the bot's budget)
and the lanes as it last saw them (`Pacer._chats`). `free_in`, which the sender asks for every queued
chat, answers from those without a round trip, so it may be late by another process's sends: the
sender then waits in `enter`, whose spend is exact. Calls that spend nothing (edits, chat actions) wait
out the pauses this process knows of. Lanes idle in the database (bucket full, no pause) are pruned once
a minute by whichever process gets there: a dropped idle lane reads the same as a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from math import ceil
from typing import Any

from pyrate_limiter import Rate

from flows.clock import Clock
from flows.pacing import ALGORITHM, Lane
from storage.pace_lanes import Bucket, PaceLanesRepo

log = logging.getLogger(__name__)

PRUNE_EVERY_US = 60_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    """`moment` as whole microseconds since the Unix epoch (exact: no float on the way)."""
    return (moment - _EPOCH) // _MICROSECOND


def bucket(rates: list[Rate]) -> Bucket:
    """A lane's one rate as the database steps it: microseconds per token (rounded up, as pyrate-limiter's
    GCRA rounds it, so both agree) and the burst."""
    rate = rates[0]
    return Bucket(max(1, ceil(rate.interval * 1000 / rate.limit)), rate.burst)


class SharedLanes:
    """`Lanes` in PostgreSQL: the spend decided there, pauses written there, this process's view updated."""

    def __init__(self, repo: PaceLanesRepo, clock: Clock) -> None:
        self.repo = repo
        self.clock = clock
        self._holds: set[asyncio.Task[None]] = set()  # pauses on their way to the database
        self._prunes: set[asyncio.Task[None]] = set()
        self._pruned_at = 0

    def now(self) -> float:
        return micros(self.clock.now()) / 1_000_000

    async def spend(self, chat_id: int, chat: Lane, bot: Lane) -> float:
        now_us = micros(self.clock.now())
        known = self._known_wait(chat, bot, now_us)
        if known > 0:  # this process knows already: no round trip (the store can only be stricter)
            return known
        while self._holds:  # this process's pauses first, so its spend sees them
            await asyncio.wait(set(self._holds))
        spent = await self.repo.spend(chat_id, now_us, bucket(chat.rates), bucket(bot.rates))
        chat.state = (spent.tat,)
        chat.paused_until = max(chat.paused_until, spent.paused_until / 1_000_000)
        bot.paused_until = max(bot.paused_until, spent.bot_paused_until / 1_000_000)
        if now_us - self._pruned_at >= PRUNE_EVERY_US:
            self._pruned_at = now_us
            self._start(self._prunes, self._prune(now_us))
        return spent.wait_us / 1_000_000

    def hold(self, chat_id: int | None, lane: Lane, until: float) -> None:
        lane.paused_until = max(lane.paused_until, until)
        self._start(self._holds, self._hold(chat_id, round(until * 1_000_000)))

    async def flush(self) -> None:
        while self._holds or self._prunes:
            await asyncio.wait(self._holds | self._prunes)

    @staticmethod
    def _known_wait(chat: Lane, bot: Lane, now_us: int) -> float:
        """Seconds this process knows the chat must wait (its pauses and its own bucket), 0 if none."""
        pause = max(chat.paused_until, bot.paused_until) - now_us / 1_000_000
        if pause > 0:
            return pause
        _, decision = ALGORITHM.step(chat.rates, chat.state, now_us // 1000, 1)
        return 0.0 if decision.allowed else max((decision.retry_after_ms or 1) / 1000, 1e-3)

    @staticmethod
    def _start(tasks: set[asyncio.Task[None]], work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _hold(self, chat_id: int | None, until_us: int) -> None:
        try:
            await self.repo.hold(chat_id, until_us)
        except Exception as exc:  # the pause still holds here; the other processes may meet a 429 too
            log.warning("could not share a pause with the other processes: %r", exc)

    async def _prune(self, now_us: int) -> None:
        try:
            await self.repo.prune(now_us)
        except Exception as exc:  # only a smaller table was lost
            log.warning("could not prune idle pacing lanes: %r", exc)
