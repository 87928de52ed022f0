"""Sandbox time: the real clock plus an offset the owner moves forward with `/wait 2h`.

Why not FakeClock: in the sandbox the bot should live in real time (a step due in a minute arrives
by itself while you read) and only jump when asked, so the owner can watch a warm-up sequence that
spans days in a few seconds.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PART = re.compile(r"(\d+)\s*([smhdw])")
MAX_WAIT = timedelta(days=366)


class OffsetClock:
    """System time shifted by `offset`; the offset only grows, so time never goes back."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self._offset = offset

    @property
    def offset(self) -> timedelta:
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def monotonic(self) -> float:
        # Shifted too: pacing ("one message per chat per second") must see the jump as time passing.
        return time.monotonic() + self._offset.total_seconds()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def advance(self, delta: timedelta) -> datetime:
        """Jump forward by `delta` (negative values are ignored) and return the new moment."""
        self._offset += max(delta, timedelta(0))
        return self.now()


def parse_duration(text: str) -> timedelta | None:
    """`30m`, `2h`, `1d`, `1d12h`, `90 s`, `2w` → timedelta; None if it is not such a duration (or is 0)."""
    compact = text.strip().lower()
    parts = _PART.findall(compact)
    if not parts or _PART.sub("", compact).strip():
        return None
    total = timedelta()
    for amount, unit in parts:
        total += timedelta(**{_UNITS[unit]: int(amount)})
    return total if total > timedelta(0) else None


def format_duration(delta: timedelta, *, units: int = 2, sep: str = " ") -> str:
    """A short human form, `2d 3h`, `45m`, `10s`: the largest `units` units (parse_duration reads it back)."""
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return sep.join(parts[:units]) or "0s"
