"""Updates/s end to end for 1, 2 and 3 webhook processes on PostgreSQL, 1 on SQLite, and the bare echo bot.

Each configuration gets a fresh emulator (rate limits off), a fresh database, the round-robin proxy and real
bot processes (bench/cluster.py; `python -m bench.bot_process`: `nurture-bot run` with a send budget that
never binds). C customers each send `/start` with a source (the warm-up, not counted), then M messages one
after the other (commands, FAQ questions, /start with a source, chatter): a customer's next message goes when
the POST carrying the previous one returned, i.e. when its reply reached the emulator. The emulator delivers
up to 40 POSTs at once (setWebhook's default max_connections), one per chat, as Telegram does.

PostgreSQL runs in two modes, each on a fresh database: "one lock" (every write transaction takes the one
advisory lock exclusively, the bots started with BENCH_GLOBAL_LOCK_ONLY) and "scoped" (the audited
per-customer and written-behind transactions take it shared, storage/postgres.py). What limits a row is
read from three places over the measured round: the CPU of each component and the time it was ready to
run but waited for a core (bench/cpu.py, /proc), the bots' own count of write transactions and of the
time spent waiting for and holding the writer's turn (which functions opened them, too: SIGUSR1 makes a
bot write them, bench/bot_process.py), and PostgreSQL's view of the lock (pg_locks every 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.bot_process import GLOBAL_LOCK_ONLY, STATS_FILE
from bench.cluster import BENCH_BOT, Cluster
from bench.common import load, machine, table
from bench.cpu import Accounting, Usage, process_usage, summed, tree_usage
from bot.sandbox.emulator import Emulator
from flows.content import example_content_path, load_content
from storage.db import Database
from storage.postgres import WRITE_LOCK, PostgresDatabase

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
    apologies: int  # answers that were the error apology
    cpu: Accounting  # where the CPU went during the measured round
    writes: WriteFigures | None = None  # the bots' write transactions during the measured round
    lock: LockFigures | None = None  # PostgreSQL: the write lock as sampled during the measured round

    def row(self) -> list[object]:
        rate = self.updates / self.seconds
        return [
            self.name,
            self.processes,
            self.updates,
            rate,
            1000 * self.cpu.used["bots"].cpu / self.updates,
            self.apologies,
            "—" if self.writes is None else self.writes.per_update(self.updates),
            "—" if self.writes is None else self.writes.turn(self.seconds),
            "—" if self.lock is None else self.lock.summary(),
        ]

    def cpu_row(self) -> list[object]:
        """Cores used (and cores' worth of waiting for one) by each component over the round."""

        def cores(name: str) -> str:
            used = self.cpu.used.get(name)
            if used is None:
                return "—"
            return f"{used.cpu / self.seconds:.2f} (+{used.queued / self.seconds:.2f})"

        bots = self.cpu.used["bots"]
        return [
            f"{self.name} ×{self.processes}",
            self.seconds,
            f"{self.cpu.busy / self.cpu.capacity:.0%}",
            cores("bots"),
            f"{(bots.cpu + bots.queued) / self.seconds / self.processes:.0%}",
            cores("postgresql"),
            cores("emulator+proxy"),
            f"{self.cpu.others / self.seconds:.2f}",
        ]


@dataclass
class WriteFigures:
    """The bots' own count of write transactions and of the time spent waiting for, and holding, the
    writer's turn (storage `WriteStats`, summed over processes), and which functions opened them."""

    transactions: int
    waited: float
    held: float
    callers: Counter[str]

    def minus(self, before: WriteFigures) -> WriteFigures:
        return WriteFigures(
            self.transactions - before.transactions,
            self.waited - before.waited,
            self.held - before.held,
            self.callers - before.callers,
        )

    def per_update(self, updates: int) -> str:
        return f"{self.transactions / updates:.2f}"

    def turn(self, seconds: float) -> str:
        """Held: the share of the round some transaction held the writer's turn (summed over processes:
        above 1.0 only if turns overlap), and for how long each, on average. Waited: transactions waiting
        for their turn (in the process, then in PostgreSQL), on average."""
        each = 1000 * self.held / max(1, self.transactions)
        return f"held {self.held / seconds:.2f} ({each:.1f} ms each), waited {self.waited / seconds:.2f}"

    def top(self, updates: int, count: int = 6) -> str:
        return ", ".join(f"{name} {n / updates:.2f}" for name, n in self.callers.most_common(count))


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
    name: str,
    count: int,
    database: dict[str, str],
    customers: int,
    messages: int,
    echo: bool = False,
    env: dict[str, str] | None = None,
) -> Result:
    """One configuration, from a fresh emulator and database to the measured round's figures."""
    command = [*BENCH_BOT, "--echo"] if echo else BENCH_BOT
    apology = load_content(example_content_path()).texts_for("en")("error_apology")
    cluster_of = Cluster(emu := Emulator(rate_limits=False), count, database, command, extra_env=env or {})
    async with emu, cluster_of as cluster:
        people = Customers(emu, customers)
        for user_id in people.ids:
            emu.user(user_id)
        warm = {user_id: [f"/start bench{user_id % 7}"] for user_id in people.ids}
        await people.round(warm, timeout=300)
        texts = scripts(people.ids, messages, ECHO_SCRIPT if echo else SCRIPT)
        url = database.get("DATABASE_URL")
        sampler = LockSampler(url) if url is not None else None
        cpu = Accounting(components(cluster, url is not None))
        before = None if echo else await write_figures(cluster)
        if sampler is not None:
            sampler.start()
        cpu.start()
        started = time.perf_counter()
        await people.round(texts, timeout=900)
        seconds = time.perf_counter() - started
        cpu.stop()
        lock = await sampler.stop() if sampler is not None else None
        writes = None if before is None else (await write_figures(cluster)).minus(before)
        apologies = sum(m.text == apology for user_id in people.ids for m in emu.messages(user_id))
    return Result(name, count, customers * messages, seconds, apologies, cpu, writes, lock)


def components(cluster: Cluster, postgres: bool) -> dict[str, Callable[[], Usage]]:
    """The processes whose CPU is counted: the bots, PostgreSQL's server, this process (emulator, proxy
    and the lock sampler: one process)."""
    pids = [p.proc.pid for p in cluster.processes if p.proc is not None]
    found: dict[str, Callable[[], Usage]] = {
        "bots": lambda: summed(process_usage(pid) for pid in pids),
        "emulator+proxy": lambda: process_usage(os.getpid()),
    }
    if postgres:
        from tests.pg_server import server

        postmaster = server().postmaster_pid()
        found["postgresql"] = lambda: tree_usage(postmaster)
    return found


async def write_figures(cluster: Cluster) -> WriteFigures:
    """Each bot's write-transaction figures so far (SIGUSR1 makes it write them: bench/bot_process.py)."""
    figures = WriteFigures(0, 0.0, 0.0, Counter())
    for process in cluster.processes:
        assert process.proc is not None
        path = process.log_path.parent / STATS_FILE.format(pid=process.proc.pid)
        path.unlink(missing_ok=True)
        process.signal(signal.SIGUSR1)
        for _ in range(500):  # 10 s: it is written (then renamed into place) at once
            if path.exists():
                break
            await asyncio.sleep(0.02)
        data = json.loads(path.read_text())
        figures.transactions += data["transactions"]
        figures.waited += data["waited"]
        figures.held += data["held"]
        figures.callers.update(data["callers"])
    return figures


MODES = {
    "one lock": {GLOBAL_LOCK_ONLY: "1"},  # every write transaction exclusive (before the scoped ones)
    "scoped": {},  # audited per-customer transactions scoped (storage/postgres.py)
}


async def run(
    customers: int, messages: int, counts: list[int], sqlite: bool, echo: bool, modes: list[str]
) -> list[Result]:
    from tests.pg_server import server  # the throw-away PostgreSQL the tests use (Debian's binaries)

    results = []
    held, cpu, served = await one_at_a_time(server().database())
    print(
        f"one /start write transaction at a time, alone: held {held:.2f} ms each; CPU {cpu:.2f} ms in the"
        f" caller, {served:.2f} ms in PostgreSQL · {load()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        if echo:
            results.append(await measure("aiogram echo", 1, {}, customers, messages, echo=True))
            print(table(HEADERS, [results[-1].row()]), f"· {load()}", flush=True)
        if sqlite:
            db = {"DATABASE_PATH": str(Path(tmp) / "bench.db")}
            results.append(await measure("SQLite", 1, db, customers, messages))
            print(table(HEADERS, [results[-1].row()]), f"· {load()}", flush=True)
        for count in counts:
            for mode in modes:
                db = {"DATABASE_URL": server().database()}
                name = f"PostgreSQL, {mode}"
                results.append(await measure(name, count, db, customers, messages, env=MODES[mode]))
                print(table(HEADERS, [results[-1].row()]), f"· {load()}", flush=True)
    return results


HEADERS = [
    "bot",
    "processes",
    "updates",
    "updates/s",
    "bots' CPU ms/update",
    "apologies",
    "write tx/update",
    "writer's turn (bots' clocks)",
    "write lock (sampled in PostgreSQL)",
]
CPU_HEADERS = [
    "bot",
    "round s",
    "machine busy",
    "bots: cores (+waiting for one)",
    "each bot ready to run",
    "PostgreSQL",
    "emulator+proxy",
    "other sessions",
]


@dataclass
class LockFigures:
    """Averages over the samples: sessions holding the write lock exclusively (at most 1), holding it
    shared, waiting for it, and sessions running a statement at all."""

    exclusive: float
    shared: float
    waiting: float
    active: float

    def summary(self) -> str:
        shared = f", shared {self.shared:.2f}" if self.shared else ""
        return f"held {self.exclusive:.2f}{shared}, waited {self.waiting:.2f}; active {self.active:.2f}"


# pg_locks shows a bigint advisory key as classid (high 32 bits) and objid (low 32 bits), objsubid 1.
_SAMPLE = f"""
SELECT count(*) FILTER (WHERE l.granted AND l.mode = 'ExclusiveLock'),
       count(*) FILTER (WHERE l.granted AND l.mode = 'ShareLock'),
       count(*) FILTER (WHERE NOT l.granted),
       (SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid())
  FROM pg_locks l
 WHERE l.locktype = 'advisory' AND l.objsubid = 1
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND (l.classid::bigint << 32) | l.objid::bigint = {WRITE_LOCK}
"""


class LockSampler:
    """Samples pg_locks every 50 ms: is the advisory lock every write transaction takes
    (storage/postgres.py) held, and by how many sessions waiting for it; and how many are busy at all."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: list[tuple[int, int, int, int]] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        import asyncpg

        connection = await asyncpg.connect(self.url)
        try:
            while True:
                row = await connection.fetchrow(_SAMPLE)
                self.samples.append((int(row[0]), int(row[1]), int(row[2]), int(row[3])))
                await asyncio.sleep(0.05)
        finally:
            await connection.close()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> LockFigures | None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if not self.samples:
            return None
        count = len(self.samples)
        return LockFigures(*(sum(s[i] for s in self.samples) / count for i in range(4)))


async def one_at_a_time(url: str, count: int = 300) -> tuple[float, float, float]:
    """A /start's write transaction (`CustomersRepo.record_start`: a read, an update, an event) run `count`
    times one after the other by one caller, nothing else in its process: the milliseconds each held the
    writer's turn, and the CPU milliseconds each cost the caller and the PostgreSQL server. Held minus CPU
    is waiting for a core (and the loopback): on a machine with cores to spare a turn lasts about its CPU,
    which is what one exclusive lock's ceiling follows."""
    from datetime import UTC, datetime

    from storage.customers import CustomersRepo
    from tests.pg_server import server

    db = await Database.open(url)
    assert isinstance(db, PostgresDatabase)
    db.scoped_writes = False  # the exclusive turn: what it costs is what one lock for all would allow
    try:
        repo = CustomersRepo(db)
        now = datetime.now(UTC)
        customer = await repo.refresh_profile(1, "Bench", None, None, "en", now)
        await repo.record_start(customer.id, "bench", True, now)  # statements prepared, caches warm
        postmaster = server().postmaster_pid()
        before, cpu, served = db.write_stats.held, time.process_time(), tree_usage(postmaster).cpu
        for _ in range(count):
            await repo.record_start(customer.id, "bench", False, now)
        cpu, served = time.process_time() - cpu, tree_usage(postmaster).cpu - served
        return 1000 * (db.write_stats.held - before) / count, 1000 * cpu / count, 1000 * served / count
    finally:
        await db.close()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench processes", description=__doc__)
    parser.add_argument("--customers", type=int, default=120, help="customers chatting at once")
    parser.add_argument("--messages", type=int, default=10, help="messages per customer in the measured round")
    parser.add_argument("--counts", default="1,2,3", help="PostgreSQL process counts to run")
    parser.add_argument("--modes", default="one lock,scoped", help=f"PostgreSQL write modes: {', '.join(MODES)}")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-echo", action="store_true")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.counts.split(",") if n]
    print(f"processes: {args.customers} customers × {args.messages} messages, closed loop · {load()}", flush=True)
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown mode {sorted(unknown)[0]!r}: choose from {', '.join(MODES)}")
    results = asyncio.run(run(args.customers, args.messages, counts, not args.no_sqlite, not args.no_echo, modes))
    report(results)
    print(f"{machine()} · {load()}")


def report(results: list[Result]) -> None:
    print(table(HEADERS, [r.row() for r in results]))
    print("\nCPU during the round, in cores (2 here); in brackets, cores' worth of time ready to run but queued:")
    print(table(CPU_HEADERS, [r.cpu_row() for r in results]))
    print("\nWrite transactions per update, by the function that opened them:")
    for r in results:
        if r.writes is not None:
            print(f"- {r.name} ×{r.processes}: {r.writes.top(r.updates)}")
