"""Set-based SQL for /stats, the report and the charts: every figure is one aggregate query.

Nothing here loops over purchases in Python, and at a million customers nothing reads every purchase
(migration 0027, issue 13): sums over a period (purchases, revenue, points, the monthly chart) add the
rows of `purchase_days` / `points_days` (one per UTC day, kept by triggers) and the rows of the less than
a day at each end (storage/stats_days.py); buyers of a period ending now and "as of now" figures read
`purchase_totals` (one row per buyer, kept by a trigger); the cohort chart keeps its closed months
(storage/cohort_columns.py). Month figures take the month boundaries from the caller, already converted
from local midnights to UTC, so months follow the business's calendar (and daylight saving) exactly.
tests/test_stats_days.py holds the plain queries these replace and checks every figure against them.

The queries are independent, so a report opens a couple of read-only connections (`AnalyticsRepo.reading`)
and runs them side by side: SQLite releases the GIL while it works, so both cores are used.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

import aiosqlite

from storage.audience import is_reachable
from storage.cohort_columns import CohortColumns, Reader, bought_in
from storage.db import Database, Params, Row
from storage.dialect import Engine, engine_of, plus_seconds, sleeps_at
from storage.sqlite import SqliteDatabase
from storage.staff import audit
from storage.stats_days import days_sum_sql, split
from storage.timefmt import to_db

# A purchase counts for a sequence when it falls while the customer was enrolled or this long after.
CONVERSION_WINDOW_SECONDS = 7 * 86400


def sequence_converted(engine: Engine, e: str = "e") -> str:
    """SQL: enrolment `e` was followed by a purchase — after its first message was delivered (`first_sent_at`, kept by a trigger
    on the outbox), and no later
    than the window (the second `?`, in seconds) after it ended (or the first `?`, now, while it runs).

    An enrolment that never sent a message converts nothing: a sequence is credited only for contact it made.
    Parameters, in order: the end used while it runs, the window in seconds.
    """
    window_end = plus_seconds(engine, f"COALESCE({e}.ended_at, ?)", "?")
    return (
        f"EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = {e}.customer_id"
        f" AND p.purchased_at >= {e}.first_sent_at"  # NULL (never reached them): nothing is credited
        f" AND p.purchased_at <= {window_end})"
    )


@dataclass(frozen=True)
class PurchaseFigures:
    purchases: int
    buyers: int
    revenue_cents: int
    first_purchase_cents: int  # revenue from customers' first purchases (new customers)
    repeat_buyers: int  # buyers who made at least their second purchase in the period


@dataclass(frozen=True)
class Glance:
    """A period at a glance (the console's home)."""

    customers_total: int  # customers known by the period's end
    customers_new: int  # first seen in the period
    purchases: int
    revenue_cents: int
    missed_questions: int  # questions the FAQ could not answer


@dataclass(frozen=True)
class BaseFigures:
    """As of now: the customer base by purchase count (the rule of four) and lifetime revenue."""

    buyers: int
    one_off: int
    episodic: int
    regular: int
    lifetime_cents: int


@dataclass(frozen=True)
class Sleeping:
    total: int
    reachable: int  # of them, customers the bot can still write to


def _range(start: datetime | None, end: datetime) -> tuple[str, str]:
    return ("" if start is None else to_db(start)), to_db(end)


def _bounds_cte(bounds: Sequence[datetime]) -> tuple[str, list[object]]:
    """`b(i, s, e)`: month i runs from bounds[i] to bounds[i + 1]."""
    values = ", ".join("(?, ?, ?)" for _ in bounds[1:])
    params: list[object] = []
    for index, (start, end) in enumerate(pairwise(bounds)):
        params += [index, to_db(start), to_db(end)]
    return f"b(i, s, e) AS (VALUES {values})", params


class ReadPool:
    """A few read-only connections; each query takes a free one, so queries run side by side."""

    engine: Engine = "sqlite"

    def __init__(self, connections: Sequence[aiosqlite.Connection]) -> None:
        self._free: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        for connection in connections:
            self._free.put_nowait(connection)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        connection = await self._free.get()
        try:
            cursor = await connection.execute(sql, params)
            rows = await cursor.fetchall()
            await cursor.close()
            return list(rows)
        finally:
            self._free.put_nowait(connection)

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None


class AnalyticsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record_access(self, actor_tg_id: int | None, action: str, now: datetime, **details: object) -> None:
        """Audit who looked at the figures or took data out (an export holds personal data)."""
        async with self._db.transaction() as tx:
            await audit(tx, actor_tg_id, action, None, now, **details)

    async def glance(self, start: datetime | None, end: datetime) -> Glance:
        """A period at a glance, on the database's own reader (a few index ranges: no pool needed)."""
        return await AnalyticsQueries(self._db).glance(start, end)

    @asynccontextmanager
    async def reading(self, connections: int = 2) -> AsyncIterator[AnalyticsQueries]:
        """Queries on `connections` read-only connections of their own, closed when the block ends (on
        PostgreSQL the database's own pool already reads in parallel)."""
        if not isinstance(self._db, SqliteDatabase):
            yield AnalyticsQueries(self._db, self._db)
            return
        opened: list[aiosqlite.Connection] = []
        try:
            for _ in range(connections):
                connection = await aiosqlite.connect(f"{self._db.path.resolve().as_uri()}?mode=ro", uri=True)
                opened.append(connection)
                connection.row_factory = aiosqlite.Row
                await connection.execute("PRAGMA busy_timeout=5000")
            yield AnalyticsQueries(ReadPool(opened), self._db)
        finally:
            for connection in opened:
                await connection.close()


class AnalyticsQueries:
    """The figures, each one aggregate query, on any reader (the database's own, or a `ReadPool`).

    `writer`, when given, is the database behind the reader: the cohort chart keeps its closed months there.
    """

    def __init__(self, db: Reader, writer: Database | None = None) -> None:
        self._db = db
        self._writer = writer
        self._engine = engine_of(db)

    async def customers(self, start: datetime | None, end: datetime) -> tuple[int, int, int]:
        """(customers known by `end`, new in the period, reachable now); see storage/audience.py for who counts.

        Counted as `glance` counts (index ranges, the team's handful of rows taken out by their ids); the
        reachable ones are the entries of the partial index `customers_audience` less those first seen since
        `end` (a range of `customers_first_seen`: none for a period ending now).
        """
        low, high = _range(start, end)
        team = "SELECT COUNT(*) FROM customers t WHERE t.tg_id IN (SELECT tg_id FROM team) AND t.first_seen_at"
        reachable = "c.tg_id IS NOT NULL AND c.started_at IS NOT NULL AND c.opted_out = 0 AND c.unreachable = 0"
        row = await self._db.fetch_one(
            "SELECT (SELECT COUNT(*) FROM customers) - (SELECT COUNT(*) FROM customers WHERE first_seen_at >= ?)"
            f" - ({team} < ?),"
            " (SELECT COUNT(*) FROM customers WHERE first_seen_at >= ? AND first_seen_at < ?)"
            f" - ({team} >= ? AND t.first_seen_at < ?),"
            f" (SELECT COUNT(*) FROM customers c WHERE {reachable})"
            f" - (SELECT COUNT(*) FROM customers c WHERE {reachable} AND c.first_seen_at >= ?)"
            f" - ({team} < ? AND {reachable.replace('c.', 't.')})",
            (high, high, low, high, low, high, high, high),
        )
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])

    async def glance(self, start: datetime | None, end: datetime) -> Glance:
        """The console home's figures — the same as `customers`, `purchases` and `questions` give for the
        period — each read from an index range whose size is the period's work, not the business's size.

        Customers known by `end` are all rows (SQLite counts a table without reading its rows) less those
        first seen since `end`; the team's own rows (a handful) are taken out by probing their ids.
        """
        low, high = _range(start, end)
        # The team's rows found by their ids (a join would make SQLite scan customers for a bloom filter).
        team = "SELECT COUNT(*) FROM customers t WHERE t.tg_id IN (SELECT tg_id FROM team) AND t.first_seen_at"
        row = await self._db.fetch_one(
            "SELECT k.total, k.new, p.purchases, p.cents, q.missed FROM (SELECT"
            " (SELECT COUNT(*) FROM customers) - (SELECT COUNT(*) FROM customers WHERE first_seen_at >= ?)"
            f" - ({team} < ?) AS total,"
            " (SELECT COUNT(*) FROM customers WHERE first_seen_at >= ? AND first_seen_at < ?)"
            f" - ({team} >= ? AND t.first_seen_at < ?) AS new) k,"
            " (SELECT COUNT(*) AS purchases, COALESCE(SUM(amount_cents), 0) AS cents FROM purchases"
            "  WHERE purchased_at >= ? AND purchased_at < ?) p,"
            " (SELECT COUNT(*) AS missed FROM faq_log WHERE created_at >= ? AND created_at < ? AND outcome = 'missed') q",
            (high, high, low, high, low, high, low, high, low, high),
        )
        assert row is not None
        return Glance(*(int(value) for value in row))

    async def purchases(self, start: datetime | None, end: datetime) -> PurchaseFigures:
        """Purchase figures of a period: the sums from `purchase_days` (whole days) and the rows at its two
        ends; buyers from `purchase_totals` (see `_buyers`)."""
        days = split(start, end)
        sums = await self._db.fetch_one(
            days_sum_sql(
                "purchase_days",
                ("purchases", "revenue_cents", "first_cents"),
                "purchases",
                "purchased_at",
                ("1", "amount_cents", "CASE WHEN number = 1 THEN amount_cents ELSE 0 END"),
            ),
            days.params(),
        )
        assert sums is not None
        buyers, repeat = await self._buyers(start, end)
        if buyers is None:  # purchases after `end`: all time as its summary counts it
            return await self._all_time(end)
        return PurchaseFigures(int(sums[0]), buyers, int(sums[1]), int(sums[2]), repeat)

    async def _buyers(self, start: datetime | None, end: datetime) -> tuple[int | None, int]:
        """(buyers, repeat buyers) in the period. A period ending now (nobody bought at or after its end)
        reads `purchase_totals` alone: a customer bought in it when their last purchase is in it, and made a
        repeat purchase in it when that last one is not their first. Otherwise the plain query (a range of
        the covering index `purchases_period`); for all time, None (see `_all_time`)."""
        latest = await self._db.fetch_one("SELECT MAX(last_at) FROM purchase_totals")
        if latest is None or latest[0] is None or str(latest[0]) < to_db(end):
            low = "" if start is None else to_db(start)
            row = await self._db.fetch_one(
                "SELECT (SELECT COUNT(*) FROM purchase_totals WHERE last_at >= ?),"
                " (SELECT COUNT(*) FROM purchase_totals WHERE purchases = 1 AND last_at >= ?)",
                (low, low),
            )
            assert row is not None
            return int(row[0]), int(row[0]) - int(row[1])
        if start is None:
            return None, 0
        row = await self._db.fetch_one(
            "SELECT COUNT(DISTINCT customer_id), COUNT(DISTINCT CASE WHEN number >= 2 THEN customer_id END)"
            " FROM purchases WHERE purchased_at >= ? AND purchased_at < ?",
            (to_db(start), to_db(end)),
        )
        assert row is not None
        return int(row[0]), int(row[1])

    async def _all_time(self, end: datetime) -> PurchaseFigures:
        """All time when some purchase is dated after `end`: the buyers first seen before it, as before."""
        row = await self._db.fetch_one(
            "SELECT COALESCE(SUM(purchases), 0), COUNT(*), COALESCE(SUM(spent_cents), 0),"
            " (SELECT COALESCE(SUM(amount_cents), 0) FROM purchases WHERE number = 1 AND purchased_at < ?),"
            " COUNT(CASE WHEN purchases >= 2 THEN 1 END) FROM purchase_totals WHERE first_at < ?",
            (to_db(end), to_db(end)),
        )
        assert row is not None
        return PurchaseFigures(*(int(value) for value in row))

    async def retained(self, year_ago: datetime, two_years_ago: datetime) -> tuple[int, int]:
        """(buyers between two years and a year ago, of them buyers in the last year): the base for churn.
        Driven by `purchase_totals_first`; only who bought before and after that year is looked up."""
        low, high = to_db(two_years_ago), to_db(year_ago)
        row = await self._db.fetch_one(
            "SELECT COUNT(*), COUNT(CASE WHEN r.last_at >= ? THEN 1 END) FROM purchase_totals r"
            f" WHERE r.first_at < ? AND r.last_at >= ? AND {bought_in('r')}",
            (high, high, low, low, high, low, high),
        )
        assert row is not None
        return int(row[0]), int(row[1])

    async def base(self) -> BaseFigures:
        """Buyers (their first purchases, by day), of them by purchase count (ranges of
        `purchase_totals_one_off`), and lifetime revenue (by day)."""
        row = await self._db.fetch_one(
            "SELECT (SELECT COALESCE(SUM(buyers), 0) FROM purchase_days),"
            " (SELECT COUNT(*) FROM purchase_totals WHERE purchases = 1),"
            " (SELECT COUNT(*) FROM purchase_totals WHERE purchases BETWEEN 2 AND 3),"
            " (SELECT COALESCE(SUM(revenue_cents), 0) FROM purchase_days)"
        )
        assert row is not None
        buyers, one_off, episodic = int(row[0]), int(row[1]), int(row[2])
        return BaseFigures(buyers, one_off, episodic, buyers - one_off - episodic, int(row[3]))

    async def history_start(self) -> str | None:
        """The earliest purchase's stored time (how much history the projection can rest on), or None."""
        row = await self._db.fetch_one("SELECT MIN(first_at) FROM purchase_totals")
        return None if row is None or row[0] is None else str(row[0])

    async def sleeping(self, now: datetime, one_off_since: datetime) -> Sleeping:
        """Repeat buyers past their `sleeps_at`, and one-off buyers whose purchase is older than `one_off_since`.

        Most buyers sleep, so it is counted as every buyer less those awake (two index ranges: repeat
        buyers not yet at their `sleeps_at`, one-off buyers since `one_off_since`). The team's few rows are
        taken out by their ids; the reachable ones are found by id, in id order (an IN list), not by a join.
        """
        awake = f"((b.purchases >= 2 AND {sleeps_at(self._engine)} > ?) OR (b.purchases = 1 AND b.last_at > ?))"
        awake_ids = (
            f"SELECT customer_id FROM purchase_totals WHERE purchases >= 2 AND {sleeps_at(self._engine)} > ?"
            " UNION ALL SELECT customer_id FROM purchase_totals WHERE purchases = 1 AND last_at > ?"
        )
        team = (
            "customers t JOIN purchase_totals b ON b.customer_id = t.id WHERE t.tg_id IN (SELECT tg_id FROM team)"
        )
        reachable = "c.tg_id IS NOT NULL AND c.started_at IS NOT NULL AND c.opted_out = 0 AND c.unreachable = 0"
        row = await self._db.fetch_one(
            f"SELECT (SELECT COALESCE(SUM(buyers), 0) FROM purchase_days) - (SELECT COUNT(*) FROM {team})"
            f" - (SELECT COUNT(*) FROM ({awake_ids}) a) + (SELECT COUNT(*) FROM {team} AND {awake}),"
            " (SELECT COUNT(*) FROM customers c JOIN purchase_totals b ON b.customer_id = c.id"
            f"  WHERE {is_reachable('c')})"
            f" - (SELECT COUNT(*) FROM customers c WHERE {reachable} AND c.id IN ({awake_ids})"
            "   AND c.tg_id NOT IN (SELECT tg_id FROM team))",
            (*[to_db(now), to_db(one_off_since)] * 3,),
        )
        assert row is not None
        return Sleeping(int(row[0]), int(row[1]))

    async def points(self, start: datetime | None, end: datetime) -> tuple[int, int, int]:
        """(issued, redeemed, expired) points in the period: `points_days` and the ledger at its two ends."""
        row = await self._db.fetch_one(
            days_sum_sql(
                "points_days",
                ("issued", "redeemed", "expired"),
                "points_ledger",
                "created_at",
                (
                    "CASE WHEN delta > 0 THEN delta ELSE 0 END",
                    "CASE WHEN kind = 'redemption' THEN -delta ELSE 0 END",
                    "CASE WHEN kind = 'expiry' THEN -delta ELSE 0 END",
                ),
            ),
            split(start, end).params(),
        )
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])

    async def coupons(self, start: datetime | None, end: datetime) -> tuple[int, int]:
        """(coupons issued in the period, of them redeemed so far)."""
        low, high = _range(start, end)
        row = await self._db.fetch_one(
            "SELECT COUNT(*), COUNT(redeemed_at) FROM coupons WHERE issued_at >= ? AND issued_at < ?", (low, high)
        )
        assert row is not None
        return int(row[0]), int(row[1])

    async def leads(self, start: datetime | None, end: datetime) -> tuple[int, int, int]:
        """(leads opened in the period, of them won, lost)."""
        low, high = _range(start, end)
        row = await self._db.fetch_one(
            "SELECT COUNT(*), COUNT(CASE WHEN state = 'won' THEN 1 END), COUNT(CASE WHEN state = 'lost' THEN 1 END)"
            " FROM leads WHERE created_at >= ? AND created_at < ?",
            (low, high),
        )
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])

    async def questions(self, start: datetime | None, end: datetime) -> dict[str, int]:
        """Questions put to the FAQ in the period by outcome (answered, suggested, missed)."""
        low, high = _range(start, end)
        rows = await self._db.fetch_all(
            "SELECT outcome, COUNT(*) FROM faq_log WHERE created_at >= ? AND created_at < ? GROUP BY outcome",
            (low, high),
        )
        return {row[0]: int(row[1]) for row in rows}

    async def sequences(self, start: datetime | None, end: datetime) -> list[Row]:
        """Per sequence: enrolments of customers started in the period and those followed by a purchase.

        A purchase converts an enrolment when it falls between the enrolment's first delivered message and
        seven days after it ended (or now, while it runs); see `sequence_converted`. The few sequence names
        are found by skipping through `enrollments_started` (sequence first), and each is counted in its own
        range of it — no sort of every enrolment for a GROUP BY; the team's few rows are taken out by id.
        """
        low, high = _range(start, end)
        mine = (
            "FROM enrollments e WHERE e.sequence = s.seq AND e.started_at >= ? AND e.started_at < ?"
            " AND e.customer_id NOT IN (SELECT t.id FROM customers t WHERE t.tg_id IN (SELECT tg_id FROM team))"
        )
        rows = await self._db.fetch_all(
            "WITH RECURSIVE s(seq) AS (SELECT MIN(sequence) FROM enrollments"
            " UNION ALL SELECT (SELECT MIN(sequence) FROM enrollments WHERE sequence > s.seq) FROM s"
            " WHERE s.seq IS NOT NULL)"
            f" SELECT s.seq AS sequence, (SELECT COUNT(*) {mine}) AS enrolled,"
            f" (SELECT COUNT(*) {mine} AND e.first_sent_at IS NOT NULL AND {sequence_converted(self._engine, 'e')})"
            " AS converted FROM s WHERE s.seq IS NOT NULL",
            (low, high, low, high, high, CONVERSION_WINDOW_SECONDS),
        )
        return [row for row in rows if row["enrolled"]]

    async def broadcasts(self, start: datetime | None, end: datetime, days: int) -> list[Row]:
        """Per broadcast delivered in the period: customers reached and those who bought within `days` after."""
        low, high = _range(start, end)
        return await self._db.fetch_all(
            "SELECT o.broadcast_id AS id, b.message, COUNT(DISTINCT o.customer_id) AS reached,"
            " COUNT(DISTINCT CASE WHEN EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = o.customer_id"
            f"  AND p.purchased_at > o.sent_at AND p.purchased_at <= {plus_seconds(self._engine, 'o.sent_at', '?')})"
            "  THEN o.customer_id END) AS converted"
            " FROM outbox o JOIN broadcasts b ON b.id = o.broadcast_id"
            " WHERE o.broadcast_id IS NOT NULL AND o.state = 'sent' AND o.sent_at >= ? AND o.sent_at < ?"
            " GROUP BY o.broadcast_id, b.message ORDER BY o.broadcast_id",
            (days * 86400, low, high),
        )

    async def monthly_revenue(self, bounds: Sequence[datetime]) -> list[tuple[int, int, int]]:
        """Per month index: (index, cents from first purchases, cents from later purchases), from
        `purchase_days` and the purchases between each local midnight and the UTC midnight next to it."""
        parts = [split(start, end) for start, end in pairwise(bounds)]
        values = ", ".join("(?, ?, ?, ?, ?, ?, ?)" for _ in parts)
        params: list[object] = []
        for index, part in enumerate(parts):
            params += [index, *part.params()]
        first = "CASE WHEN p.number = 1 THEN p.amount_cents ELSE 0 END"
        rows = await self._db.fetch_all(
            f"WITH b(i, a_day, b_day, s, a, z, e) AS (VALUES {values})"
            " SELECT i, COALESCE(SUM(f), 0), COALESCE(SUM(t) - SUM(f), 0) FROM ("
            " SELECT b.i, d.first_cents AS f, d.revenue_cents AS t FROM b"
            "  JOIN purchase_days d ON d.day >= b.a_day AND d.day < b.b_day"
            f" UNION ALL SELECT b.i, {first}, p.amount_cents FROM b"
            "  JOIN purchases p ON p.purchased_at >= b.s AND p.purchased_at < b.a"
            f" UNION ALL SELECT b.i, {first}, p.amount_cents FROM b"
            "  JOIN purchases p ON p.purchased_at >= b.z AND p.purchased_at < b.e"
            ") parts GROUP BY i",
            params,
        )
        return [(int(row[0]), int(row[1]), int(row[2])) for row in rows]

    async def cohorts(self, bounds: Sequence[datetime]) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
        """Cohorts by month of first purchase: ({cohort: size}, {(cohort, month): buyers that month}); the
        grid a month at a time, closed months kept (storage/cohort_columns.py)."""
        cte, params = _bounds_cte(bounds)
        sizes = await self._db.fetch_all(
            f"WITH {cte} SELECT b.i, COUNT(*) FROM b JOIN purchase_totals r"
            " ON r.first_at >= b.s AND r.first_at < b.e GROUP BY b.i",
            params,
        )
        active = await CohortColumns(self._db, self._writer).grid(bounds)
        return {int(r[0]): int(r[1]) for r in sizes}, active
