"""Long polling confirms an update only once it is handled (bot/polling.py).

A crash with updates in flight loses none of them; chats are handled side by side, each in order; a
slow update does not hide the ones behind it; a stuck one is given up; a second poller is reported.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from aiogram.types import TelegramObject, Update

from bot.app import App
from bot.polling import PollingLimits
from bot.sandbox.emulator import Emulator
from storage.db import Tx, current_update_id
from tests.conftest import Harness
from tests.test_exactly_once import Crash, crash_polling


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rate_limits": False}


class Gate:
    """Holds the handling of chosen updates at their first write transaction until opened (or crashes)."""

    def __init__(self, app: App) -> None:
        self.held: set[int] = set()
        self.waiting: set[int] = set()
        self.opened = asyncio.Event()
        self.crash = False
        original = app.db.transaction

        @asynccontextmanager
        async def gated(scope: str | None = None) -> AsyncIterator[Tx]:
            update_id = current_update_id()
            if update_id in self.held:
                self.waiting.add(update_id)
                await self.opened.wait()
                if self.crash:
                    raise Crash
            async with original(scope) as tx:
                yield tx

        app.db.transaction = gated  # type: ignore[method-assign]

    def hold(self, update: dict[str, Any]) -> dict[str, Any]:
        self.held.add(update["update_id"])
        return update


class Recorder:
    """Which updates started and ended, in order (an outer middleware around each handling)."""

    def __init__(self, app: App) -> None:
        self.log: list[tuple[str, int]] = []
        app.dp.update.outer_middleware(self)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        self.log.append(("start", event.update_id))
        try:
            return await handler(event, data)
        finally:
            self.log.append(("end", event.update_id))

    def ended(self, ids: list[int]) -> bool:
        return all(("end", i) in self.log for i in ids)

    def started(self, update_id: int) -> bool:
        return ("start", update_id) in self.log


def confirmed(emu: Emulator, update_id: int) -> bool:
    """Telegram was told (by a getUpdates offset above it) that the update is handled."""
    return all(u["update_id"] != update_id for u in emu.pending_updates())


async def crash(harness: Harness) -> None:
    """The process dies: its handlers still running die with it (and open no new connection later)."""
    poller = harness.app.poller
    assert poller is not None
    await crash_polling(harness)
    tasks = [t.task for t in poller._tracked.values() if t.task is not None]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await harness.app.bot.session.close()


async def repoll(harness: Harness, limits: PollingLimits) -> None:
    harness.limits = limits
    await harness.restart()


async def test_a_crash_with_updates_in_flight_loses_none_and_repeats_none(harness: Harness) -> None:
    emu = harness.emu
    gate = Gate(harness.app)
    users = [1001, 1002, 1003, 1004]
    updates = [gate.hold(emu.send_message(u, "/start")) for u in users]
    await emu.wait_until(lambda: len(gate.waiting) == len(users))
    await emu.wait_for_call("getUpdates", after=len(emu.calls))  # aiogram's own loop confirmed them here
    assert not any(confirmed(emu, u["update_id"]) for u in updates)
    gate.crash = True
    gate.opened.set()  # every handler in flight dies with the process
    await crash(harness)
    assert [u["update_id"] for u in emu.pending_updates()] == [u["update_id"] for u in updates]

    await harness.start()
    for update in updates:
        await emu.wait_processed(update["update_id"])
    assert await harness.app.inflight.wait_idle(5)
    first = [str(emu.messages(u)[0]) for u in users]
    assert all(len(emu.messages(u)) == len(emu.messages(users[0])) > 0 for u in users), first
    started = await harness.app.db.fetch_value("SELECT COUNT(*) FROM events WHERE kind = 'started'")
    assert started == len(users)


async def test_a_slow_chat_holds_neither_other_chats_nor_its_own_order(harness: Harness) -> None:
    emu = harness.emu
    gate = Gate(harness.app)
    recorder = Recorder(harness.app)
    slow = [gate.hold(emu.send_message(1001, "/start"))] + [emu.send_message(1001, f"hi {i}") for i in range(4)]
    fast = [emu.send_message(1002, "/start")] + [emu.send_message(1002, f"hi {i}") for i in range(4)]
    fast_ids = [u["update_id"] for u in fast]
    await emu.wait_until(lambda: recorder.ended(fast_ids))
    assert emu.messages(1002)
    assert emu.messages(1001) == []
    assert not any(recorder.started(u["update_id"]) for u in slow[1:])  # queued behind the chat's first
    assert not confirmed(emu, slow[0]["update_id"])  # and the offset waits for it

    gate.opened.set()
    for update in slow:
        await emu.wait_processed(update["update_id"])
    slow_ids = [u["update_id"] for u in slow]
    mine = [entry for entry in recorder.log if entry[1] in slow_ids]
    assert mine == [(kind, i) for i in slow_ids for kind in ("start", "end")]  # one after another, in order
    assert emu.pending_updates() == []


async def test_a_stuck_update_is_given_up_after_its_timeout(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await repoll(harness, PollingLimits(update_timeout=120, park_after=math.inf))
    emu = harness.emu
    gate = Gate(harness.app)
    stuck = gate.hold(emu.send_message(1001, "/start"))
    after = emu.send_message(1001, "hi")
    await emu.wait_until(lambda: gate.waiting)
    harness.clock.advance(timedelta(seconds=60))
    await emu.wait_for_call("getUpdates", after=len(emu.calls))
    assert not confirmed(emu, stuck["update_id"])
    harness.clock.advance(timedelta(seconds=61))
    await emu.wait_processed(after["update_id"])  # the chat goes on
    assert confirmed(emu, stuck["update_id"])
    assert any("given up" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    gate.opened.set()


async def test_a_backlog_behind_a_slow_update_progresses_and_the_slow_one_survives_a_crash(
    harness: Harness,
) -> None:
    await repoll(harness, PollingLimits(update_timeout=math.inf, park_after=5))
    emu = harness.emu
    gate = Gate(harness.app)
    slow = gate.hold(emu.send_message(1001, "/start"))
    await emu.wait_until(lambda: gate.waiting)
    backlog = [emu.send_message(2000 + i % 3, f"hi {i}") for i in range(130)]  # more than one batch of 100
    harness.clock.advance(timedelta(seconds=6))  # the slow one is parked: the offset moves past it
    await emu.wait_processed(backlog[-1]["update_id"], timeout=60)
    assert confirmed(emu, slow["update_id"])  # confirmed to Telegram, kept in our database
    gate.crash = True
    gate.opened.set()
    await crash(harness)

    harness.limits = PollingLimits()
    await harness.start()
    await harness.emu.wait_until(lambda: emu.messages(1001), timeout=10)
    assert await harness.app.inflight.wait_idle(5)
    started = await harness.app.db.fetch_value("SELECT COUNT(*) FROM events WHERE kind = 'started'")
    assert started == 1  # handled after the restart from our own copy, and only once


async def test_another_poller_is_reported_once_and_polling_resumes(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    emu = harness.emu
    emu.inject_fault("conflict", 4, methods=("getUpdates",))
    update = emu.send_message(1001, "/start")
    await emu.wait_processed(update["update_id"])
    conflicts = [r for r in caplog.records if "another bot process is polling with this token" in r.getMessage()]
    assert len(conflicts) == 1
    assert sum(c.status == 409 for c in emu.calls_of("getUpdates")) == 4
    assert not any(r.exc_info for r in caplog.records if r.name == "bot.polling")
