"""Several bot processes on one database: outbox claims, recovery of a dead one's rows, the leader's
jobs once per tick, and one poller.

Each "process" is an App built with `create_app` on the same database (its own pool or connection) in
this test process, all on one emulator and one fake clock; a process that dies is abandoned without its
clean stop, so its heartbeat stops and its leases lapse as a killed one's would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.app import App, create_app
from bot.cli import EXIT_ANOTHER_POLLER, main
from bot.sandbox.emulator import Emulator
from bot.settings import Settings
from flows.clock import FakeClock
from flows.liveness import LEASE, POLLING, AnotherPoller, Liveness
from flows.messenger import Outgoing
from storage.outbox import NewMessage
from tests.conftest import OWNER_ID, Harness, make_settings

CHATS = range(2001, 2011)  # ten customers' chats
PER_CHAT = 4
NOTICE = {"chat_id": OWNER_ID, "text": "Not delivered: {reason}.", "unknown_text": "Maybe lost: {reason}."}
PG_ONLY = "several processes share a database on PostgreSQL; SQLite serves one process"


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    # Per-chat pacing across processes is the shared Pacer's (its own tests); here only claims are tested.
    return {"rate_limits": False}


@pytest.fixture
def settings(emu: Emulator, tmp_path: Path) -> Settings:
    for chat in (*CHATS, OWNER_ID):
        emu.user(chat, f"C{chat}").started = True
    return make_settings(tmp_path, emu.api_base, quiet_hours="")


class Processes:
    """Bot processes on the test's database: started, stopped cleanly, or killed."""

    def __init__(self, settings: Settings, clock: FakeClock) -> None:
        self.settings, self.clock = settings, clock
        self.running: list[App] = []

    async def start(self) -> App:
        app = await create_app(self.settings, clock=self.clock)
        self.running.append(app)
        return app

    async def stop(self, app: App) -> None:
        """A clean stop (SIGTERM)."""
        self.running.remove(app)
        await app.close()

    async def kill(self, app: App) -> None:
        """What SIGKILL leaves: no clean stop, no goodbye to the other processes (sockets are released)."""
        self.running.remove(app)
        await app.bot.session.close()
        await app.db.close()


@pytest.fixture
async def processes(settings: Settings, clock: FakeClock) -> AsyncIterator[Processes]:
    started = Processes(settings, clock)
    try:
        yield started
    finally:
        for app in list(started.running):
            await started.stop(app)


async def queue(app: App, chat: int, n: int, **extra: Any) -> int:
    """Queue message `n` for `chat` (transactional: no quiet hours or budget in the way); its row id."""
    outbox, now = app.services["outbox"], app.clock.now()
    payload = Outgoing(text=text(chat, n)).to_payload() | extra
    await outbox.enqueue(NewMessage(f"mp:{chat}:{n}", chat, "notice", payload, now, transactional=True), now)
    return int(await app.db.fetch_value("SELECT id FROM outbox WHERE idempotency_key = ?", (f"mp:{chat}:{n}",)))


def text(chat: int, n: int) -> str:
    return f"message {n} for {chat}"


def received(emu: Emulator, chat: int) -> list[str]:
    return [m.plain_text or "" for m in emu.messages(chat)]


async def states(app: App, *row_ids: int) -> list[str]:
    return [(await app.services["outbox"].get(row_id)).state for row_id in row_ids]


@pytest.mark.engines("postgresql", reason=PG_ONLY)
async def test_two_processes_draining_at_once_send_each_row_once_in_each_chats_order(
    processes: Processes, emu: Emulator, clock: FakeClock
) -> None:
    first, second = await processes.start(), await processes.start()
    for n in range(1, PER_CHAT + 1):
        for chat in CHATS:
            await queue(first, chat, n)
    for _ in range(PER_CHAT * 3):
        await asyncio.gather(first.jobs.drain(), second.jobs.drain())
        clock.advance(timedelta(seconds=1))
    for chat in CHATS:
        assert received(emu, chat) == [text(chat, n) for n in range(1, PER_CHAT + 1)], chat
    claimers = await first.db.fetch_all("SELECT claimed_by, COUNT(*) FROM outbox GROUP BY claimed_by")
    assert len(claimers) == 2, claimers  # both processes sent a share
    assert await first.services["outbox"].counts_by_state() == {"sent": len(CHATS) * PER_CHAT}


async def test_a_chat_with_a_row_in_flight_elsewhere_is_not_started(processes: Processes, emu: Emulator) -> None:
    first, second = await processes.start(), await processes.start()
    one, two = await queue(first, 2001, 1), await queue(first, 2001, 2)
    other = await queue(first, 2002, 1)
    outbox, now = first.services["outbox"], first.clock.now()
    assert await outbox.claim(one, now, first.services["liveness"].instance_id)  # first is sending it
    report = await second.jobs.drain()
    assert await states(second, one, two, other) == ["sending", "pending", "sent"], report.counts
    assert received(emu, 2001) == []


async def test_a_live_processs_rows_in_flight_survive_another_start_and_a_dead_ones_become_unknown(
    processes: Processes, emu: Emulator, clock: FakeClock
) -> None:
    first, second = await processes.start(), await processes.start()
    lost = await queue(first, 2001, 1, on_fail=NOTICE)
    behind = await queue(first, 2001, 2)  # the chat's next message waits for the first's fate
    elsewhere = await queue(first, 2002, 1)
    mine = first.services["liveness"].instance_id
    assert await first.services["outbox"].claim(lost, clock.now(), mine)
    assert await first.services["outbox"].claim(elsewhere, clock.now(), mine)

    third = await processes.start()  # a start recovers only what dead processes left
    await second.tick()
    assert await states(third, lost, behind, elsewhere) == ["sending", "pending", "sending"]

    await processes.kill(first)  # killed mid-send: its heartbeat stops
    clock.advance(LEASE - timedelta(seconds=1))
    await second.tick()
    assert await states(second, lost, behind, elsewhere) == ["sending", "pending", "sending"]
    clock.advance(timedelta(seconds=2))  # the lease lapsed
    await second.tick()
    await third.tick()
    assert await states(second, lost, behind, elsewhere) == ["unknown", "sent", "unknown"]
    assert received(emu, 2001) == [text(2001, 2)]  # never resent
    assert received(emu, 2002) == []
    notices = received(emu, OWNER_ID)
    assert len(notices) == 1 and notices[0].startswith("Maybe lost:"), notices


async def test_a_row_claimed_elsewhere_is_neither_cancelled_nor_put_back_by_another(
    processes: Processes, clock: FakeClock
) -> None:
    first = await processes.start()
    row = await queue(first, 2001, 1)
    outbox, now = first.services["outbox"], clock.now()
    assert await outbox.claim(row, now, "another")
    assert not await outbox.finish(row, "cancelled", "customer opted out", was="pending")
    assert await states(first, row) == ["sending"]
    assert await outbox.finish(row, "unknown", "interrupted while sending", was="sending")  # recovered
    await outbox.release(row, now, "429")  # the claimer's late outcome, after it was taken for dead
    await outbox.retry_later(row, now, "timeout")
    assert await states(first, row) == ["unknown"]  # never back to 'pending': never resent


async def test_the_daily_jobs_run_once_across_processes(
    processes: Processes, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = await processes.start(), await processes.start()
    clock.advance(timedelta(days=1))
    await asyncio.gather(first.jobs.heartbeat(), second.jobs.heartbeat())
    assert sorted([first.jobs.leading(), second.jobs.leading()]) == [False, True]
    with caplog.at_level(logging.INFO, logger="flows.jobs"):
        ran = await asyncio.gather(first.jobs.daily_if_due(), second.jobs.daily_if_due())
    assert sorted(ran) == [False, True]
    assert sum("daily jobs for" in r.getMessage() for r in caplog.records) == 1


async def test_the_leadership_passes_at_once_on_a_clean_stop_and_after_the_lease_on_a_death(
    processes: Processes, clock: FakeClock
) -> None:
    first, second, third = await processes.start(), await processes.start(), await processes.start()
    await processes.stop(first)
    await asyncio.gather(second.jobs.heartbeat(), third.jobs.heartbeat())
    leaders = [app for app in (second, third) if app.jobs.leading()]
    assert len(leaders) == 1  # one of the two took over at once
    [leader] = leaders
    follower = third if leader is second else second
    await processes.kill(leader)
    clock.advance(LEASE - timedelta(seconds=1))
    await follower.jobs.heartbeat()
    assert not follower.jobs.leading()
    clock.advance(timedelta(seconds=2))
    await follower.jobs.heartbeat()
    assert follower.jobs.leading()


async def test_a_second_poller_is_refused_and_says_who_polls(harness: Harness) -> None:
    other = await create_app(harness.settings, clock=harness.clock)
    try:
        webhook_calls = len(harness.emu.calls_of("deleteWebhook"))
        with pytest.raises(AnotherPoller, match="another process already polls Telegram for this bot"):
            await other.run_polling(handle_signals=False, scheduler=False)
        assert len(harness.emu.calls_of("deleteWebhook")) == webhook_calls  # it never began
        holder = await other.services["liveness"].holder_of(POLLING)
        assert harness.services["liveness"].instance_id in holder
    finally:
        await other.close()


async def test_a_poller_stopped_cleanly_leaves_polling_to_the_next(harness: Harness) -> None:
    await harness.stop()
    other = await create_app(harness.settings, clock=harness.clock)
    try:
        await other.take_polling()  # free at once, no lease to wait for
    finally:
        await other.close()
    await harness.start()


async def test_the_run_command_refuses_to_poll_beside_another_poller_with_its_own_exit_code(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path, emu.api_base)
    polling = await create_app(settings, clock=FakeClock(datetime.now(UTC)))  # leases on the real clock
    environment = {
        "BOT_TOKEN": settings.bot_token.get_secret_value(),
        "TELEGRAM_API_URL": emu.api_base,
        "DATABASE_PATH": str(settings.database_path),
        "LOG_LEVEL": "WARNING",
        "CONSOLE_PORT": "0",
    }
    if settings.database_url is not None:
        environment["DATABASE_URL"] = settings.database_url.get_secret_value()
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    try:
        await polling.take_polling()
        code = await asyncio.to_thread(main, ["run"])  # `nurture-bot run`, on its own event loop
    finally:
        await polling.close()
    assert code == EXIT_ANOTHER_POLLER
    assert "another process already polls Telegram for this bot" in capsys.readouterr().err
    assert emu.calls_of("getUpdates") == []


async def test_a_poller_silent_past_its_lease_stops_when_another_took_over(harness: Harness) -> None:
    harness.clock.advance(LEASE + timedelta(seconds=1))  # the poller's process was stuck: no heartbeat
    other = await create_app(harness.settings, clock=harness.clock)
    try:
        await other.take_polling()  # the lease had lapsed
        await harness.app.jobs.heartbeat()  # the stuck one comes back, finds the lease gone …
        assert harness._polling is not None
        await asyncio.wait_for(harness._polling, 5)  # … and stops polling: never two pollers
        holder = await other.services["liveness"].holder_of(POLLING)
        assert other.services["liveness"].instance_id in holder
    finally:
        await other.close()


async def open_connections(settings: Settings) -> int:
    """Connections this test's bot holds: to its PostgreSQL database, or its SQLite file's descriptors open in
    this process (Linux's /proc)."""
    if settings.database_url is None:
        held = 0
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):  # closed meanwhile
                held += os.readlink(f"/proc/self/fd/{fd}").startswith(str(settings.database_path))
        return held
    conn = await asyncpg.connect(settings.database_url.get_secret_value())
    try:
        return int(
            await conn.fetchval(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    finally:
        await conn.close()


async def test_an_app_that_fails_while_starting_leaves_no_connection_open(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await (await create_app(settings)).close()  # migrated: the next start fails later than the migrations
    before = await open_connections(settings)

    async def broken(self: Liveness) -> None:
        raise RuntimeError("the instances table is unreadable")

    monkeypatch.setattr(Liveness, "start", broken)
    with pytest.raises(RuntimeError, match="unreadable"):
        await create_app(settings)
    assert await open_connections(settings) == before
