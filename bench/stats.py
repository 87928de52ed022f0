"""`python -m bench stats`: /stats at 100,000 customers and 1,000,000 purchases (goal: under 2 s).

The data is bench/dataset.py's, generated in SQL (recursive CTEs, INSERT … SELECT) into a SQLite file
migrated by `Database.open`, so the schema, the rhythm trigger and the indexes are the product's own. Then
`Analytics.stats()` runs for every period — the whole computation behind /stats: figures, monthly
revenue and cohorts — and, separately, the two charts are rendered and the HTML report is built.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.common import load, machine, table
from bench.dataset import NOW, fill_file, rows_line
from flows.analytics import PERIODS, Analytics
from flows.charts import cohort_chart, revenue_chart
from flows.clock import FakeClock
from flows.content import example_content_path, load_content
from flows.report_html import render_report
from storage.analytics import AnalyticsRepo
from storage.date_triggers import FELL_ASLEEP_SQL, fell_asleep
from storage.db import Database


async def measure(path: Path, rounds: int) -> None:
    db = await Database.open(path)
    try:
        await measure_db(db, rounds, NOW)
    finally:
        await db.close()


async def measure_db(db: Database, rounds: int, now: datetime) -> dict[str, float]:
    """Print /stats' figures on an open database; returns median milliseconds per period and the rest."""
    content = load_content(example_content_path())
    zone = ZoneInfo("Europe/Kyiv")
    analytics = Analytics(AnalyticsRepo(db), content, FakeClock(now), zone, broadcast_days=7)
    figures: dict[str, float] = {}
    rows = []
    stats = None
    for key in PERIODS:
        times = []
        for _ in range(rounds):
            began = time.perf_counter()
            stats = await analytics.stats(analytics.period(key))
            times.append(time.perf_counter() - began)
        assert stats is not None
        figures[f"stats {key}"] = statistics.median(times) * 1000
        rows.append([key, f"{stats.purchases:,}", f"{stats.buyers:,}", *(_ms(t) for t in _spread(times))])
    print(table(["period", "purchases", "buyers", "stats() median ms", "min ms", "max ms"], rows))
    assert stats is not None
    began = time.perf_counter()
    revenue = revenue_chart(stats.months, stats.currency, "en")
    cohorts = cohort_chart(stats.cohorts, "en")
    charts = time.perf_counter() - began
    began = time.perf_counter()
    page = render_report(stats, content.business.name, zone, "en", revenue, cohorts, now)
    report = time.perf_counter() - began
    print(
        f"\ncharts (both PNGs, after the first import): {_ms(charts)} ms; HTML report: {_ms(report)} ms,"
        f" {len(page) // 1024:,} KiB"
    )
    day = []
    for _ in range(rounds):
        began = time.perf_counter()
        due = await fell_asleep(db, now - timedelta(days=1), now, 30)
        day.append(time.perf_counter() - began)
    figures["win-back day"] = statistics.median(day) * 1000
    print(f"win-back, customers who fell asleep in one day: {len(due):,} in {figures['win-back day']:.1f} ms")
    if db.engine == "sqlite":
        await _plans(db)
    return figures


async def _plans(db: Database) -> None:
    for label, sql, params in (
        ("win-back", FELL_ASLEEP_SQL, ("a", "b", "a", "b")),
        (
            "period",
            "SELECT COUNT(*), COUNT(DISTINCT customer_id), SUM(amount_cents) FROM purchases"
            " WHERE purchased_at >= ? AND purchased_at < ?",
            ("a", "b"),
        ),
    ):
        plan = await db.fetch_all(f"EXPLAIN QUERY PLAN {sql}", params)
        print(f"plan, {label}: " + " / ".join(row["detail"] for row in plan))


def _spread(times: list[float]) -> tuple[float, float, float]:
    return statistics.median(times), min(times), max(times)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stats", description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "stats.db"
        began = time.perf_counter()
        timings = fill_file(path, args.customers, args.purchases)
        built = time.perf_counter() - began
        print(f"built in {built:.0f} s: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
        print(rows_line(path) + "\n")
        asyncio.run(measure(path, args.rounds))


if __name__ == "__main__":
    print(f"{machine()} · {load()}")
    main()
    print(f"done · {load()}")
