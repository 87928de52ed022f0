"""Every /stats figure read from the kept aggregates (migration 0027) equals the plain query over purchases.

The plain queries are the ones /stats ran before 0027, kept here as the reference. The data: bench's
generator (hash-chosen customers, purchases over three years, points, coupons, enrolments) at a small size,
its purchases written through the triggers, and on top of it what the aggregates must follow — purchases
recorded late (back-dated: the later ones renumbered, a new first purchase), purchases on UTC and local
midnights, customers who asked to be forgotten, an owner who buys, enrolments that reached someone. Every
period (7d … all and two chosen ranges) is compared in three zones (whole-hour, half-hour, west of UTC),
with nobody buying after the period's end (/stats) and with a purchase dated later (a past range).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from bench import dataset
from flows.analytics import PERIODS, date_range, local_midnight, month_starts, parse_period
from storage.analytics import AnalyticsQueries, BaseFigures, PurchaseFigures, Sleeping, sequence_converted
from storage.audience import is_customer, is_reachable
from storage.db import Database, Row
from storage.dialect import engine_of, sleeps_at
from storage.forgetting import erase
from storage.purchases import insert_purchase, make_room
from storage.timefmt import to_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ZONES = ("Europe/Kyiv", "Asia/Kolkata", "America/New_York")


class Plain:
    """The queries /stats ran before migration 0027: aggregates over purchases, points and coupons."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._engine = engine_of(db)

    async def one(self, sql: str, params: Sequence[object] = ()) -> Row:
        row = await self._db.fetch_one(sql, tuple(params))
        assert row is not None
        return row

    async def customers(self, start: datetime | None, end: datetime) -> tuple[int, int, int]:
        row = await self.one(
            "SELECT COUNT(*), COUNT(CASE WHEN c.first_seen_at >= ? THEN 1 END),"
            f" COUNT(CASE WHEN {is_reachable('c')} THEN 1 END)"
            f" FROM customers c WHERE c.first_seen_at < ? AND {is_customer('c')}",
            (_low(start), to_db(end)),
        )
        return int(row[0]), int(row[1]), int(row[2])

    async def purchases(self, start: datetime | None, end: datetime) -> PurchaseFigures:
        if start is None:
            row = await self.one(
                "SELECT COALESCE(SUM(purchases), 0), COUNT(*), COALESCE(SUM(spent_cents), 0),"
                " (SELECT COALESCE(SUM(amount_cents), 0) FROM purchases WHERE number = 1 AND purchased_at < ?),"
                " COUNT(CASE WHEN purchases >= 2 THEN 1 END) FROM purchase_totals WHERE first_at < ?",
                (to_db(end), to_db(end)),
            )
        else:
            row = await self.one(
                "SELECT COUNT(*), COUNT(DISTINCT customer_id), COALESCE(SUM(amount_cents), 0),"
                " COALESCE(SUM(CASE WHEN number = 1 THEN amount_cents END), 0),"
                " COUNT(DISTINCT CASE WHEN number >= 2 THEN customer_id END)"
                " FROM purchases WHERE purchased_at >= ? AND purchased_at < ?",
                (to_db(start), to_db(end)),
            )
        return PurchaseFigures(*(int(value) for value in row))

    async def retained(self, year_ago: datetime, two_years_ago: datetime) -> tuple[int, int]:
        y, y2 = to_db(year_ago), to_db(two_years_ago)
        row = await self.one(
            "SELECT COUNT(*), COUNT(CASE WHEN r.last_at >= ? THEN 1 END) FROM purchase_totals r"
            " WHERE r.first_at < ? AND r.last_at >= ? AND EXISTS (SELECT 1 FROM purchases p"
            "  WHERE p.customer_id = r.customer_id AND p.purchased_at >= ? AND p.purchased_at < ?)",
            (y, y, y2, y2, y),
        )
        return int(row[0]), int(row[1])

    async def base(self) -> BaseFigures:
        row = await self.one(
            "SELECT COUNT(*), COUNT(CASE WHEN purchases = 1 THEN 1 END),"
            " COUNT(CASE WHEN purchases BETWEEN 2 AND 3 THEN 1 END),"
            " COUNT(CASE WHEN purchases >= 4 THEN 1 END), COALESCE(SUM(spent_cents), 0) FROM purchase_totals"
        )
        return BaseFigures(*(int(value) for value in row))

    async def sleeping(self, now: datetime, one_off_since: datetime) -> Sleeping:
        row = await self.one(
            f"SELECT COUNT(*), COUNT(CASE WHEN {is_reachable('c')} THEN 1 END)"
            " FROM purchase_totals JOIN customers c ON c.id = purchase_totals.customer_id"
            f" WHERE ((purchases >= 2 AND {sleeps_at(self._engine)} <= ?) OR (purchases = 1 AND last_at <= ?))"
            f" AND {is_customer('c')}",
            (to_db(now), to_db(one_off_since)),
        )
        return Sleeping(int(row[0]), int(row[1]))

    async def points(self, start: datetime | None, end: datetime) -> tuple[int, int, int]:
        row = await self.one(
            "SELECT COALESCE(SUM(CASE WHEN delta > 0 THEN delta END), 0),"
            " COALESCE(SUM(CASE WHEN kind = 'redemption' THEN -delta END), 0),"
            " COALESCE(SUM(CASE WHEN kind = 'expiry' THEN -delta END), 0)"
            " FROM points_ledger WHERE created_at >= ? AND created_at < ?",
            (_low(start), to_db(end)),
        )
        return int(row[0]), int(row[1]), int(row[2])

    async def coupons(self, start: datetime | None, end: datetime) -> tuple[int, int]:
        row = await self.one(
            "SELECT COUNT(*), COUNT(redeemed_at) FROM coupons WHERE issued_at >= ? AND issued_at < ?",
            (_low(start), to_db(end)),
        )
        return int(row[0]), int(row[1])

    async def sequences(self, start: datetime | None, end: datetime) -> list[tuple[str, int, int]]:
        rows = await self._db.fetch_all(
            f"SELECT e.sequence, COUNT(*), COUNT(CASE WHEN {sequence_converted(self._engine, 'e')} THEN 1 END)"
            " FROM enrollments e JOIN customers c ON c.id = e.customer_id"
            f" WHERE e.started_at >= ? AND e.started_at < ? AND {is_customer('c')} GROUP BY e.sequence",
            (to_db(end), 7 * 86400, _low(start), to_db(end)),
        )
        return sorted((str(r[0]), int(r[1]), int(r[2])) for r in rows)

    async def monthly_revenue(self, bounds: Sequence[datetime]) -> dict[int, tuple[int, int]]:
        cte, params = _bounds_cte(bounds)
        rows = await self._db.fetch_all(
            f"WITH {cte} SELECT b.i, COALESCE(SUM(CASE WHEN p.number = 1 THEN p.amount_cents END), 0),"
            " COALESCE(SUM(CASE WHEN p.number > 1 THEN p.amount_cents END), 0)"
            " FROM b JOIN purchases p ON p.purchased_at >= b.s AND p.purchased_at < b.e GROUP BY b.i",
            params,
        )
        return {int(r[0]): (int(r[1]), int(r[2])) for r in rows}

    async def cohorts(self, bounds: Sequence[datetime]) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
        cte, params = _bounds_cte(bounds)
        sizes = await self._db.fetch_all(
            f"WITH {cte} SELECT b.i, COUNT(*) FROM b JOIN purchase_totals r"
            " ON r.first_at >= b.s AND r.first_at < b.e GROUP BY b.i",
            params,
        )
        active = await self._db.fetch_all(
            f"WITH {cte} SELECT c.i, m.i, COUNT(*)"
            " FROM b c JOIN purchase_totals r ON r.first_at >= c.s AND r.first_at < c.e"
            " JOIN b m ON m.i >= c.i AND m.s <= r.last_at"
            " WHERE EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = r.customer_id"
            "  AND p.purchased_at >= m.s AND p.purchased_at < m.e)"
            " GROUP BY c.i, m.i",
            params,
        )
        return {int(r[0]): int(r[1]) for r in sizes}, {(int(r[0]), int(r[1])): int(r[2]) for r in active}


def _low(start: datetime | None) -> str:
    return "" if start is None else to_db(start)


def _bounds_cte(bounds: Sequence[datetime]) -> tuple[str, list[object]]:
    # The index is cast: PostgreSQL types an untyped VALUES parameter as text, and the plain cohort query
    # compared months as text there ('10' < '9'), losing the cells of months 10 and 11 for cohorts 2–9.
    values = ", ".join("(CAST(? AS INTEGER), ?, ?)" for _ in bounds[1:])
    params: list[object] = []
    for index, (start, end) in enumerate(pairwise(bounds)):
        params += [index, to_db(start), to_db(end)]
    return f"b(i, s, e) AS (VALUES {values})", params


async def _buy(db: Database, customer_id: int, cents: int, when: datetime) -> None:
    """A purchase as the product records it: numbered in time order, later ones moved up."""
    async with db.transaction() as tx:
        number = await make_room(tx, customer_id, when)
        await insert_purchase(
            tx,
            customer_id=customer_id,
            number=number,
            amount=Decimal(cents) / 100,
            points_spent=0,
            category=None,
            source="api",
            external_id=None,
            staff_tg_id=None,
            purchased_at=when,
            now=NOW,
        )


async def build(db: Database) -> None:
    """The generator's business, then the cases the kept figures must follow (see the module docstring)."""
    await dataset.generate(db, 300, 3000, NOW)
    ids = [int(r[0]) for r in await db.fetch_all("SELECT id FROM customers ORDER BY id LIMIT 40")]
    for n, customer_id in enumerate(ids[:12]):  # late records, some before the customer's first purchase
        await _buy(db, customer_id, 1000 + n, NOW - timedelta(days=40 * n + 900 - n))
        await _buy(db, customer_id, 700 + n, NOW - timedelta(days=3 * n, hours=n + 1))
    kyiv, kolkata, new_york = (ZoneInfo(zone) for zone in ZONES)
    for n, customer_id in enumerate(ids[12:24]):  # on midnights, UTC and local, and on the periods' edges
        day = date(2026, 11 - n % 10, 1)
        edges = [
            datetime.combine(day, datetime.min.time(), UTC),
            local_midnight(day, kyiv).astimezone(UTC),
            local_midnight(day, kolkata).astimezone(UTC),
            local_midnight(day, new_york).astimezone(UTC),
            NOW - timedelta(days=(7, 30, 90, 365)[n % 4]),
        ]
        for when in edges:
            await _buy(db, customer_id, 2500 + n, when)
    async with db.transaction() as tx:
        for customer_id in ids[24:28]:  # forgotten: anonymous rows whose purchases still count
            await erase(tx, customer_id, NOW - timedelta(days=5))
        owner = await tx.fetch_one("SELECT tg_id FROM customers WHERE id = ?", (ids[30],))
        assert owner is not None
        await tx.execute("INSERT INTO owners (tg_id) VALUES (?)", (owner[0],))
        await tx.execute(  # every third enrolment reached its customer a day after it started
            f"UPDATE enrollments SET first_sent_at = {_plus_day(db)} WHERE id % 3 = 0"
        )


def _plus_day(db: Database) -> str:
    if db.engine == "postgresql":
        return "to_char(CAST(started_at AS timestamp) + interval '1 day', 'YYYY-MM-DD HH24:MI:SS')"
    return "datetime(started_at, '+1 day')"


async def compare(db: Database, zone_name: str, now: datetime) -> int:
    """Every figure, the plain way and the kept way, for every period ending `now` in `zone_name`."""
    zone = ZoneInfo(zone_name)
    plain, kept = Plain(db), AnalyticsQueries(db, db)
    periods = [parse_period(key, now, zone) for key in PERIODS]
    day = now.astimezone(zone).date()
    for first, last in ((330, 260), (1, 1)):  # chosen ranges: a past stretch, and yesterday
        periods.append(date_range(str(day - timedelta(days=first)), str(day - timedelta(days=last)), now, zone))
    year = timedelta(days=365)
    compared = 0
    for period in periods:
        start, end = period.start, period.end
        for figure in ("customers", "purchases", "points", "coupons"):
            assert await getattr(kept, figure)(start, end) == await getattr(plain, figure)(start, end), (
                figure,
                period.key,
            )
        assert await kept.purchases(end - year, end) == await plain.purchases(end - year, end), period.key
        got = sorted((str(r[0]), int(r[1]), int(r[2])) for r in await kept.sequences(start, end))
        assert got == await plain.sequences(start, end), period.key
        compared += 6
    assert await kept.retained(now - year, now - 2 * year) == await plain.retained(now - year, now - 2 * year)
    assert await kept.base() == await plain.base()
    for days in (7, 30, 90):
        since = now - timedelta(days=days)
        assert await kept.sleeping(now, since) == await plain.sleeping(now, since), days
    bounds = [local_midnight(day, zone) for day in month_starts(now, zone)]
    revenue = {i: (new, later) for i, new, later in await kept.monthly_revenue(bounds) if new or later}
    assert revenue == await plain.monthly_revenue(bounds)
    expected = await plain.cohorts(bounds)
    assert await kept.cohorts(bounds) == expected  # computed, the closed months kept
    assert await kept.cohorts(bounds) == expected  # the closed months read back
    return compared + 6


@pytest.mark.parametrize("zone", ZONES)
async def test_every_figure_from_the_kept_days_equals_the_plain_query(db: Database, zone: str) -> None:
    await build(db)
    assert await db.fetch_value("SELECT COUNT(*) FROM purchases WHERE purchased_at >= ?", (to_db(NOW),)) == 0
    assert await compare(db, zone, NOW) > 50
    # A purchase dated after the end (recorded ahead, or a range in the past): the other path, same figures.
    customer_id = int(await db.fetch_value("SELECT MIN(id) FROM customers"))
    await _buy(db, customer_id, 4200, NOW + timedelta(days=3))
    await compare(db, zone, NOW)
    await compare(db, zone, NOW - timedelta(days=200))


async def test_a_late_purchase_in_a_closed_month_changes_its_kept_cohort_column(db: Database) -> None:
    await build(db)
    zone = ZoneInfo(ZONES[0])
    bounds = [local_midnight(day, zone) for day in month_starts(NOW, zone)]
    plain, kept = Plain(db), AnalyticsQueries(db, db)
    before = await kept.cohorts(bounds)
    assert int(await db.fetch_value("SELECT COUNT(*) FROM cohort_columns")) == len(bounds) - 2  # closed months
    # A one-off buyer of the chart's second month buys again in its fourth (closed), recorded today.
    customer_id = int(
        await db.fetch_value(
            "SELECT MIN(customer_id) FROM purchase_totals WHERE first_at >= ? AND purchases = 1 AND last_at < ?",
            (to_db(bounds[1]), to_db(bounds[2])),
        )
    )
    await _buy(db, customer_id, 990, bounds[3] + timedelta(days=2))
    after = await kept.cohorts(bounds)
    assert after == await plain.cohorts(bounds)
    assert after[1][(1, 3)] == before[1].get((1, 3), 0) + 1  # the kept column was recounted, not read stale


async def test_writing_a_purchase_keeps_its_day_and_points_in_step(db: Database) -> None:
    """A purchase, a back-dated one that takes over as first purchase, and a points credit move the days."""
    await build(db)
    customer_id = int(
        await db.fetch_value("SELECT customer_id FROM purchase_totals ORDER BY first_at DESC LIMIT 1")
    )
    first_at = str(
        await db.fetch_value("SELECT first_at FROM purchase_totals WHERE customer_id = ?", (customer_id,))
    )
    earlier = datetime.fromisoformat(first_at).replace(tzinfo=UTC) - timedelta(days=1)
    await _buy(db, customer_id, 1234, earlier)
    days = {
        str(r[0]): (int(r[1]), int(r[2]), int(r[3]), int(r[4]))
        for r in await db.fetch_all("SELECT day, purchases, revenue_cents, first_cents, buyers FROM purchase_days")
    }
    rows = await db.fetch_all(
        "SELECT substr(purchased_at, 1, 10), COUNT(*), SUM(amount_cents),"
        " SUM(CASE WHEN number = 1 THEN amount_cents ELSE 0 END), SUM(CASE WHEN number = 1 THEN 1 ELSE 0 END)"
        " FROM purchases GROUP BY substr(purchased_at, 1, 10)"
    )
    assert days == {str(r[0]): (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}
    assert days[to_db(earlier)[:10]][2] >= 1234  # the new first purchase counts as new revenue on its day
