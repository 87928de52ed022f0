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

**While the database does not answer** (down, unreachable, or slower than `ROUND_TRIP_TIMEOUT`), messages
still go: this process paces them in its own memory, each chat at its own budget (from its bucket as last
seen) and the whole bot at 1/`LOCAL_SHARE` of its budget, since the other processes may be doing the same
(four processes falling back together still keep Telegram's limit). It says so once, asks the database
again every `RETRY_EVERY_US` in the background (a database that hangs holds up no send), and says once
when the budget is shared again. Pauses Telegram asks for
meanwhile hold this process; the others may meet a 429 of their own, which holds them in turn.
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
from flows.pacing import ALGORITHM, Lane, MemoryLanes
from storage.pace_lanes import Bucket, PaceLanesRepo

log = logging.getLogger(__name__)

PRUNE_EVERY_US = 60_000_000
LOCAL_SHARE = 4  # while the database does not answer: this process's part of the whole bot's budget
RETRY_EVERY_US = 5_000_000  # ... and how often it asks the database again
ROUND_TRIP_TIMEOUT = 5.0  # seconds of real time (the network's, not business time) before a trip counts as lost
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


class _WallLanes(MemoryLanes):
    """`MemoryLanes` on the shared lanes' time base (wall time): where a spend is decided while the database
    does not answer."""

    def now(self) -> float:
        return micros(self.clock.now()) / 1_000_000


class SharedLanes:
    """`Lanes` in PostgreSQL: the spend decided there, pauses written there, this process's view updated."""

    def __init__(self, repo: PaceLanesRepo, clock: Clock) -> None:
        self.repo = repo
        self.clock = clock
        self._holds: set[asyncio.Task[None]] = set()  # pauses on their way to the database
        self._prunes: set[asyncio.Task[None]] = set()
        self._probes: set[asyncio.Task[None]] = set()  # asking whether the database answers again
        self._pruned_at = 0
        self._here = _WallLanes(clock)
        self._local: Lane | None = None  # the bot's lane at its local share, while the database does not answer
        self._retry_at = 0
        self.timeout = ROUND_TRIP_TIMEOUT

    def now(self) -> float:
        return self._here.now()

    async def spend(self, chat_id: int, chat: Lane, bot: Lane) -> float:
        now_us = micros(self.clock.now())
        known = self._known_wait(chat, bot, now_us)
        if known > 0:  # this process knows already: no round trip (the store can only be stricter)
            return known
        if self._local is not None:  # the database did not answer: paced here, while a probe asks it now and then
            if now_us >= self._retry_at and not self._probes:
                self._retry_at = now_us + RETRY_EVERY_US
                self._start(self._probes, self._probe())
            return await self._here.spend(chat_id, chat, self._local)
        while self._holds:  # this process's pauses first, so its spend sees them
            await asyncio.wait(set(self._holds))
        try:
            async with asyncio.timeout(self.timeout):
                spent = await self.repo.spend(chat_id, now_us, bucket(chat.rates), bucket(bot.rates))
        except Exception as exc:  # the database does not answer: the message still goes, paced here
            return await self._here.spend(chat_id, chat, self._fall_back(bot, now_us, exc))
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
        while self._holds or self._prunes or self._probes:
            await asyncio.wait(self._holds | self._prunes | self._probes)

    @staticmethod
    def _known_wait(chat: Lane, bot: Lane, now_us: int) -> float:
        """Seconds this process knows the chat must wait (its pauses and its own bucket), 0 if none."""
        pause = max(chat.paused_until, bot.paused_until) - now_us / 1_000_000
        if pause > 0:
            return pause
        _, decision = ALGORITHM.step(chat.rates, chat.state, now_us // 1000, 1)
        return 0.0 if decision.allowed else max((decision.retry_after_ms or 1) / 1000, 1e-3)

    def _fall_back(self, bot: Lane, now_us: int, exc: Exception) -> Lane:
        """The bot's lane in this process's memory, at its local share, until `_retry_at`; said once."""
        self._retry_at = now_us + RETRY_EVERY_US
        if self._local is None:
            log.warning(
                "the shared send budget is out of reach (%s): pacing in this process at 1/%d of the bot's "
                "budget until the database answers again",
                type(exc).__name__,
                LOCAL_SHARE,
            )
            rate = bot.rates[0]
            rates = [Rate(rate.limit, int(rate.interval) * LOCAL_SHARE, burst=max(1, rate.burst // LOCAL_SHARE))]
            self._local = Lane(rates, ALGORITHM.initial(rates))
        return self._local

    @staticmethod
    def _start(tasks: set[asyncio.Task[None]], work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _hold(self, chat_id: int | None, until_us: int) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                await self.repo.hold(chat_id, until_us)
        except Exception as exc:  # the pause still holds here; the other processes may meet a 429 too
            log.warning("could not share a pause with the other processes: %r", exc)

    async def _probe(self) -> None:
        """Ask the database whether it answers again (in the background: a database that hangs holds up no
        send); the next spend is shared again if it does."""
        try:
            async with asyncio.timeout(self.timeout):
                await self.repo.count()
        except Exception:  # still out of reach: said once already, asked again later
            return
        self._local = None
        log.warning("the send budget is shared with the other processes again (the database answers)")

    async def _prune(self, now_us: int) -> None:
        try:
            await self.repo.prune(now_us)
        except Exception as exc:  # only a smaller table was lost
            log.warning("could not prune idle pacing lanes: %r", exc)
