"""The shared send budget, on a fake clock: bursts, steady rates, Telegram's pauses, arrival order."""

from __future__ import annotations

import asyncio

from flows.clock import FakeClock
from flows.pacing import Budget, Pacer


async def send_times(pacer: Pacer, clock: FakeClock, chat_id: int, count: int) -> list[float]:
    times = []
    for _ in range(count):
        async with pacer.turn(chat_id):
            times.append(round(clock.monotonic(), 3))
    return times


async def test_a_private_chat_gets_a_short_burst_then_one_a_second() -> None:
    clock = FakeClock()
    pacer = Pacer(clock, Budget(chat_burst=3))
    # The chat's burst of 3 goes at the whole bot's pace (25/s: 40 ms apart), then one a second.
    assert await send_times(pacer, clock, 1001, 5) == [0.0, 0.04, 0.08, 1.0, 2.0]


async def test_a_group_gets_twenty_a_minute() -> None:
    clock = FakeClock()
    pacer = Pacer(clock, Budget(group_burst=1))
    assert await send_times(pacer, clock, -100, 3) == [0.0, 3.0, 6.0]


async def test_a_pause_holds_only_its_chat_and_free_in_tells_the_sender() -> None:
    clock = FakeClock()
    pacer = Pacer(clock)
    pacer.hold(1001, 5)
    assert pacer.free_in(1001) == 5 and pacer.free_in(1002) == 0
    assert await send_times(pacer, clock, 1001, 1) == [5.0]


async def test_callers_to_one_chat_go_in_arrival_order() -> None:
    clock = FakeClock()
    pacer = Pacer(clock, Budget(chat_burst=1))
    order: list[int] = []

    async def send(n: int) -> None:
        async with pacer.turn(1001):
            order.append(n)

    await asyncio.gather(*(send(n) for n in range(6)))
    assert order == list(range(6))


async def test_asking_about_a_chat_remembers_nothing() -> None:
    pacer = Pacer(FakeClock())
    for chat in range(1000):
        assert pacer.free_in(chat) == 0
    assert pacer._chats == {}


async def test_the_whole_bot_never_sends_more_than_26_in_any_second() -> None:
    """25/s with room for one more: Telegram's 30 keeps 4 messages of slack for requests landing together."""
    clock = FakeClock()
    pacer = Pacer(clock)
    moments: list[float] = []

    async def customer(chat_id: int) -> None:
        for _ in range(3):
            async with pacer.turn(chat_id):
                moments.append(clock.monotonic())

    await asyncio.gather(*(customer(1000 + n) for n in range(200)))
    moments.sort()
    most = max(sum(1 for m in moments[i:] if m - start < 1.0) for i, start in enumerate(moments))
    assert len(moments) == 600
    assert most <= 26
    assert moments[-1] >= 599 / 25  # and the pace is the budget's, not slower
