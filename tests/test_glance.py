"""The console home's figures (`AnalyticsRepo.glance`, index ranges) equal /stats's own queries.

On /stats's hand-computed fixture (tests/test_stats.py: a forgotten customer, an opted-out one, the owner
who is not a customer) plus the edges the fast path could get wrong: a manager and a revoked cashier who
are customers' rows too, customers who joined and purchases made exactly at local midnight in Kyiv (the
business's zone, UTC+2 in winter) and a second before it, and periods ending before some customers joined.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flows.analytics import Period, date_range
from tests.conftest import OWNER_ID, Harness
from tests.test_stats import NOW, build_fixture, buy, join

KYIV_MIDNIGHT = datetime(2025, 12, 21, 22, 0, tzinfo=UTC)  # 22 December 00:00 in Kyiv
SECOND = timedelta(seconds=1)


async def add_edges(harness: Harness) -> None:
    staff = harness.services["staff"].repo
    for tg_id, role in ((3001, "manager"), (3002, "cashier")):
        await join(harness, tg_id, KYIV_MIDNIGHT - timedelta(days=1))
        await staff.create_invite(f"t{tg_id}", role, OWNER_ID, KYIV_MIDNIGHT, KYIV_MIDNIGHT + timedelta(days=1))
        assert await staff.accept_invite(f"t{tg_id}", tg_id, "Staff", KYIV_MIDNIGHT) == role
    await staff.revoke(3002, OWNER_ID, KYIV_MIDNIGHT)  # a former cashier is a customer again
    before = await join(harness, 3003, KYIV_MIDNIGHT - SECOND)
    on = await join(harness, 3004, KYIV_MIDNIGHT)
    await buy(harness, before, "10", KYIV_MIDNIGHT - SECOND)
    await buy(harness, on, "20", KYIV_MIDNIGHT)
    log = harness.services["faq"].log
    for when in (KYIV_MIDNIGHT - SECOND, KYIV_MIDNIGHT):
        await log.record(on, "question", "question", "missed", None, 0, when)
    harness.clock.set(NOW)


async def direct(harness: Harness, period: Period) -> tuple[int, int, int, int, int]:
    """The same figures from /stats's queries."""
    async with harness.services["analytics"].repo.reading() as q:
        total, new, _ = await q.customers(period.start, period.end)
        bought = await q.purchases(period.start, period.end)
        asked = await q.questions(period.start, period.end)
    return total, new, bought.purchases, bought.revenue_cents, asked.get("missed", 0)


@pytest.mark.parametrize(
    "text",
    [
        "7d",
        "30d",
        "90d",
        "365d",
        "month",
        "year",
        "all",
        "2025-12-22..2026-01-05",
        "2025-12-21..2025-12-21",
        "2025-12-01..2025-12-21",
        "2024-01-01..2024-12-31",
    ],
)
async def test_the_home_figures_equal_the_stats_queries(harness: Harness, text: str) -> None:
    await build_fixture(harness)
    await add_edges(harness)
    analytics = harness.services["analytics"]
    period = analytics.period(text)
    fast = await analytics.repo.glance(period.start, period.end)
    got = (fast.customers_total, fast.customers_new, fast.purchases, fast.revenue_cents, fast.missed_questions)
    assert got == await direct(harness, period)


async def test_a_local_day_counts_what_happened_from_its_midnight(harness: Harness) -> None:
    await build_fixture(harness)
    await add_edges(harness)
    analytics = harness.services["analytics"]
    day = date_range("2025-12-22", "2025-12-22", NOW, analytics.zone)
    seen = await analytics.repo.glance(day.start, day.end)
    # 3004 joined, bought 20.00 and asked at midnight; 3003, a second earlier, belongs to the day before.
    assert (seen.customers_new, seen.purchases, seen.revenue_cents, seen.missed_questions) == (1, 1, 2000, 1)
    # Everyone known by then: A–H (H forgotten and E opted out, still customers), 3003, 3004 and the former
    # cashier — not the manager, not the owner.
    assert seen.customers_total == 11
