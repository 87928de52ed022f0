"""One data set for /stats, segments and broadcasts, generated in SQL on SQLite or PostgreSQL alike.

Every "random" choice is a hash of the row's number, so both engines get the same rows and their figures
compare. Customers join evenly over three years (languages, sources, birthdays, a VIP tenth, a few opted
out or unreachable); 40 % buy once, 25 % two or three times, the rest are regulars whose count is sized so
the total comes near `purchases`; each buys at their own rhythm from the day they joined, never after NOW.
Then points accruals, second-visit coupons, an enrollment per customer, some leads and FAQ questions.

The load is a bulk load: the secondary indexes of the big tables are dropped and rebuilt from the
schema's own definitions, and instead of the per-row purchase and points triggers, purchase_totals and
purchase_categories are filled once with migration 0005's own backfill, purchase_days and points_days with
0027's. What is measured afterwards runs
on the product's schema, indexes and triggers, as migrated.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.db import Database, Tx
from storage.dialect import Engine, plus_seconds
from storage.timefmt import to_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # the benches' data runs up to this moment
YEARS = 3
SPAN_SECONDS = 365 * YEARS * 86400
BULK_TABLES = ("customers", "purchases", "points_ledger", "coupons", "enrollments", "purchase_totals")
# The per-row triggers a bulk load turns off (and fills in for with the backfills), by table.
TRIGGERS = (
    ("purchases", "purchase_totals_on_insert"),
    ("purchases", "purchase_days_on_insert"),
    ("points_ledger", "points_days_on_insert"),
)
# Migration 0005's backfill of what its trigger keeps per purchase (the same text in both twins).
BACKFILL = (
    "INSERT INTO purchase_totals (customer_id, purchases, spent_cents, first_at, last_at)"
    " SELECT customer_id, COUNT(*), SUM(amount_cents), MIN(purchased_at), MAX(purchased_at)"
    " FROM purchases GROUP BY customer_id",
    "INSERT INTO purchase_categories (category, customer_id, last_at)"
    " SELECT category, customer_id, MAX(purchased_at) FROM purchases WHERE category IS NOT NULL"
    " GROUP BY category, customer_id",
)
# Migration 0027's backfill of the per-day figures (the same text in both twins), run after the ledger.
DAYS_BACKFILL = (
    "INSERT INTO purchase_days (day, purchases, revenue_cents, first_cents, buyers, changes)"
    " SELECT substr(purchased_at, 1, 10), COUNT(*), SUM(amount_cents),"
    " SUM(CASE WHEN number = 1 THEN amount_cents ELSE 0 END), SUM(CASE WHEN number = 1 THEN 1 ELSE 0 END),"
    " COUNT(*)"
    " FROM purchases GROUP BY substr(purchased_at, 1, 10)",
    "INSERT INTO points_days (day, issued, redeemed, expired)"
    " SELECT substr(created_at, 1, 10), SUM(CASE WHEN delta > 0 THEN delta ELSE 0 END),"
    " SUM(CASE WHEN kind = 'redemption' THEN -delta ELSE 0 END),"
    " SUM(CASE WHEN kind = 'expiry' THEN -delta ELSE 0 END)"
    " FROM points_ledger GROUP BY substr(created_at, 1, 10)",
)


def _hash(expr: str, salt: int, modulo: int) -> str:
    """A well-mixed 0…modulo-1 from an integer expression (the same on both engines)."""
    return f"(((({expr}) * 2654435761 + {salt}) % 1000003) % {modulo})"


def _series(engine: Engine, count: int) -> str:
    """A CTE `n(k)`, k = 1…count (put after WITH RECURSIVE)."""
    if engine == "postgresql":
        return f"n(k) AS (SELECT generate_series(CAST(1 AS BIGINT), {count}))"
    return f"n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < {count})"


def regulars_range(customers: int, purchases: int) -> int:
    """R in `4 + hash % R` purchases per regular, so the mean per customer is near purchases / customers:
    mean = 0.40 * 1 + 0.25 * 2.5 + 0.35 * (4 + (R - 1) / 2)."""
    mean = purchases / customers
    return max(1, round(((mean - 1.025) / 0.35 - 4) * 2 + 1))


def _customers_sql(engine: Engine, customers: int, start: str, now: str) -> str:
    joined = plus_seconds(engine, f"'{start}'", f"(k - 1) * {SPAN_SECONDS} / {customers}")
    return (
        f"WITH RECURSIVE {_series(engine, customers)}"
        " INSERT INTO customers (id, tg_id, first_name, language, source, opted_out, unreachable,"
        " birthday_day, birthday_month, first_seen_at, last_seen_at, started_at)"
        " SELECT k, 100000000 + k, 'Customer ' || k,"
        f" CASE {_hash('k', 1, 4)} WHEN 0 THEN 'en' WHEN 1 THEN 'ru' WHEN 2 THEN 'uk' ELSE 'de' END,"
        f" CASE {_hash('k', 2, 3)} WHEN 0 THEN 'instagram' WHEN 1 THEN 'google' END,"
        f" CASE WHEN {_hash('k', 3, 100)} < 5 THEN 1 ELSE 0 END,"
        f" CASE WHEN {_hash('k', 4, 100)} < 3 THEN 1 ELSE 0 END,"
        f" 1 + {_hash('k', 5, 28)}, 1 + {_hash('k', 6, 12)}, {joined}, '{now}', {joined} FROM n"
    )


def _purchases_sql(engine: Engine, customers: int, purchases: int, start: str) -> str:
    spread = regulars_range(customers, purchases)
    joined = f"(id - 1) * {SPAN_SECONDS} / {customers}"
    count = (
        f"CASE WHEN id % 100 < 40 THEN 1 WHEN id % 100 < 65 THEN 2 + id % 2 ELSE 4 + {_hash('id', 7, spread)} END"
    )
    # Every 2 to 26 days, closer together when that would run past NOW; k-th purchase at (k-1) gaps and
    # a fraction of one more (so the hour varies), always before NOW.
    plan = (
        f"plan AS (SELECT id, joined, cnt, CASE WHEN rhythm * cnt < {SPAN_SECONDS} - joined THEN rhythm"
        f" ELSE ({SPAN_SECONDS} - joined) / cnt END AS gap FROM (SELECT id, {joined} AS joined, {count} AS cnt,"
        f" (2 + {_hash('id', 8, 25)}) * 86400 AS rhythm FROM customers) AS c)"
    )
    moment = plus_seconds(engine, f"'{start}'", "joined + (k - 1) * gap + (k % 9) * gap / 10")
    cents = f"(100 + {_hash('id * 61 + k', 9, 900)}) * 100"
    return (
        f"WITH RECURSIVE {_series(engine, 3 + spread)}, {plan}"
        " INSERT INTO purchases (customer_id, number, amount, amount_cents, category, source, purchased_at,"
        " created_at)"
        f" SELECT id, k, CAST({cents} / 100 AS TEXT) || '.00', {cents},"
        f" CASE {_hash('id * 61 + k', 10, 5)} WHEN 0 THEN 'yoga' WHEN 1 THEN 'massage' WHEN 2 THEN 'coffee'"
        f" WHEN 3 THEN 'workshop' END, 'telegram', {moment}, {moment}"
        " FROM plan JOIN n ON n.k <= plan.cnt"
    )


def _rest_sql(engine: Engine, start: str) -> list[tuple[str, str]]:
    month_later = plus_seconds(engine, "purchased_at", str(30 * 86400))
    days_later = plus_seconds(engine, "purchased_at", str(5 * 86400))
    enrolled_end = plus_seconds(engine, "first_seen_at", str(3 * 86400))
    return [
        (
            "customer_tags",
            f"INSERT INTO customer_tags (customer_id, tag, added_at) SELECT id, 'vip', '{start}' FROM customers"
            " WHERE id % 10 = 0",
        ),
        (
            "points_ledger",
            "INSERT INTO points_ledger (customer_id, kind, delta, purchase_id, idempotency_key, created_at)"
            " SELECT customer_id, 'accrual', amount_cents / 2000 + 1, id, 'accrual:' || id, purchased_at"
            " FROM purchases",
        ),
        (
            "coupons",
            f"INSERT INTO coupon_campaigns (key, issued, created_at) VALUES ('second-visit', 0, '{start}')",
        ),
        (
            "coupons",
            "INSERT INTO coupons (code, campaign, customer_id, origin, idempotency_key, issued_at, valid_from,"
            " valid_until, redeemed_at) SELECT 'C' || id, 'second-visit', customer_id, 'gift', 'gift:' || id,"
            f" purchased_at, purchased_at, {month_later}, CASE WHEN id % 3 = 0 THEN {days_later} END"
            " FROM purchases WHERE number = 2",
        ),
        (
            "enrollments",
            "INSERT INTO enrollments (customer_id, sequence, step_index, state, exit_reason, started_at, ended_at)"
            " SELECT id, CASE id % 3 WHEN 0 THEN 'welcome' WHEN 1 THEN 'thank-you' ELSE 'win-back' END, 1,"
            f" 'exited', 'purchased', first_seen_at, {enrolled_end} FROM customers",
        ),
        (
            "leads",
            "INSERT INTO leads (customer_id, state, cause, chat_id, created_at)"
            " SELECT id, CASE id % 4 WHEN 0 THEN 'won' WHEN 1 THEN 'lost' ELSE 'open' END, 'manager', -100,"
            " first_seen_at FROM customers WHERE id % 20 = 0",
        ),
        (
            "faq_log",
            "INSERT INTO faq_log (customer_id, text, normalized, outcome, created_at)"
            " SELECT id, 'question', 'question', CASE id % 5 WHEN 0 THEN 'missed' ELSE 'answered' END,"
            " last_seen_at FROM customers WHERE id % 5 < 2",
        ),
    ]


async def _secondary_indexes(tx: Tx, engine: Engine) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the big tables' indexes that no constraint owns."""
    names = ", ".join(f"'{table}'" for table in BULK_TABLES)
    if engine == "postgresql":
        rows = await tx.fetch_all(
            "SELECT indexname, indexdef FROM pg_indexes i WHERE schemaname = current_schema()"
            f" AND tablename IN ({names}) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
        )
    else:
        rows = await tx.fetch_all(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({names})"
        )
    return [(str(row[0]), str(row[1])) for row in rows]


async def _triggers_off(tx: Tx, engine: Engine) -> list[str]:
    """Stop the per-row triggers of `TRIGGERS`; returns what turns them back on."""
    again: list[str] = []
    for table, name in TRIGGERS:
        if engine == "postgresql":
            await tx.execute(f"ALTER TABLE {table} DISABLE TRIGGER {name}")
            again.append(f"ALTER TABLE {table} ENABLE TRIGGER {name}")
            continue
        row = await tx.fetch_one(f"SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = '{name}'")
        assert row is not None, f"the trigger {name} is missing: was the database migrated?"
        await tx.execute(f"DROP TRIGGER {name}")
        again.append(str(row[0]))
    return again


async def generate(db: Database, customers: int, purchases: int, now: datetime) -> dict[str, float]:
    """Fill an empty, migrated database; returns seconds per step."""
    engine = db.engine
    start, stamp = to_db(now - timedelta(seconds=SPAN_SECONDS)), to_db(now)
    timings: dict[str, float] = {}

    async def timed(name: str, *statements: str) -> None:
        began = time.perf_counter()
        async with db.transaction() as tx:
            for statement in statements:
                await tx.execute(statement)
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - began

    async with db.transaction() as tx:
        indexes = await _secondary_indexes(tx, engine)
        for name, _ in indexes:
            await tx.execute(f"DROP INDEX {name}")
        triggers_on = await _triggers_off(tx, engine)
    await timed("customers", _customers_sql(engine, customers, start, stamp))
    await timed("purchases", _purchases_sql(engine, customers, purchases, start))
    await timed("totals", *BACKFILL)
    for name, sql in _rest_sql(engine, start):
        await timed(name, sql)
    await timed("totals", *DAYS_BACKFILL, *triggers_on)
    await timed("indexes", *(sql for _, sql in indexes))
    if engine == "postgresql":  # the customers' ids were given: the identity must start after them
        await timed(
            "indexes", "SELECT setval(pg_get_serial_sequence('customers', 'id'), (SELECT MAX(id) FROM customers))"
        )
    began = time.perf_counter()
    async with db.serialized() as tx:  # outside a transaction: PostgreSQL's VACUUM refuses one
        # VACUUM sets PostgreSQL's visibility map, without which no index-only scan skips the heap.
        await tx.execute("VACUUM ANALYZE" if engine == "postgresql" else "ANALYZE")
    timings["analyze"] = time.perf_counter() - began
    return timings


def fill_file(path: Path, customers: int, purchases: int) -> dict[str, float]:
    """A new SQLite file at `path`, migrated and filled up to `NOW` (runs its own event loop: call it before
    any); seconds per step."""

    async def fill() -> dict[str, float]:
        db = await Database.open(path)
        try:
            return await generate(db, customers, purchases, NOW)
        finally:
            await db.close()

    return asyncio.run(fill())


def rows_line(path: Path) -> str:
    """How many rows the big tables of the SQLite file hold, as one line to print."""
    conn = sqlite3.connect(path)
    try:
        counts = [(name, conn.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0]) for name in BULK_TABLES]
    finally:
        conn.close()
    return "rows: " + ", ".join(f"{name} {count:,}" for name, count in counts)
