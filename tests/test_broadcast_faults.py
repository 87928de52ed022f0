"""A big broadcast under the faults real deployments meet finishes, and a stop mid-send loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

import pytest

from storage.timefmt import to_db
from tests.broadcast_helpers import wizard
from tests.conftest import Harness

FIRST, COUNT = 5000, 500
BLOCKED = range(FIRST, FIRST + COUNT, 20)  # 25 customers who blocked the bot


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"contact_budget_per_day": 20, "contact_budget_per_week": 50, "quiet_hours": ""}


async def many_customers(harness: Harness, count: int = COUNT) -> None:
    """Customers who started the bot some time ago (inserted directly: 500 /starts would be slow)."""
    now = to_db(harness.clock.now())
    rows = [(FIRST + n, f"C{n}", now, now, now) for n in range(count)]
    async with harness.app.db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO customers (tg_id, first_name, first_seen_at, last_seen_at, started_at)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )
    for n in range(count):
        harness.emu.user(FIRST + n, f"C{n}").started = True


async def unfinished(harness: Harness) -> int:
    counts = await harness.services["outbox"].counts_by_state()
    return counts.get("pending", 0) + counts.get("sending", 0)


async def test_a_500_recipient_broadcast_under_mixed_faults_finishes(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await many_customers(harness)
    for tg_id in BLOCKED:
        harness.emu.block(tg_id)
    boss = await wizard(harness, "everyone")
    harness.emu.inject_fault("server", 30)
    harness.emu.inject_429(15, retry_after=3)
    harness.emu.inject_fault("html", 2)
    for _ in range(120):
        await harness.advance(seconds=2)
        if not await unfinished(harness):
            break
    await harness.advance(seconds=10)  # the last progress refresh
    counts = await harness.services["outbox"].counts_by_state()
    assert set(counts) <= {"sent", "failed", "unknown", "cancelled"}, counts
    assert counts.get("unknown", 0) == 2
    repo = harness.services["customers"].repo
    for tg_id in BLOCKED:
        found = await repo.by_tg_id(tg_id)
        assert found is not None and found.unreachable
    progress = [str(m) for m in boss.messages() if "Broadcast #" in str(m)][-1]
    assert "done" in progress and "Remaining" not in progress, progress
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_stop_mid_send_leaves_no_row_sending(harness: Harness) -> None:
    await many_customers(harness, 40)
    await wizard(harness, "everyone")
    await harness.app.jobs.broadcasts.queue_due()
    harness.clock.advance(timedelta(seconds=2))
    drain = asyncio.create_task(harness.app.jobs.drain())
    await harness.emu.wait_for_call("sendMessage", after=len(harness.emu.calls))  # sending has begun
    await harness.stop()  # what SIGTERM does: close the app while the drain is mid-way
    await drain
    await harness.start()  # a row left 'sending' would now be 'unknown' (the start-up recovery)
    counts = await harness.services["outbox"].counts_by_state()
    assert counts.get("unknown", 0) == 0, counts
    assert counts.get("sent", 0) >= 1 and counts.get("pending", 0) >= 1, counts
    for _ in range(20):
        await harness.advance(seconds=2)
    counts = await harness.services["outbox"].counts_by_state()
    assert counts.get("pending", 0) == 0 and counts.get("unknown", 0) == 0, counts
    for n in range(40):
        assert sum("Spring sale" in str(m) for m in harness.emu.messages(FIRST + n)) == 1


async def test_a_drain_cancelled_mid_send_still_records_every_claimed_row(harness: Harness) -> None:
    await many_customers(harness, 40)
    await wizard(harness, "everyone")
    await harness.app.jobs.broadcasts.queue_due()
    harness.clock.advance(timedelta(seconds=2))
    drain = asyncio.create_task(harness.app.jobs.drain())
    await harness.emu.wait_for_call("sendMessage", after=len(harness.emu.calls))
    drain.cancel()  # as the event loop does to a job still running when the process exits
    with contextlib.suppress(asyncio.CancelledError):
        await drain
    await harness.app.jobs.sender.wait_idle()
    counts = await harness.services["outbox"].counts_by_state()
    assert counts.get("sending", 0) == 0, counts
