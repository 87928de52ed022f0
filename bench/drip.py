"""The periodic sequence tick at scale: its cost must follow the rows that are due, not the customers.

For each scale a database is built with SQL (customers, their history, one `welcome` enrolment each,
an outbox history), `due` of them due now. Then, in a fresh process so its peak memory is its own:
`OutboxRepo.due()`, `Sequences.process_events()` with nothing new, and `Sequences.advance()` until
nothing is due (the scheduler's call queues at most 500 per tick), on five copies (median). Peak
memory: tracemalloc over one whole tick, and the process's maxrss (mostly aiogram's import).
Time comes from a FakeClock.
"""

from __future__ import annotations

import asyncio
import json
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

from bench.common import median, table
from flows.clock import FakeClock
from flows.content import example_content_path, load_content
from flows.sequences import CURSOR_KEY, Sequences
from handlers.sequences import sequence_button_data
from storage.customers import CustomersRepo
from storage.db import Database
from storage.enrollments import EnrollmentsRepo
from storage.outbox import OutboxRepo
from storage.timefmt import to_db

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
SCALES = [(1_000, 1_000), (10_000, 1_000), (100_000, 1_000)]  # (customers, due now)
BATCH = 10_000
REPEATS = 7  # read-only measurements
ADVANCE_RUNS = 5  # advance() runs, each on its own copy of the database
T = TypeVar("T")


@dataclass
class Figures:
    customers: int
    due: int
    build_s: float = 0.0
    outbox_due_ms: float = 0.0
    events_ms: float = 0.0
    first_advance_ms: float = 0.0
    all_due_ms: float = 0.0
    all_due_cpu_ms: float = 0.0
    queued: int = 0
    tick_peak_kib: float = 0.0
    imports_mib: float = 0.0
    maxrss_mib: float = 0.0
    plans: dict[str, str] | None = None

    def row(self) -> list[object]:
        per_row = self.all_due_ms / self.queued if self.queued else 0.0
        return [
            self.customers,
            self.due,
            self.outbox_due_ms,
            self.events_ms,
            self.first_advance_ms,
            self.all_due_ms,
            self.all_due_cpu_ms,
            per_row,
            self.queued,
            self.tick_peak_kib,
            self.imports_mib,
            self.maxrss_mib,
        ]


HEADERS = [
    "customers",
    "due",
    "outbox.due() ms",
    "process_events() ms",
    "advance() ms (≤500)",
    "advance until done ms",
    "… CPU ms",
    "ms/due row",
    "queued",
    "tick peak KiB",
    "maxrss after imports MiB",
    "maxrss at end MiB",
]


# ---- building the database ---------------------------------------------------------------------


def _customers(first: int, last: int) -> Iterator[tuple[Any, ...]]:
    since = to_db(NOW - timedelta(days=30))
    for i in range(first, last):
        yield (i, 1_000_000 + i, f"Customer {i}", "en", since, since, since)


def _events(first: int, last: int) -> Iterator[tuple[Any, ...]]:
    since = to_db(NOW - timedelta(days=30))
    for i in range(first, last):
        yield (i, "started", json.dumps({"first": True}), since)
        yield (i, "enrolled", json.dumps({"sequence": "welcome"}), since)


def _enrollments(first: int, last: int, due: int) -> Iterator[tuple[Any, ...]]:
    """Enrolment i waits for step 1; the first `due` are due a minute ago, the rest within a week."""
    started = to_db(NOW - timedelta(days=1))
    for i in range(first, last):
        later = NOW - timedelta(minutes=1) if i <= due else NOW + timedelta(minutes=1 + i % 10_000)
        yield (i, i, "welcome", 1, to_db(later), started)


def _outbox(first: int, last: int, due: int) -> Iterator[tuple[Any, ...]]:
    """One outbox row per customer: the first `due` pending and due, the others sent last week."""
    payload = json.dumps({"text": "Hello", "photo": None, "buttons": []})
    for i in range(first, last):
        state, at = ("pending", NOW - timedelta(seconds=30)) if i <= due else ("sent", NOW - timedelta(days=7))
        sent = None if state == "pending" else to_db(at)
        yield (f"bench:{i}", i, 1_000_000 + i, "broadcast", payload, to_db(at), state, to_db(at), sent)


INSERTS = {
    "customers": "INSERT INTO customers (id, tg_id, first_name, language, first_seen_at, last_seen_at, started_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)",
    "events": "INSERT INTO events (customer_id, kind, data, created_at) VALUES (?, ?, ?, ?)",
    "enrollments": "INSERT INTO enrollments (id, customer_id, sequence, step_index, next_due_at, started_at)"
    " VALUES (?, ?, ?, ?, ?, ?)",
    "outbox": "INSERT INTO outbox (idempotency_key, customer_id, chat_id, kind, payload, due_at, state,"
    " created_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
}


async def build(path: Path, customers: int, due: int) -> float:
    """Fill a fresh database in batches; the event cursor says every event was already applied."""
    started = time.perf_counter()
    db = await Database.open(path)
    try:
        for first in range(1, customers + 1, BATCH):
            last = min(first + BATCH, customers + 1)
            async with db.transaction() as tx:
                await tx.executemany(INSERTS["customers"], _customers(first, last))
                await tx.executemany(INSERTS["events"], _events(first, last))
                await tx.executemany(INSERTS["enrollments"], _enrollments(first, last, due))
                await tx.executemany(INSERTS["outbox"], _outbox(first, last, due))
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO kv (key, value) SELECT ?, MAX(id) FROM events", (CURSOR_KEY,))
        await db.execute("ANALYZE")
    finally:
        await db.close()
    return time.perf_counter() - started


# ---- measuring one tick ------------------------------------------------------------------------


def sequences_for(db: Database) -> Sequences:
    content = load_content(example_content_path())
    return Sequences(
        db, EnrollmentsRepo(db), CustomersRepo(db), content, FakeClock(NOW), UTC, sequence_button_data
    )


async def timed(action: Callable[[], Awaitable[T]]) -> tuple[float, T]:
    started = time.perf_counter()
    result = await action()
    return 1000 * (time.perf_counter() - started), result


async def measure_reads(path: Path, figures: Figures) -> None:
    """The read-mostly parts of a tick, repeated (median): outbox.due(), process_events() with nothing new."""
    db = await Database.open(path)
    try:
        outbox, sequences = OutboxRepo(db), sequences_for(db)
        figures.outbox_due_ms = median([(await timed(lambda: outbox.due(NOW, 500)))[0] for _ in range(REPEATS)])
        figures.events_ms = median([(await timed(sequences.process_events))[0] for _ in range(REPEATS)])
        figures.plans = await query_plans(db)
    finally:
        await db.close()


async def measure_advance(path: Path) -> tuple[float, float, float, int]:
    """One advance() as the scheduler calls it, then again until nothing is due.

    Returns (first ms, all ms, all CPU ms, queued). CPU time (all threads of this process) hardly
    depends on what else the machine runs, so it is the steadier figure on a shared machine.
    """
    db = await Database.open(path)
    try:
        sequences = sequences_for(db)
        started, cpu = time.perf_counter(), time.process_time()
        first_ms, queued = await timed(sequences.advance)
        total = queued
        while queued:
            queued = await sequences.advance()
            total += queued
        return first_ms, 1000 * (time.perf_counter() - started), 1000 * (time.process_time() - cpu), total
    finally:
        await db.close()


async def tick_peak(path: Path) -> float:
    """tracemalloc's peak (KiB) over process_events() and advance() until done, on another copy."""
    db = await Database.open(path)
    try:
        sequences = sequences_for(db)
        tracemalloc.start()
        await sequences.process_events()
        while await sequences.advance():
            pass
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    finally:
        await db.close()
    return peak / 1024


async def query_plans(db: Database) -> dict[str, str]:
    """EXPLAIN QUERY PLAN of the tick's queries: an index search, never a scan of the table."""
    stamp = to_db(NOW)
    queries = {
        "enrollments due": (
            "SELECT * FROM enrollments WHERE state = 'active' AND next_due_at <= ? ORDER BY next_due_at LIMIT 500",
            (stamp,),
        ),
        "outbox due": (
            "SELECT * FROM outbox WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT 500",
            (stamp,),
        ),
        "new events": (
            "SELECT id FROM events WHERE id > ? AND kind IN ('started', 'tag_added', 'purchase', 'opted_out',"
            " 'blocked', 'forgotten') ORDER BY id LIMIT 1000",
            (0,),
        ),
    }
    plans = {}
    for name, (sql, params) in queries.items():
        rows = await db.fetch_all(f"EXPLAIN QUERY PLAN {sql}", params)
        plans[name] = "; ".join(row["detail"] for row in rows)
    return plans


def run_scale(customers: int, due: int) -> Figures:
    """In a fresh process: build once, then time advance() on copies (median) and trace memory on another."""
    imports_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "built.db"
        figures = Figures(customers, due, build_s=asyncio.run(build(source, customers, due)))
        asyncio.run(measure_reads(_copy(source, "reads"), figures))
        runs = [asyncio.run(measure_advance(_copy(source, f"advance-{i}"))) for i in range(ADVANCE_RUNS)]
        figures.first_advance_ms = median([run[0] for run in runs])
        figures.all_due_ms = median([run[1] for run in runs])
        figures.all_due_cpu_ms = median([run[2] for run in runs])
        figures.queued = runs[0][3]
        figures.tick_peak_kib = asyncio.run(tick_peak(_copy(source, "traced")))
    figures.imports_mib = imports_mib
    figures.maxrss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def _copy(source: Path, name: str) -> Path:
    target = source.with_name(f"{name}.db")
    shutil.copy(source, target)
    return target


def in_fresh_process(customers: int, due: int) -> Figures:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(run_scale, customers, due).result()


def main(scales: list[tuple[int, int]] = SCALES) -> None:
    results = [in_fresh_process(customers, due) for customers, due in scales]
    print("drip: one welcome enrolment per customer, 2 events each, one outbox row each; FakeClock")
    print(table(HEADERS, [figures.row() for figures in results]))
    small, large = results[0], results[-1]
    growth = large.all_due_ms / small.all_due_ms
    cpu_growth = large.all_due_cpu_ms / small.all_due_cpu_ms
    print(
        f"advance until done at {large.customers:,} customers / {small.customers:,}: {growth:.2f}x wall, "
        f"{cpu_growth:.2f}x CPU (customers x{large.customers // small.customers}); "
        f"building the largest took {large.build_s:.1f}s"
    )
    for name, plan in (large.plans or {}).items():
        print(f"plan, {name}: {plan}")
    sys.stdout.flush()
