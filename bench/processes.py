"""Updates/s end to end for 1, 2 and 3 webhook processes on PostgreSQL, 1 on SQLite, and the bare echo bot.

Each configuration gets a fresh emulator (rate limits off), a fresh database, the round-robin proxy and real
bot processes (bench/cluster.py; `python -m bench.bot_process`: `nurture-bot run` with a send budget that
never binds). C customers each send `/start` with a source (the warm-up, not counted), then M messages one
after the other (commands, FAQ questions, /start with a source, chatter): a customer's next message goes when
the POST carrying the previous one returned, i.e. when its reply reached the emulator. The emulator delivers
up to 40 POSTs at once (setWebhook's default max_connections), one per chat, as Telegram does.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.cluster import BENCH_BOT, Cluster
from bench.common import load, machine, table
from bot.sandbox.emulator import Emulator
from flows.content import example_content_path, load_content

FIRST_CUSTOMER = 60_000
# What customers send after their /start: each makes the bot write (the customer's profile and the processed
# mark at least; the FAQ log, the start source, the commands' own rows).
SCRIPT = ("do you have parking?", "/help", "/start promo", "thanks!", "what are your opening hours?", "/card")
ECHO_SCRIPT = ("hello", "thanks!")


@dataclass
class Result:
    name: str
    processes: int
    updates: int
    seconds: float
    bench_cpu: float  # CPU seconds of this process (emulator + proxy) during the measured round
    bots_cpu: float  # CPU seconds of the bot processes during the measured round
    apologies: int  # answers that were the error apology
    lock_waiters: float | None = None  # PostgreSQL: sessions waiting for the write lock, on average
    active: float | None = None  # PostgreSQL: sessions running a statement (or waiting), on average

    def row(self) -> list[object]:
        rate = self.updates / self.seconds
        waiting = "—" if self.lock_waiters is None else f"{self.lock_waiters:.2f} of {self.active:.2f}"
        return [
            self.name,
            self.processes,
            self.updates,
            rate,
            1000 * self.bots_cpu / self.updates,
            1000 * self.bench_cpu / self.updates,
            self.apologies,
            waiting,
        ]


class Customers:
    """C customers chatting in a closed loop; waits on the emulator's delivery callback, not on polling."""

    def __init__(self, emu: Emulator, count: int) -> None:
        self.emu = emu
        self.ids = [FIRST_CUSTOMER + i for i in range(count)]
        self._waiting: dict[int, asyncio.Future[None]] = {}
        emu.on_delivered(self._delivered)

    def _delivered(self, update_id: int) -> None:
        future = self._waiting.pop(update_id, None)
        if future is not None and not future.done():
            future.set_result(None)

    async def say(self, user_id: int, text: str) -> None:
        future = asyncio.get_running_loop().create_future()
        update = self.emu.send_message(user_id, text)
        self._waiting[update["update_id"]] = future
        await future

    async def chat(self, user_id: int, texts: list[str]) -> None:
        for text in texts:
            await self.say(user_id, text)

    async def round(self, texts_of: dict[int, list[str]], timeout: float) -> None:
        async with asyncio.timeout(timeout):
            await asyncio.gather(*(self.chat(user_id, texts) for user_id, texts in texts_of.items()))


def scripts(ids: list[int], messages: int, script: tuple[str, ...]) -> dict[int, list[str]]:
    """Each customer's messages: the script, started at a different place for each."""
    return {
        user_id: list(itertools.islice(itertools.cycle(script), n % len(script), n % len(script) + messages))
        for n, user_id in enumerate(ids)
    }


async def measure(
    name: str, count: int, database: dict[str, str], customers: int, messages: int, echo: bool = False
) -> Result:
    """One configuration, from a fresh emulator and database to the measured round's figures."""
    command = [*BENCH_BOT, "--echo"] if echo else BENCH_BOT
    apology = load_content(example_content_path()).texts_for("en")("error_apology")
    async with Emulator(rate_limits=False) as emu, Cluster(emu, count, database, command) as cluster:
        people = Customers(emu, customers)
        for user_id in people.ids:
            emu.user(user_id)
        warm = {user_id: [f"/start bench{user_id % 7}"] for user_id in people.ids}
        await people.round(warm, timeout=300)
        texts = scripts(people.ids, messages, ECHO_SCRIPT if echo else SCRIPT)
        sampler = LockSampler(database["DATABASE_URL"]) if "DATABASE_URL" in database else None
        if sampler is not None:
            sampler.start()
        cpu, bots_cpu, started = time.process_time(), cluster.cpu_seconds(), time.perf_counter()
        await people.round(texts, timeout=900)
        seconds = time.perf_counter() - started
        cpu, bots_cpu = time.process_time() - cpu, cluster.cpu_seconds() - bots_cpu
        waiting, active = await sampler.stop() if sampler is not None else (None, None)
        apologies = sum(m.text == apology for user_id in people.ids for m in emu.messages(user_id))
    return Result(name, count, customers * messages, seconds, cpu, bots_cpu, apologies, waiting, active)


async def run(customers: int, messages: int, counts: list[int], sqlite: bool, echo: bool) -> list[Result]:
    from tests.pg_server import server  # the throw-away PostgreSQL the tests use (Debian's binaries)

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if echo:
            results.append(await measure("aiogram echo", 1, {}, customers, messages, echo=True))
            print(table(HEADERS, [results[-1].row()]), flush=True)
        if sqlite:
            db = {"DATABASE_PATH": str(Path(tmp) / "bench.db")}
            results.append(await measure("nurture-bot, SQLite", 1, db, customers, messages))
            print(table(HEADERS, [results[-1].row()]), flush=True)
        for count in counts:
            db = {"DATABASE_URL": server().database()}
            results.append(await measure("nurture-bot, PostgreSQL", count, db, customers, messages))
            print(table(HEADERS, [results[-1].row()]), flush=True)
    return results


HEADERS = [
    "bot",
    "processes",
    "updates",
    "updates/s",
    "bots' CPU ms/update",
    "emulator CPU ms/update",
    "apologies",
    "waiting for the write lock, of active",
]


class LockSampler:
    """Samples pg_stat_activity every 50 ms: how many of the bots' sessions wait for the advisory lock every
    write transaction takes (storage/postgres.py), and how many are busy at all."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: list[tuple[int, int]] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        import asyncpg

        connection = await asyncpg.connect(self.url)
        try:
            while True:
                row = await connection.fetchrow(
                    "SELECT count(*) FILTER (WHERE wait_event = 'advisory'),"
                    " count(*) FILTER (WHERE state = 'active')"
                    " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                self.samples.append((int(row[0]), int(row[1])))
                await asyncio.sleep(0.05)
        finally:
            await connection.close()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> tuple[float | None, float | None]:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if not self.samples:
            return None, None
        count = len(self.samples)
        return sum(s[0] for s in self.samples) / count, sum(s[1] for s in self.samples) / count


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench processes", description=__doc__)
    parser.add_argument("--customers", type=int, default=120, help="customers chatting at once")
    parser.add_argument("--messages", type=int, default=10, help="messages per customer in the measured round")
    parser.add_argument("--counts", default="1,2,3", help="PostgreSQL process counts to run")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-echo", action="store_true")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.counts.split(",") if n]
    print(f"processes: {args.customers} customers × {args.messages} messages, closed loop · {load()}", flush=True)
    results = asyncio.run(run(args.customers, args.messages, counts, not args.no_sqlite, not args.no_echo))
    print(table(HEADERS, [r.row() for r in results]))
    print(f"{machine()} · {load()}")
