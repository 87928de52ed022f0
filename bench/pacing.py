"""What sharing the send budget costs: a message's turn from the `Pacer` with its lanes in memory (SQLite,
one process) and in PostgreSQL (`pace_spend`, one round trip), and the outbox sender at 25/s with the
shared lanes against the emulator's Telegram limits.

    python3 dev.py bench pacing      # ~½ min; starts a throw-away PostgreSQL as the tests do

1. One caller, one message after another to 200 chats, with a budget that never binds: the time a turn
   takes (median of rounds), in memory and through PostgreSQL on loopback.
2. Two processes' pacers (two pools on one database), 16 callers each, the same budget: how many turns a
   second the shared lanes hand out at most (every one of them takes the bot's lane row lock).
3. `bench sender`'s 500 chats × 1 message, at 25/s, on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import table
from bench.sender import run_variant
from flows.clock import SystemClock
from flows.pacing import Budget, MemoryLanes, Pacer
from flows.shared_pacing import SharedLanes
from storage.db import Database
from storage.pace_lanes import PaceLanesRepo

UNPACED = Budget(global_per_second=1e6, chat_per_second=1e6, chat_burst=10**6, group_burst=10**6)
CHATS = 200
MESSAGES = 2000
ROUNDS = 5
CALLERS = 16  # per process, in part 2


def pacer(db: Database | None) -> Pacer:
    clock = SystemClock()
    lanes = MemoryLanes(clock) if db is None else SharedLanes(PaceLanesRepo(db, b"bench"), clock)
    return Pacer(clock, UNPACED, lanes)


async def turn_cost(db: Database | None) -> float:
    """Microseconds per turn, one caller, median of ROUNDS."""
    times = []
    for _ in range(ROUNDS):
        paced = pacer(db)
        started = time.perf_counter()
        for n in range(MESSAGES):
            (await paced.enter(10_000 + n % CHATS)).release()
        times.append((time.perf_counter() - started) / MESSAGES * 1e6)
    return statistics.median(times)


async def shared_ceiling(url: str) -> float:
    """Turns a second two processes' pacers get from the shared lanes, CALLERS each."""
    databases = [await Database.open(url) for _ in range(2)]
    try:
        pacers = [pacer(db) for db in databases]
        per_caller = MESSAGES // (2 * CALLERS)

        async def caller(paced: Pacer, first: int) -> None:
            for n in range(per_caller):
                (await paced.enter(first + n % 10)).release()

        started = time.perf_counter()
        await asyncio.gather(*(caller(p, 20_000 + 10 * i) for p in pacers for i in range(CALLERS)))
        return 2 * CALLERS * per_caller / (time.perf_counter() - started)
    finally:
        for db in databases:
            await db.close()


async def run() -> None:
    from tests.pg_server import server

    running = server()
    url = running.database()
    databases = [await Database.open(url)]
    try:
        memory, shared = await turn_cost(None), await turn_cost(databases[0])
    finally:
        await databases[0].close()
    ceiling = await shared_ceiling(running.database())
    print(f"pacing: {MESSAGES} turns to {CHATS} chats, one caller, median of {ROUNDS} rounds")
    print(table(["lanes", "µs per turn"], [["memory (SQLite)", memory], ["PostgreSQL", shared]]))
    print(f"two processes × {CALLERS} callers, shared lanes: {ceiling:,.0f} turns/s at most")
    with tempfile.TemporaryDirectory() as tmp:
        figures = await run_variant(Path(tmp), 500, 1, running.database())
    print(
        f"sender on PostgreSQL, 500 × 1 at 25/s: {figures.sent / figures.seconds:.1f} msgs/s, "
        f"{figures.too_many} 429s, {figures.duplicates} dupes, {figures.missing} missing"
    )
    running.drop_made()


def main() -> None:
    asyncio.run(run())
