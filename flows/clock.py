"""Time as a dependency: production reads the system clock, tests and the sandbox move a fake one."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment as an aware UTC datetime."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for pacing."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait; a fake clock just moves forward."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FakeClock:
    """A clock that only moves when told to (or when something sleeps), so tests never wait for real."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime(2026, 1, 5, 12, 0, tzinfo=UTC)).astimezone(UTC)
        self._origin = self._now
        self.slept = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return (self._now - self._origin).total_seconds()

    async def sleep(self, seconds: float) -> None:
        self.slept += max(seconds, 0.0)
        # Whole microseconds, rounded up: a sleep of 0.3 µs (a float remainder) must still move time,
        # or a loop that sleeps until a moment comes would spin for ever.
        self._now += timedelta(microseconds=math.ceil(max(seconds, 0.0) * 1_000_000))
        await asyncio.sleep(0)

    def advance(self, delta: timedelta) -> datetime:
        """Move time forward and return the new moment."""
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)
