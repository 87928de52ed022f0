"""The figures and charts of a period, computed once and kept a minute, so a page showing them is fast.

At 100,000 customers and a million purchases `Analytics.stats` takes about a second and a chart a few
hundred milliseconds; a console page asks for the figures and then for two pictures of the same period, and
an owner flips between periods. Each period's `Stats` (with its monthly series and cohorts) is computed once
— callers arriving while it is being computed wait for the same computation — and kept `ttl` on the
injected clock, with its charts rendered on first request (in a thread: matplotlib is CPU work) and kept
with it. A period is known by its key (`30d`, `2025-12-01..2025-12-31`), so "the last 30 days" asked twice
within the minute is one computation even though "now" moved.

Several processes: each keeps its own, deliberately. It is a memo of a read, at most `ttl` old and never
cleared by a change, so its promise (figures at most a minute old) holds as well on several processes as
on one; two pages served by two processes within the minute may differ by that minute's sales, and a
page's pictures may be drawn by a process that computes the figures once more. Sharing it would save
CPU, not fix anything.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flows.analytics import Analytics, Period, Stats, date_range
from flows.clock import Clock

CHART_KINDS = ("revenue", "cohorts")
TTL = timedelta(minutes=1)
KEPT = 16  # periods kept at once (presets × a few custom ranges); the least recently used goes first


@dataclass
class _Entry:
    computed_at: datetime
    stats: asyncio.Task[Stats]
    charts: dict[tuple[str, str], asyncio.Task[bytes]] = field(default_factory=dict)


@dataclass
class StatsCache:
    analytics: Analytics
    clock: Clock
    ttl: timedelta = TTL
    kept: int = KEPT
    _entries: OrderedDict[str, _Entry] = field(default_factory=OrderedDict, repr=False)

    def period(self, text: str | None) -> Period:
        """A preset word or a custom range, as /stats reads it (PeriodError when it is neither)."""
        return self.analytics.period(text)

    def date_range(self, first: str | None, last: str | None) -> Period:
        """A custom range from two dates a form sent (PeriodError names the wrong one)."""
        return date_range(first, last, self.clock.now(), self.analytics.zone)

    async def stats(self, period: Period) -> Stats:
        """Every figure of the period, with its charts' series; computed at most once a `ttl`."""
        return await asyncio.shield(self._entry(period).stats)  # a caller that goes away cancels only its wait

    def ready(self, period: Period) -> Stats | None:
        """The period's figures if they are computed and fresh (a page can show them at once), else None."""
        entry = self._entries.get(period.key)
        if entry is None or self.clock.now() - entry.computed_at >= self.ttl or not entry.stats.done():
            return None
        return None if _failed(entry.stats) else entry.stats.result()

    async def chart(self, period: Period, kind: str, language: str) -> bytes:
        """The period's `revenue` or `cohorts` picture as PNG, in the reader's language."""
        if kind not in CHART_KINDS:
            raise ValueError(f"unknown chart {kind!r}")
        entry = self._entry(period)
        task = entry.charts.get((kind, language))
        if task is None or _failed(task):
            task = asyncio.ensure_future(self._draw(entry.stats, kind, language))
            entry.charts[(kind, language)] = task
        return await asyncio.shield(task)

    def forget(self) -> None:
        """Drop everything kept (after a change the owner should see at once, e.g. an import)."""
        self._entries.clear()

    def _entry(self, period: Period) -> _Entry:
        now = self.clock.now()
        entry = self._entries.get(period.key)
        if entry is not None and now - entry.computed_at < self.ttl and not _failed(entry.stats):
            self._entries.move_to_end(period.key)
            return entry
        entry = _Entry(now, asyncio.ensure_future(self.analytics.stats(period)))
        self._entries[period.key] = entry
        while len(self._entries) > self.kept:
            self._entries.popitem(last=False)
        return entry

    @staticmethod
    async def _draw(stats: asyncio.Task[Stats], kind: str, language: str) -> bytes:
        figures = await asyncio.shield(stats)
        return await asyncio.to_thread(_render, figures, kind, language)


def _failed(task: asyncio.Task[Stats] | asyncio.Task[bytes]) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)


def _render(stats: Stats, kind: str, language: str) -> bytes:
    from flows.charts import cohort_chart, revenue_chart  # matplotlib loads on first use, not at start-up

    if kind == "revenue":
        return revenue_chart(stats.months, stats.currency, language)
    return cohort_chart(stats.cohorts, language)
