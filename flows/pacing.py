"""The bot's send budget, shared by direct replies and the outbox sender.

Telegram allows about one message a second in a private chat (with short bursts), 20 a minute in a
group and about 30 a second for the whole bot, and answers 429 with a `retry_after` when a bot goes
faster. One `Pacer` per process keeps that budget: every call to a chat takes its turn (in arrival
order, one at a time per chat), waits out any pause Telegram asked for, then spends a token of the
chat's and the bot's bucket. The buckets are pyrate-limiter's token bucket (GCRA) driven with the
injected clock's time, so tests run on a fake clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from pyrate_limiter import Rate, TokenBucket

from flows.clock import Clock

_ALGORITHM = TokenBucket()
_FORGET_ABOVE = 10_000  # chats remembered before idle ones are dropped


@dataclass(frozen=True)
class Budget:
    """Rates a little under Telegram's, so the bot rarely meets a 429 at all."""

    global_per_second: float = 25.0
    chat_per_second: float = 1.0
    chat_burst: int = 5
    group_per_minute: int = 20
    group_burst: int = 3


@dataclass
class _Lane:
    """One chat (or the whole bot): its bucket state, Telegram's pause and the queue of callers."""

    rates: list[Rate]
    state: tuple[float, ...]
    paused_until: float = 0.0
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)


class Pacer:
    """Per-chat and global pacing with Telegram's pauses; one per process."""

    def __init__(self, clock: Clock, budget: Budget | None = None) -> None:
        self.clock = clock
        self.configure(budget or Budget())

    def configure(self, budget: Budget) -> None:
        """Start afresh with another budget (benchmarks measure the hot path with a budget that never binds)."""
        self.budget = budget
        per_ms = 1000.0 / budget.global_per_second
        # A rate with limit 1 over `per_ms` is the same bucket as N per second, without rounding N. The burst
        # is a fifth of a second's worth: any one second then holds at most 1.2 × the rate (30 at 25/s,
        # Telegram's limit), where a burst of a whole second's worth would allow twice the rate.
        burst = max(1, int(budget.global_per_second / 5))
        self._bot = self._lane([Rate(1, max(1, round(per_ms)), burst=burst)])
        self._chats: dict[int, _Lane] = {}
        self._forget_above = _FORGET_ABOVE

    @staticmethod
    def _lane(rates: list[Rate]) -> _Lane:
        return _Lane(rates, _ALGORITHM.initial(rates))

    def _chat(self, chat_id: int) -> _Lane:
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
        return int(self.clock.monotonic() * 1000)

    def _wait_of(self, lane: _Lane) -> float:
        """Seconds until `lane` may spend a token (0: now), without spending it."""
        now = self.clock.monotonic()
        _, decision = _ALGORITHM.step(lane.rates, lane.state, self._now_ms(), 1)
        budget_wait = 0.0 if decision.allowed else (decision.retry_after_ms or 0) / 1000
        return max(budget_wait, lane.paused_until - now, self._bot.paused_until - now, 0.0)

    def free_in(self, chat_id: int) -> float:
        """Seconds until a message to `chat_id` could go out (0: now): its pause, budget and queue."""
        lane = self._chats.get(chat_id)
        if lane is None:  # never written to (or long ago): only a pause of the whole bot can hold it
            return max(self._bot.paused_until - self.clock.monotonic(), 0.0)
        wait = self._wait_of(lane)
        if lane.turn.locked() and wait <= 0:
            return 1e-3  # someone is sending to it right now: it is busy, not free
        return wait

    def hold(self, chat_id: int | None, seconds: float) -> None:
        """Telegram said retry_after: nothing goes to this chat (None: to any chat) until it has passed."""
        lane = self._bot if chat_id is None else self._chat(chat_id)
        lane.paused_until = max(lane.paused_until, self.clock.monotonic() + seconds)

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
        429 it gets stops the next caller) and releases it after."""
        lane = self._chat(chat_id)
        await lane.turn.acquire()
        try:
            await self._wait_for(lane, spends)
            if spends:
                async with self._bot.turn:  # the bot's budget is handed out in arrival order too
                    await self._wait_for(self._bot, True)
        except BaseException:
            lane.turn.release()
            raise
        return lane.turn

    async def wait_for_pause(self, chat_id: int) -> None:
        """Within a turn, after a 429: wait until the chat's pause has passed and spend a token again."""
        await self._wait_for(self._chat(chat_id), True)
        await self._wait_for(self._bot, True)

    async def _wait_for(self, lane: _Lane, spends: bool) -> None:
        while True:
            now = self.clock.monotonic()
            pause = max(lane.paused_until, self._bot.paused_until) - now
            if pause > 0:
                await self.clock.sleep(pause)
                continue
            if not spends:
                return
            state, decision = _ALGORITHM.step(lane.rates, lane.state, self._now_ms(), 1)
            if decision.allowed:
                lane.state = state
                return
            await self.clock.sleep(max((decision.retry_after_ms or 1) / 1000, 1e-3))

    def _forget_idle(self) -> None:
        """Drop chats that nobody waits for and whose bucket is full again (they start afresh anyway)."""
        idle = [
            chat
            for chat, lane in self._chats.items()
            if not lane.turn.locked() and self._wait_of(lane) <= 0 and _full(lane, self._now_ms())
        ]
        for chat in idle:
            del self._chats[chat]


def _full(lane: _Lane, now_ms: int) -> bool:
    return _ALGORITHM.consumed(lane.rates, lane.state, now_ms) == 0
