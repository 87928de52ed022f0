"""The send budget shared by several bot processes through PostgreSQL (flows/shared_pacing.py).

Each "process" is a `Pacer` on its own connection pool to one database. They share one simulated clock
(`SimClock`): sleepers wake in order of their deadlines and time jumps to the next one only once every
task is waiting, so two processes send side by side as real ones would, over a minute that takes a
second or two. The same scenario with each process pacing itself alone (`MemoryLanes`) goes over
Telegram's limits, which shows the checks can fail.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from datetime import timedelta

import pytest
from aiogram.exceptions import TelegramRetryAfter

from bot.app import create_app
from flows.clock import FakeClock
from flows.pacing import Budget, MemoryLanes, Pacer
from flows.shared_pacing import LOCAL_SHARE, RETRY_EVERY_US, SharedLanes
from storage.db import Database
from storage.pace_lanes import Bucket, PaceLanesRepo, Spent
from tests.conftest import Harness
from tests.test_outbound import calls_inside_a_retry_after

pytestmark = pytest.mark.engines("postgresql", reason="the lanes several processes share live in PostgreSQL")

SECRET = b"123456:test-token"
MINUTE = 60.0
QUIET_TURNS = 5
# A whole-bot rate under the default 25/s, so a simulated minute takes fewer round trips: 10 a second
# with the default burst of 1 allows at most 11 inside any second.
SLOWER = Budget(global_per_second=10)
MOST_IN_A_SECOND = 11


class CountingRepo(PaceLanesRepo):
    """The real repository, counting the statements in flight so the simulated clock waits for them."""

    in_flight = 0

    async def spend(self, chat_id: int, now_us: int, chat: Bucket, bot: Bucket) -> Spent:
        CountingRepo.in_flight += 1
        try:
            return await super().spend(chat_id, now_us, chat, bot)
        finally:
            CountingRepo.in_flight -= 1

    async def hold(self, chat_id: int | None, until_us: int) -> None:
        CountingRepo.in_flight += 1
        try:
            await super().hold(chat_id, until_us)
        finally:
            CountingRepo.in_flight -= 1


class Outage(CountingRepo):
    """The real repository behind a switch: while `down`, every statement fails as it does when the server
    cannot be reached (the pool cannot connect)."""

    def __init__(self, db: Database, secret: bytes) -> None:
        super().__init__(db, secret)
        self.down = False
        self.trips = 0

    async def spend(self, chat_id: int, now_us: int, chat: Bucket, bot: Bucket) -> Spent:
        self.trips += 1
        if self.down:
            raise ConnectionRefusedError(111, "Connect call failed")
        return await super().spend(chat_id, now_us, chat, bot)

    async def count(self) -> int:
        self.trips += 1
        if self.down:
            raise ConnectionRefusedError(111, "Connect call failed")
        return await super().count()


class SimClock(FakeClock):
    """A fake clock for concurrent tasks: `sleep` waits until `run` has moved time to its deadline."""

    def __init__(self) -> None:
        super().__init__()
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def sleep(self, seconds: float) -> None:
        self.slept += max(seconds, 0.0)
        deadline = self.monotonic() + math.ceil(max(seconds, 0.0) * 1_000_000) / 1_000_000
        woken = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._order), woken))
        await woken

    async def run(self, actors: list[asyncio.Task[None]]) -> None:
        """Move time from deadline to deadline until every actor has finished."""
        while not all(actor.done() for actor in actors):
            await _settle()
            if not self._sleepers:
                continue
            deadline, _, woken = heapq.heappop(self._sleepers)
            if deadline > self.monotonic():
                self.advance(timedelta(seconds=deadline - self.monotonic()))
            woken.set_result(None)
        for actor in actors:
            actor.result()


async def _settle() -> None:
    """Let every task run until it waits for the clock (or a lock): no statement in flight for a few turns
    of the event loop in a row. (A task still running when time moves on only sends later than it could:
    that can lower the rates measured, never raise them.)"""
    quiet = 0
    while quiet < QUIET_TURNS:
        await asyncio.sleep(0)
        quiet = 0 if CountingRepo.in_flight else quiet + 1


def shared(db: Database, clock: FakeClock, budget: Budget | None = None) -> Pacer:
    return Pacer(clock, budget or Budget(), SharedLanes(CountingRepo(db, SECRET), clock))


async def send_for_a_minute(
    clock: SimClock, pacers: list[Pacer], chats: list[list[int]]
) -> list[tuple[float, int]]:
    """Every pacer's callers write to their chats as fast as they are let; returns (moment, chat) of every
    message in the first simulated minute."""
    sent: list[tuple[float, int]] = []

    async def caller(pacer: Pacer, chat: int) -> None:
        while clock.monotonic() < MINUTE:
            async with pacer.turn(chat):
                sent.append((clock.monotonic(), chat))

    actors = [asyncio.create_task(caller(p, c)) for p, its in zip(pacers, chats, strict=True) for c in its]
    await clock.run(actors)
    return sorted(message for message in sent if message[0] < MINUTE)


def most_in_one_second(moments: list[float]) -> int:
    """The most messages inside any window of one second."""
    most, start = 0, 0
    for end, moment in enumerate(moments):
        while moment - moments[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def per_chat(sent: list[tuple[float, int]], chat: int) -> list[float]:
    return [moment for moment, to in sent if to == chat]


async def test_two_processes_together_keep_the_whole_bots_rate(databases: tuple[Database, Database]) -> None:
    many = [list(range(1, 21)), list(range(11, 31))]  # 30 chats, 10 of them written to by both
    clock = SimClock()
    sent = await send_for_a_minute(clock, [shared(db, clock, SLOWER) for db in databases], many)
    moments = [moment for moment, _ in sent]
    assert most_in_one_second(moments) <= MOST_IN_A_SECOND
    assert len(sent) <= SLOWER.global_per_second * MINUTE + 2
    assert len(sent) >= 0.95 * SLOWER.global_per_second * MINUTE  # busy all along: the budget set the pace

    alone = SimClock()
    apart = await send_for_a_minute(alone, [Pacer(alone, SLOWER, MemoryLanes(alone)) for _ in range(2)], many)
    assert most_in_one_second([moment for moment, _ in apart]) > 1.5 * MOST_IN_A_SECOND


async def test_two_processes_writing_to_one_chat_keep_its_budget(databases: tuple[Database, Database]) -> None:
    hot = [[1001, 1001, 1001], [1001, 1001]]  # several callers in each process, one chat
    clock = SimClock()
    sent = per_chat(await send_for_a_minute(clock, [shared(db, clock) for db in databases], hot), 1001)
    budget = Budget()
    assert len(sent) <= budget.chat_burst + MINUTE * budget.chat_per_second
    assert len(sent) >= MINUTE * budget.chat_per_second
    assert most_in_one_second(sent) <= budget.chat_burst + 1

    alone = SimClock()
    apart = await send_for_a_minute(alone, [Pacer(alone, budget, MemoryLanes(alone)) for _ in range(2)], hot)
    assert len(apart) > 1.8 * MINUTE * budget.chat_per_second


async def sent_at(pacer: Pacer, clock: FakeClock, chat: int) -> float:
    async with pacer.turn(chat):
        return round(clock.monotonic(), 3)


async def test_a_retry_after_one_process_got_stops_the_other_for_that_chat(
    databases: tuple[Database, Database],
) -> None:
    clock = FakeClock()
    first, second = (shared(db, clock) for db in databases)
    assert await sent_at(second, clock, 1001) == 0.0  # the second process has written to it before
    first.hold(1001, 30)
    await first.flush()
    assert await sent_at(second, clock, 1002) == 0.04  # another chat is not held (only the bot's 25/s pace)
    assert await sent_at(second, clock, 1001) == 30.0
    assert second.free_in(1001) == 0  # what it learned when it spent


async def test_a_pause_of_the_whole_bot_stops_both_processes(databases: tuple[Database, Database]) -> None:
    clock = FakeClock()
    first, second = (shared(db, clock) for db in databases)
    first.hold(None, 10)
    await first.flush()
    assert await sent_at(second, clock, 1003) == 10.0
    assert second.free_in(1004) == 0.0  # it knows of the pause now: 10 s passed
    clock.set(clock.now() - timedelta(seconds=5))  # back inside the pause (a clock behind the others')
    assert second.free_in(1004) == 5.0
    assert await sent_at(first, clock, 1004) == 10.04  # after the pause, and 40 ms after the other's message


async def test_idle_lanes_are_pruned_and_name_no_chat(databases: tuple[Database, Database]) -> None:
    clock = FakeClock()
    pacer = shared(databases[0], clock)
    repo = PaceLanesRepo(databases[1], SECRET)
    chats = list(range(5000, 5100))
    for chat in chats:
        await sent_at(pacer, clock, chat)
    assert await repo.count() == len(chats) + 1  # and the bot's
    clock.advance(timedelta(minutes=2))
    await sent_at(pacer, clock, 1001)  # a minute since the last pruning: this spend starts one
    await pacer.flush()
    assert await repo.count() == 2  # the chat just written to, and the bot
    lanes = {row[0] for row in await databases[1].fetch_all("SELECT lane FROM pace_lanes")}
    assert lanes == {0, repo.lane_of(1001)} and 1001 not in lanes


async def test_a_429_one_bot_process_got_holds_the_other_processes_reply(harness: Harness) -> None:
    """Two Apps on one database against the emulator: the second one's 429 for a chat holds the first's
    reply to that chat until the pause is over."""
    chat = harness.chat(1001)
    await chat.send("/start")
    other = await create_app(harness.settings, clock=harness.clock)
    try:
        harness.emu.inject_429(1, retry_after=90)  # longer than the outbound layer waits: it gives up
        with pytest.raises(TelegramRetryAfter):
            await other.bot.send_message(1001, "a message from the other process")
        refused = harness.emu.calls[-1]
        assert refused.retry_after == 90
        await other.services["sender"].pacer.flush()
        await chat.send("Do you have a sauna?")
    finally:
        await other.close()
    later = harness.emu.calls[harness.emu.calls.index(refused) + 1 :]
    replies = [
        call for call in later if call.method == "sendMessage" and str(call.params.get("chat_id")) == "1001"
    ]
    assert replies and all(call.at >= refused.at + 90 for call in replies)
    assert calls_inside_a_retry_after(harness.emu) == []


def fallback_notes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "flows.shared_pacing" and "send budget" in r.getMessage()
    ]


async def test_while_the_database_does_not_answer_messages_go_at_a_share_of_the_budget_said_once(
    databases: tuple[Database, Database], caplog: pytest.LogCaptureFixture
) -> None:
    clock = SimClock()
    repo = Outage(databases[0], SECRET)
    repo.down = True
    pacer = Pacer(clock, SLOWER, SharedLanes(repo, clock))
    with caplog.at_level(logging.WARNING, logger="flows.shared_pacing"):
        sent = await send_for_a_minute(clock, [pacer], [list(range(1, 21))])
    local_rate = SLOWER.global_per_second / LOCAL_SHARE
    assert 0.9 * local_rate * MINUTE <= len(sent) <= local_rate * MINUTE + 2
    assert most_in_one_second([moment for moment, _ in sent]) <= math.ceil(local_rate)
    assert repo.trips <= MINUTE / (RETRY_EVERY_US / 1_000_000) + 2  # asked again now and then, not per message
    assert (
        len(fallback_notes(caplog)) == 1 and "out of reach (ConnectionRefusedError)" in fallback_notes(caplog)[0]
    )


async def test_once_the_database_answers_again_the_budget_is_shared_again(
    databases: tuple[Database, Database], caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    repo = Outage(databases[0], SECRET)
    pacer = Pacer(clock, Budget(), SharedLanes(repo, clock))
    apart = LOCAL_SHARE / Budget().global_per_second  # between two messages at this process's share
    repo.down = True
    with caplog.at_level(logging.WARNING, logger="flows.shared_pacing"):
        assert await sent_at(pacer, clock, 1001) == 0.0
        assert await sent_at(pacer, clock, 1002) == apart
        repo.down = False
        assert await sent_at(pacer, clock, 1003) == 2 * apart  # not asked again yet
        assert await PaceLanesRepo(databases[1], SECRET).count() == 0
        clock.advance(timedelta(microseconds=RETRY_EVERY_US))
        await sent_at(pacer, clock, 1004)  # paced here, while the database is asked in the background
        await pacer.flush()
        await sent_at(pacer, clock, 1005)
    assert await PaceLanesRepo(databases[1], SECRET).count() == 2  # the chat's lane and the bot's
    notes = fallback_notes(caplog)
    assert len(notes) == 2 and "shared with the other processes again" in notes[1]
