"""`python -m bench stats`: /stats at 100,000 customers and 1,000,000 purchases (goal: under 2 s).

The data is generated in SQL (recursive CTEs, INSERT … SELECT) into a SQLite file migrated by
`Database.open`, so the schema, the rhythm trigger and the indexes are the product's own. Then
`Analytics.stats()` runs for every period — the whole computation behind /stats: figures, monthly
revenue and cohorts — and, separately, the two charts are rendered and the HTML report is built.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.common import load, machine, table
from flows.analytics import PERIODS, Analytics
from flows.charts import cohort_chart, revenue_chart
from flows.clock import FakeClock
from flows.content import example_content_path, load_content
from flows.report_html import render_report
from storage.analytics import AnalyticsRepo
from storage.date_triggers import FELL_ASLEEP_SQL, fell_asleep
from storage.db import Database
from storage.timefmt import to_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
YEARS = 3


def generate(path: Path, customers: int, purchases: int) -> dict[str, float]:
    """Fill a migrated database; returns seconds per table."""
    timings: dict[str, float] = {}
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    start = to_db(NOW - timedelta(days=365 * YEARS))
    now = to_db(NOW)
    span = 365 * YEARS

    def timed(name: str, sql: str, params: tuple[object, ...] = ()) -> None:
        began = time.perf_counter()
        conn.execute("BEGIN")
        conn.execute(sql, params)
        conn.execute("COMMIT")
        timings[name] = time.perf_counter() - began

    # Customers join evenly over three years; 40 % buy once, 25 % two or three times, 35 % are regulars.
    timed(
        "customers",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
        " INSERT INTO customers (id, tg_id, first_name, language, opted_out, unreachable, first_seen_at,"
        " last_seen_at, started_at) SELECT i, 10000000 + i, 'Customer ' || i, 'en', i % 20 = 0, i % 33 = 0,"
        " datetime(?, '+' || (i * ? / ?) || ' days'), ?, datetime(?, '+' || (i * ? / ?) || ' days') FROM n",
        (customers, start, span, customers, now, start, span, customers),
    )
    # Each customer's purchases, every `gap` days from the day they joined; rows in the future are
    # dropped, and the total is capped at `purchases`.
    timed(
        "purchases",
        "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 60),"
        " plan AS (SELECT id, first_seen_at AS joined,"
        "  CASE WHEN id % 100 < 40 THEN 1 WHEN id % 100 < 65 THEN 2 + id % 2 ELSE 4 + (id * 7919) % 70 END AS cnt,"
        "  2 + (id * 104729) % 25 AS gap FROM customers)"
        " INSERT INTO purchases (customer_id, number, amount, amount_cents, category, source, purchased_at,"
        " created_at)"
        " SELECT id, k, printf('%d.00', 100 + (id * 31 + k * 17) % 900), (100 + (id * 31 + k * 17) % 900) * 100,"
        " NULL, 'telegram', datetime(joined, '+' || ((k - 1) * gap) || ' days', '+' || (k % 9) || ' hours'),"
        " datetime(joined, '+' || ((k - 1) * gap) || ' days', '+' || (k % 9) || ' hours')"
        " FROM plan JOIN n ON n.k <= plan.cnt"
        " WHERE datetime(joined, '+' || ((k - 1) * gap) || ' days', '+' || (k % 9) || ' hours') < ?"
        " LIMIT ?",
        (now, purchases),
    )
    timed(
        "points_ledger",
        "INSERT INTO points_ledger (customer_id, kind, delta, purchase_id, idempotency_key, created_at)"
        " SELECT customer_id, 'accrual', amount_cents / 2000 + 1, id, 'accrual:' || id, purchased_at"
        " FROM purchases",
    )
    timed(
        "coupons",
        "INSERT INTO coupon_campaigns (key, issued, created_at) VALUES ('second-visit', 0, ?)",
        (start,),
    )
    timed(
        "coupons",
        "INSERT INTO coupons (code, campaign, customer_id, origin, idempotency_key, issued_at, valid_from,"
        " valid_until, redeemed_at) SELECT 'C' || id, 'second-visit', customer_id, 'gift', 'gift:' || id,"
        " purchased_at, purchased_at, datetime(purchased_at, '+30 days'),"
        " CASE WHEN id % 3 = 0 THEN datetime(purchased_at, '+5 days') END FROM purchases WHERE number = 2",
    )
    timed(
        "enrollments",
        "INSERT INTO enrollments (customer_id, sequence, step_index, state, exit_reason, started_at, ended_at)"
        " SELECT id, CASE id % 3 WHEN 0 THEN 'welcome' WHEN 1 THEN 'thank-you' ELSE 'win-back' END, 1,"
        " 'exited', 'purchased', first_seen_at, datetime(first_seen_at, '+3 days') FROM customers",
    )
    timed(
        "leads",
        "INSERT INTO leads (customer_id, state, cause, chat_id, created_at)"
        " SELECT id, CASE id % 4 WHEN 0 THEN 'won' WHEN 1 THEN 'lost' ELSE 'open' END, 'manager', -100,"
        " first_seen_at FROM customers WHERE id % 20 = 0",
    )
    timed(
        "faq_log",
        "INSERT INTO faq_log (customer_id, text, normalized, outcome, created_at)"
        " SELECT id, 'question', 'question', CASE id % 5 WHEN 0 THEN 'missed' ELSE 'answered' END,"
        " last_seen_at FROM customers WHERE id % 5 < 2",
    )
    conn.execute("ANALYZE")
    conn.close()
    return timings


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
        asyncio.run(_migrate(path))
        began = time.perf_counter()
        timings = generate(path, args.customers, args.purchases)
        built = time.perf_counter() - began
        print(f"built in {built:.0f} s: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
        print("rows: " + ", ".join(f"{k} {v:,}" for k, v in _counts(path).items()) + "\n")
        asyncio.run(measure(path, args.rounds))


async def _migrate(path: Path) -> None:
    db = await Database.open(path)
    await db.close()


def _counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {
            table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("customers", "purchases", "purchase_totals", "points_ledger", "coupons", "enrollments")
        }
    finally:
        conn.close()


if __name__ == "__main__":
    print(f"{machine()} · {load()}")
    main()
    print(f"done · {load()}")
