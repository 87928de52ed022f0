"""`python -m bench stats`: /stats at 100,000 customers and 1,000,000 purchases (goal: under 2 s).

The data is generated in SQL (recursive CTEs, INSERT … SELECT) into a SQLite file migrated by
`Database.open`, so the schema, the rhythm trigger and the indexes are the product's own. Then
`Analytics.stats()` runs for every period — the whole computation behind /stats: figures, monthly
revenue and cohorts — and, separately, the two charts are rendered and the HTML report is built.
"""

from __future__ import annotations

import asyncio
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flows.analytics import PERIODS, Analytics
from flows.clock import FakeClock
from flows.content import example_content_path, load_content
from storage.analytics import AnalyticsRepo
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
        " last_seen_at) SELECT i, 10000000 + i, 'Customer ' || i, 'en', i % 20 = 0, i % 33 = 0,"
        " datetime(?, '+' || (i * ? / ?) || ' days'), ? FROM n",
        (customers, start, span, customers, now),
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


async def measure(path: Path, rounds: int) -> list[tuple[str, float, float, float]]:
    db = await Database.open(path)
    content = load_content(example_content_path())
    analytics = Analytics(AnalyticsRepo(db), content, FakeClock(NOW), content_zone())
    rows = []
    try:
        for key in PERIODS:
            times = []
            for _ in range(rounds):
                began = time.perf_counter()
                await analytics.stats(analytics.period(key))
                times.append(time.perf_counter() - began)
            rows.append((key, statistics.median(times), min(times), max(times)))
    finally:
        await db.close()
    return rows


def content_zone() -> object:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Kyiv")


def main(customers: int = 100_000, purchases: int = 1_000_000, rounds: int = 5) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "stats.db"
        asyncio.run(_migrate(path))
        began = time.perf_counter()
        timings = generate(path, customers, purchases)
        built = time.perf_counter() - began
        counts = _counts(path)
        print(f"built in {built:.1f}s: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
        print("rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        rows = asyncio.run(measure(path, rounds))
        print("| period | median s | min s | max s |")
        print("|---|---|---|---|")
        for key, median, low, high in rows:
            print(f"| {key} | {median:.3f} | {low:.3f} | {high:.3f} |")


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
    print(f"{os.cpu_count()} CPU · Python {sys.version.split()[0]} · {platform.system()}")
    main(*(int(arg) for arg in sys.argv[1:]))
