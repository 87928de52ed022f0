"""The bot's send budget, shared by direct replies and the outbox sender.

Telegram allows about one message a second in a private chat (with short bursts), 20 a minute in a
group and about 30 a second for the whole bot, and answers 429 with a `retry_after` when a bot goes
faster. The `Pacer` keeps that budget: every call to a chat takes its turn (in arrival order, one at a
time per chat, within this process), waits out any pause Telegram asked for, then spends a token of the
chat's and the bot's bucket, both at once. The buckets are pyrate-limiter's token bucket (GCRA).

Where the buckets and pauses live is pluggable (`Lanes`): in this process's memory (`MemoryLanes`, the
default: one process, SQLite, on the injected clock's monotonic time) or in a store every process
shares (`flows/shared_pacing.py`, on PostgreSQL). The turns (asyncio locks) are always this process's
own; the lanes in `Pacer._chats` are then what this process last saw of the shared state, and
`free_in` answers from them, while the spend in `enter` is decided by the shared store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from pyrate_limiter import Rate, TokenBucket

from flows.clock import Clock

ALGORITHM = TokenBucket()
_FORGET_ABOVE = 10_000  # chats remembered before idle ones are dropped


@dataclass(frozen=True)
class Budget:
    """Rates a little under Telegram's, so the bot rarely meets a 429 at all."""

    global_per_second: float = 25.0
    # Tokens the whole bot's bucket holds when idle. Any one second then sees at most rate + burst leave
    # (26 at 25/s), which leaves Telegram's 30 four messages of room for requests that leave later than
    # their token was taken (a busy event loop, a slow connection) and land together.
    global_burst: int = 1
    chat_per_second: float = 1.0
    chat_burst: int = 5
    group_per_minute: int = 20
    group_burst: int = 3


@dataclass
class Lane:
    """One chat (or the whole bot): its bucket state, Telegram's pause and the queue of callers.

    Times are on the time base of the `Lanes` that keep it (`Lanes.now`)."""

    rates: list[Rate]
    state: tuple[float, ...]
    paused_until: float = 0.0
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)


class Lanes(Protocol):
    """Where the buckets and Telegram's pauses are kept: this process's memory or a shared store."""

    def now(self) -> float:
        """Seconds on the time base the lanes' times are on."""
        ...

    async def spend(self, chat_id: int, chat: Lane, bot: Lane) -> float:
        """Take a token of the chat's and of the bot's bucket, both or neither: 0 when taken, else the
        seconds to wait (a pause or a budget), nothing spent. `chat` and `bot` are left as last seen."""
        ...

    def hold(self, chat_id: int | None, lane: Lane, until: float) -> None:
        """Nothing goes to the chat (None: to any chat) before `until`; `lane` is its lane."""
        ...

    async def flush(self) -> None:
        """Wait until the pauses recorded so far are where every process sees them."""
        ...


class MemoryLanes:
    """The lanes themselves hold the truth: one process, on the clock's monotonic time."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def now(self) -> float:
        return self.clock.monotonic()

    async def spend(self, chat_id: int, chat: Lane, bot: Lane) -> float:
        now = self.now()
        pause = max(chat.paused_until, bot.paused_until) - now
        if pause > 0:
            return pause
        now_ms = int(now * 1000)
        chat_state, decision = ALGORITHM.step(chat.rates, chat.state, now_ms, 1)
        if decision.allowed:
            bot_state, decision = ALGORITHM.step(bot.rates, bot.state, now_ms, 1)
            if decision.allowed:
                chat.state, bot.state = chat_state, bot_state
                return 0.0
        return max((decision.retry_after_ms or 1) / 1000, 1e-3)

    def hold(self, chat_id: int | None, lane: Lane, until: float) -> None:
        lane.paused_until = max(lane.paused_until, until)

    async def flush(self) -> None:
        return None


class Pacer:
    """Per-chat and global pacing with Telegram's pauses; one per process, over its `Lanes`."""

    def __init__(self, clock: Clock, budget: Budget | None = None, lanes: Lanes | None = None) -> None:
        self.clock = clock
        self.lanes: Lanes = lanes or MemoryLanes(clock)
        self.configure(budget or Budget())

    def configure(self, budget: Budget) -> None:
        """Start afresh with another budget (benchmarks measure the hot path with a budget that never binds)."""
        self.budget = budget
        per_ms = 1000.0 / budget.global_per_second
        # A rate with limit 1 over `per_ms` is the same bucket as N per second, without rounding N.
        self._bot = self._lane([Rate(1, max(1, round(per_ms)), burst=max(1, budget.global_burst))])
        self._chats: dict[int, Lane] = {}
        self._forget_above = _FORGET_ABOVE

    @staticmethod
    def _lane(rates: list[Rate]) -> Lane:
        return Lane(rates, ALGORITHM.initial(rates))

    def _chat(self, chat_id: int) -> Lane:
        lane = self._chats.get(chat_id)
        if lane is None:
            if len(self._chats) > self._forget_above:
                self._forget_idle()
                # Next time only after as many new chats again: pruning stays cheap per call.
                self._forget_above = max(_FORGET_ABOVE, 2 * len(self._chats))
            budget = self.budget
            if chat_id < 0:  # groups and channels
                rates = [Rate(budget.group_per_minute, 60_000, burst=budget.group_burst)]
            else:
                rates = [Rate(1, max(1, round(1000 / budget.chat_per_second)), burst=budget.chat_burst)]
            lane = self._chats[chat_id] = self._lane(rates)
        return lane

    def _now_ms(self) -> int:
        return int(self.lanes.now() * 1000)

    def _wait_of(self, lane: Lane) -> float:
        """Seconds until `lane` may spend a token (0: now), without spending it, as this process knows it."""
        now = self.lanes.now()
        _, decision = ALGORITHM.step(lane.rates, lane.state, self._now_ms(), 1)
        budget_wait = 0.0 if decision.allowed else (decision.retry_after_ms or 0) / 1000
        return max(budget_wait, lane.paused_until - now, self._bot.paused_until - now, 0.0)

    def free_in(self, chat_id: int) -> float:
        """Seconds until a message to `chat_id` could go out (0: now): its pause, budget and queue.

        With shared lanes this is what this process last saw (no round trip: the sender asks it for every
        queued chat); the spend in `enter` is what is exact."""
        lane = self._chats.get(chat_id)
        if lane is None:  # never written to (or long ago): only a pause of the whole bot can hold it
            return max(self._bot.paused_until - self.lanes.now(), 0.0)
        wait = self._wait_of(lane)
        if lane.turn.locked() and wait <= 0:
            return 1e-3  # someone is sending to it right now: it is busy, not free
        return wait

    def hold(self, chat_id: int | None, seconds: float) -> None:
        """Telegram said retry_after: nothing goes to this chat (None: to any chat) until it has passed."""
        lane = self._bot if chat_id is None else self._chat(chat_id)
        self.lanes.hold(chat_id, lane, self.lanes.now() + seconds)

    async def flush(self) -> None:
        """Wait until the pauses held so far are seen by every process (before closing the database)."""
        await self.lanes.flush()

    @asynccontextmanager
    async def turn(self, chat_id: int, *, spends: bool = True) -> AsyncIterator[None]:
        """This chat's turn (see `enter`), released when the block ends."""
        lock = await self.enter(chat_id, spends=spends)
        try:
            yield
        finally:
            lock.release()

    async def enter(self, chat_id: int, *, spends: bool = True) -> asyncio.Lock:
        """Wait for this chat's turn: callers queue in order; a pause is waited out; `spends` takes a token
        of the chat's and the bot's budget. The caller holds the returned lock while its call runs (so a
        429 it gets stops the next caller) and releases it after.

        A call that spends nothing (an edit, a chat action) waits out the pauses this process knows of."""
        lane = self._chat(chat_id)
        await lane.turn.acquire()
        try:
            if spends:
                await self._spend(chat_id, lane)
            else:
                while (pause := max(lane.paused_until, self._bot.paused_until) - self.lanes.now()) > 0:
                    await self.clock.sleep(pause)
        except BaseException:
            lane.turn.release()
            raise
        return lane.turn

    async def wait_for_pause(self, chat_id: int) -> None:
        """Within a turn, after a 429: wait until the chat's pause has passed and spend a token again."""
        await self._spend(chat_id, self._chat(chat_id))

    async def _spend(self, chat_id: int, lane: Lane) -> None:
        """Take the chat's token and the bot's together, waiting as long as needed: the bot's budget is
        handed out in arrival order (within this process); a chat that must wait for its own budget or
        pause gives its place up meanwhile."""
        while True:
            async with self._bot.turn:
                while (wait := await self.lanes.spend(chat_id, lane, self._bot)) > 0:
                    if (own := self._wait_of(lane)) > 0:
                        break
                    await self.clock.sleep(wait)  # the bot's budget or pause: the next chat waits too
                else:
                    return
            await self.clock.sleep(own)

    def _forget_idle(self) -> None:
        """Drop chats that nobody waits for and whose bucket is full again (they start afresh anyway)."""
        idle = [
            chat
            for chat, lane in self._chats.items()
            if not lane.turn.locked() and self._wait_of(lane) <= 0 and _full(lane, self._now_ms())
        ]
        for chat in idle:
            del self._chats[chat]


def _full(lane: Lane, now_ms: int) -> bool:
    return ALGORITHM.consumed(lane.rates, lane.state, now_ms) == 0
