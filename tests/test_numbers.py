"""The numbers for any period: custom date ranges (both edges read them the same way) and the cache the
console's pages draw from. The fixture and its hand-computed figures are test_stats.py's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from flows.analytics import PeriodError, date_range, parse_period
from flows.stats_cache import StatsCache
from tests.conftest import Harness
from tests.test_stats import NOW, build_fixture, line, owner

KYIV = ZoneInfo("Europe/Kyiv")


async def test_stats_for_a_custom_range_counts_only_its_days(harness: Harness) -> None:
    await build_fixture(harness)
    # 10–20 December: A's 100 (10th), F's 90 (15th), A's 200 (20th); B's 150 on the 28th is outside.
    replies = await owner(harness).send("/stats 2025-12-10 2025-12-20")
    text = "\n".join(str(m) for m in replies if m.kind == "text")
    assert "Stats, chosen days (Dec 10, 2025 – Dec 20, 2025)" in text
    assert line(text, "Purchases") == "3"
    assert line(text, "Active (bought)") == "2"
    assert line(text, "Revenue") == "390.00 UAH"
    assert line(text, "Purchase frequency") == "1.5 per buyer"
    assert line(text, "Repeat purchase rate") == "50%"


async def test_a_reversed_or_unreadable_range_is_answered_with_what_to_write(harness: Harness) -> None:
    boss = owner(harness)
    reversed_answer = str((await boss.send("/stats 2025-12-20 2025-12-10"))[-1])
    assert "The end (2025-12-10) is before the start (2025-12-20)." in reversed_answer
    unreadable = str((await boss.send("/stats 2025-12-10 soon"))[-1])
    assert "The last day: Write the date as 2026-01-05" in unreadable


def test_a_range_covers_whole_local_days_and_stops_at_now() -> None:
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    period = date_range("01.12.2025", "2025-12-31", now, KYIV)
    assert period.start == datetime(2025, 11, 30, 22, 0, tzinfo=UTC)  # midnight in Kyiv, UTC+2
    assert period.end == datetime(2025, 12, 31, 22, 0, tzinfo=UTC)
    assert period.days == (date(2025, 12, 1), date(2025, 12, 31)) and period.key == "2025-12-01..2025-12-31"
    assert date_range("2026-01-01", "2026-03-01", now, KYIV).end == now  # not into the future
    assert parse_period("2025-12-01 .. 2025-12-31", now, KYIV) == period
    assert parse_period("01.12.2025 – 31.12.2025", now, KYIV) == period


@pytest.mark.parametrize(
    ("first", "last", "problem"),
    [
        ("2025-12-31", "2025-12-01", "reversed"),
        ("2026-02-01", "2026-02-10", "future"),
        ("yesterday", "2025-12-01", "start"),
        ("2025-12-01", "2025-13-01", "end"),
        ("2025-12-01", "", "end"),
        ("1900-01-01", "2025-12-01", "start"),
    ],
)
def test_a_bad_range_names_its_problem(first: str, last: str, problem: str) -> None:
    with pytest.raises(PeriodError) as caught:
        date_range(first, last, datetime(2026, 1, 5, 12, 0, tzinfo=UTC), KYIV)
    assert caught.value.problem == problem


async def test_the_cache_computes_a_period_once_a_minute_and_its_charts_once(harness: Harness) -> None:
    await build_fixture(harness)
    cache: StatsCache = harness.services["stats_cache"]
    period = cache.period("30d")
    first, again = await cache.stats(period), await cache.stats(cache.period("30d"))
    assert first is again and first.revenue == Decimal("840.00")
    png = await cache.chart(period, "revenue", "uk")
    assert png.startswith(b"\x89PNG") and await cache.chart(period, "revenue", "uk") is png
    harness.clock.set(NOW + timedelta(minutes=2))
    assert await cache.stats(cache.period("30d")) is not first  # older than a minute: computed again
    custom = cache.date_range("2025-12-10", "2025-12-20")
    assert (await cache.stats(custom)).revenue == Decimal("390.00")
    with pytest.raises(ValueError):
        await cache.chart(period, "pie", "en")
