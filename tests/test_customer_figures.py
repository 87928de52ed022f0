"""Customer figures an owner can trust: who is a customer, who is reachable, imported history, sequence credit,
purchase numbers that follow purchase time, what the cashier collects, and the lifetime value's assumptions."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.app import build_imports
from flows.analytics import PERIODS, Analytics, parse_period
from flows.clock import FakeClock
from flows.content import example_content_path, load_content
from flows.content.loyalty import LifetimeAssumptions
from flows.exports import export_csv
from flows.imports import Imports, Opener
from flows.purchases import NewPurchase
from storage.analytics import AnalyticsRepo
from storage.db import Database, load_migrations, open_database
from storage.sqlite import _migrate
from tests.broadcast_helpers import customer, owner
from tests.conftest import Harness, make_settings
from tests.loyalty_helpers import hire


def importer(harness: Harness) -> Imports:
    s = harness.services
    return Imports(
        s["db"], s["purchases"], s["loyalty"], s["ledger"], s["content"], harness.settings.zone, Decimal(1_000_000)
    )


async def stats(harness: Harness, period: str = "30d") -> Any:
    harness.clock.advance(timedelta(minutes=1))  # a period ends now, exclusive: what just happened is in it
    analytics: Analytics = harness.services["analytics"]
    return await analytics.stats(analytics.period(period), charts=False)


@pytest.mark.parametrize("settings_overrides", [{"owner_ids": ""}])
async def test_with_no_owner_ids_customers_are_still_counted(harness: Harness) -> None:
    await customer(harness, 1001, "Anna")
    await customer(harness, 1002, "Boris")
    figures = await stats(harness)
    assert (figures.customers_total, figures.customers_new, figures.customers_reachable) == (2, 2, 2)
    assert (await harness.services["segments"].view("everyone")).count == 2


async def test_owners_and_staff_are_not_customers_anywhere(harness: Harness) -> None:
    await owner(harness).send("/start")
    await hire(harness)  # the cashier opened the bot with their invite
    await customer(harness, 1001, "Anna")
    figures = await stats(harness)
    assert (figures.customers_total, figures.customers_reachable) == (1, 1)
    view = await harness.services["segments"].view("everyone")
    assert view.count == 1 and [c.first_name for c in view.sample] == ["Anna"]
    out = io.StringIO()
    await export_csv(harness.services["db"], "customers", out, harness.settings.zone, "UAH")
    assert [line.split(",")[1] for line in out.getvalue().splitlines()[1:]] == ["1001"]


async def test_an_imported_customer_is_neither_new_nor_reachable_until_they_start(harness: Harness) -> None:
    imports = importer(harness)
    bad = await imports.customers_csv(text_file("telegram_id,first_name,first_seen\n333,Ivan,someday\n"))
    assert [r.message for r in bad.rejected] == ["first_seen: a past date such as 2024-03-15 or 15.03.2024"]
    csv = "telegram_id,first_name,first_seen\n111,Olga,\n222,Taras,15.03.2024\n"
    assert (await imports.customers_csv(text_file(csv))).committed
    report = await imports.purchases_csv(text_file("external_id,telegram_id,amount,date\nP1,111,300,2025-06-01\n"))
    assert report.committed
    figures = await stats(harness)
    # Olga first came with her purchase, Taras when the file says: neither is new this month, nor reachable.
    assert (figures.customers_total, figures.customers_new, figures.customers_reachable) == (2, 0, 0)
    assert (await harness.services["segments"].view("everyone")).count == 0
    row = await harness.services["db"].fetch_one("SELECT first_seen_at FROM customers WHERE tg_id = 111")
    purchase = await harness.services["db"].fetch_one("SELECT purchased_at FROM purchases")
    # First seen at the earliest purchase, which a date-only CSV date puts at local noon (12:00 in Kyiv, +3).
    assert row is not None and purchase is not None
    assert row[0] == purchase[0] == "2025-06-01 09:00:00"
    olga = await harness.services["customers"].repo.by_tg_id(111)
    assert olga is not None and olga.opted_out  # an import is no consent to marketing
    await harness.chat(111, first_name="Olga").send("/start")
    assert (await stats(harness)).customers_reachable == 1


async def test_a_sequence_gets_credit_only_for_customers_it_wrote_to(harness: Harness) -> None:
    anna, boris = await customer(harness, 1001, "Anna"), await customer(harness, 1002, "Boris")
    s = harness.services
    assert await s["sequences"].enroll(anna.id, "win-back")
    assert await s["sequences"].enroll(boris.id, "win-back")
    # Boris buys before the win-back wrote to him (its step waits for 11:00): no credit for it.
    await s["purchases"].record(NewPurchase(boris.id, Decimal(100), "api", external_id="b", notify=False))
    replies = await owner(harness).send("/sequences")
    assert "bought during or ≤7 days after: 0" in str(replies[-1])
    for _ in range(6):  # the step goes out at 11:00 in Kyiv: let the day come and the sender run
        await harness.advance(hours=4)
    assert any("We haven't seen you" in (m.plain_text or "") for m in harness.chat(1001).messages())
    assert not any("We haven't seen you" in (m.plain_text or "") for m in harness.chat(1002).messages())
    await s["purchases"].record(NewPurchase(anna.id, Decimal(100), "api", external_id="a", notify=False))
    replies = await owner(harness).send("/sequences")
    assert "bought during or ≤7 days after: 1 (50%)" in str(replies[-1])
    [winback] = [c for c in (await stats(harness)).sequences if c.name == "win-back"]
    assert (winback.reached, winback.converted) == (2, 1)


PURCHASES = [  # (external id, telegram id, amount, date): three customers over a year and a half
    ("A1", 111, "100", "2024-09-10"),
    ("A2", 111, "120", "2025-03-01"),
    ("A3", 111, "90", "2025-12-20"),
    ("A4", 111, "200", "2026-01-02 18:30"),
    ("B1", 222, "50", "2025-11-30"),
    ("B2", 222, "70", "2025-12-28"),
    ("C1", 333, "400", "2025-12-15"),
    ("C2", 333, "40", "2025-12-15 09:00"),
]


def text_file(text: str) -> Opener:
    """A CSV text as the import opens a file: anew for each of its two passes."""
    return lambda: io.BytesIO(text.encode())


def purchases_csv(rows: list[tuple[str, int, str, str]]) -> str:
    return "external_id,telegram_id,amount,date\n" + "".join(f"{e},{t},{a},{d}\n" for e, t, a, d in rows)


async def imported_stats(tmp_path: Path, name: str, rows: list[tuple[str, int, str, str]]) -> list[Any]:
    """Import the customers, then `rows` in the given order, into a fresh database; /stats for every period."""
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    settings = make_settings(tmp_path / name, "http://127.0.0.1:9")
    (tmp_path / name).mkdir()
    db = await open_database(settings)
    try:
        content = load_content(example_content_path())
        clock = FakeClock(now)
        imports = build_imports(settings, content, clock, db)
        assert (await imports.customers_csv(text_file("telegram_id\n111\n222\n333\n"))).committed
        assert (await imports.purchases_csv(text_file(purchases_csv(rows)))).committed
        numbers = await db.fetch_all(
            "SELECT c.tg_id, p.number FROM purchases p JOIN customers c ON c.id = p.customer_id"
            " ORDER BY c.tg_id, p.purchased_at, p.number"
        )
        for tg_id in (111, 222, 333):  # numbers follow purchase time, whatever the file's order
            assert [r[1] for r in numbers if r[0] == tg_id] == list(
                range(1, 1 + sum(r[0] == tg_id for r in numbers))
            )
        analytics = Analytics(AnalyticsRepo(db), content, clock, settings.zone, broadcast_days=7)
        return [await analytics.stats(parse_period(key, now, settings.zone)) for key in PERIODS]
    finally:
        await db.close()


async def test_importing_the_same_purchases_in_any_order_gives_the_same_stats(tmp_path: Path) -> None:
    by_date = await imported_stats(tmp_path, "dated", PURCHASES)
    shuffled = PURCHASES[:]
    random.Random(7).shuffle(shuffled)
    backwards = await imported_stats(tmp_path, "backwards", PURCHASES[::-1])
    assert by_date == backwards == await imported_stats(tmp_path, "shuffled", shuffled)
    month = by_date[PERIODS.index("30d")]  # 6 Dec – 5 Jan: A3, A4, B2, C1, C2
    assert (month.buyers, month.repeat_buyers) == (3, 3)  # A's 3rd/4th, B's 2nd, C's 2nd (same day, later)
    # Only C's first purchase is new revenue: the 09:00 one, as a date alone means noon.
    assert month.revenue_new == Decimal("40.00")


async def test_the_seeds_car_buyer_is_worth_332_500_dollars(harness: Harness) -> None:
    """A car of $25,000 a year for ten years, plus service at 33% of the car's price: $332,500 (the seeds).

    The owner sets the expected lifetime (10 years) and the currency in the content file; the purchases give
    the rest: last year one car and three services of $2,750 → an average check of $8,312.50 × 4 a year.
    """
    content = harness.services["content"]
    rules = content.loyalty.model_copy(
        update={"currency": "USD", "lifetime": LifetimeAssumptions(years=Decimal(10))}
    )
    harness.services["analytics"].content = content.model_copy(update={"loyalty": rules})
    buyer = await customer(harness, 1001, "Taras")
    now = harness.clock.now()
    history = [(700, "25000"), (380, "2750"), (300, "25000"), (200, "2750"), (100, "2750"), (10, "2750")]
    for n, (days_ago, amount) in enumerate(history):
        await harness.services["purchases"].record(
            NewPurchase(
                buyer.id,
                Decimal(amount),
                "api",
                external_id=f"car{n}",
                purchased_at=now - timedelta(days=days_ago),
                notify=False,
            )
        )
    life = (await stats(harness, "365d")).lifetime
    assert (life.check, life.per_year, life.years, life.projected) == (
        Decimal("8312.50"),
        Decimal("4.00"),
        Decimal(10),
        Decimal("332500.00"),
    )
    replies = await owner(harness).send("/stats 365d")
    text = "\n".join(str(r) for r in replies)
    assert "Lifetime value, projected: $332,500.00 = $8,312.50 × 4 a year × 10 years (your assumption)" in text
    assert "UAH" not in text and "₴" not in text


async def test_gross_margin_scales_the_projection_and_young_history_is_scaled_to_a_year(harness: Harness) -> None:
    content = harness.services["content"]
    assumptions = LifetimeAssumptions(years=Decimal(2), gross_margin_percent=Decimal(25))
    harness.services["analytics"].content = content.model_copy(
        update={"loyalty": content.loyalty.model_copy(update={"lifetime": assumptions})}
    )
    buyer = await customer(harness, 1001, "Anna")
    now = harness.clock.now()
    for n, days_ago in enumerate((90, 60, 30)):  # three purchases in the business's first 90 days
        await harness.services["purchases"].record(
            NewPurchase(
                buyer.id, Decimal(100), "api", external_id=f"m{n}", purchased_at=now - timedelta(days=days_ago)
            )
        )
    life = (await stats(harness, "365d")).lifetime
    # 3 purchases in 90 days ≈ 12.17 a year; × 100 × 2 years × 25 %.
    assert life.per_year == Decimal("12.17") and life.projected == Decimal("608.50")


async def test_a_back_dated_purchase_takes_its_place_and_gifts_go_by_count(harness: Harness) -> None:
    """Live sales on two days, then one from last month through the API: it becomes no. 1, the others move
    up; the 2nd-purchase gift came with the second sale recorded and is not given again."""
    anna = await customer(harness, 1001, "Anna")
    s, now = harness.services, harness.clock.now()

    async def sale(key: str, when: datetime) -> int:
        purchase = NewPurchase(anna.id, Decimal(100), "api", external_id=key, purchased_at=when, notify=False)
        return (await s["purchases"].record(purchase)).number

    assert await sale("live1", now - timedelta(days=2)) == 1
    assert await sale("live2", now - timedelta(days=1)) == 2
    assert await sale("old", now - timedelta(days=30)) == 1
    rows = await s["db"].fetch_all("SELECT external_id, number FROM purchases ORDER BY purchased_at")
    assert [(r[0], r[1]) for r in rows] == [("old", 1), ("live1", 2), ("live2", 3)]
    coupons = await s["coupons"].repo.of_customer(anna.id)
    assert [c.campaign for c in coupons] == ["cookie"]  # one 2nd-purchase gift, kept; the 4th is not due


@pytest.mark.engines(
    "sqlite", reason="builds a pre-0009 SQLite file with aiosqlite (PostgreSQL starts from all migrations)"
)
async def test_migration_renumbers_old_purchases_and_fills_first_seen_and_started(tmp_path: Path) -> None:
    """A database from before 0009: purchases numbered in file order, an imported customer seen 'today'."""
    path = tmp_path / "old.db"
    async with aiosqlite.connect(path) as conn:
        await _migrate(conn, [m for m in load_migrations() if m.version < 9])
        await conn.executescript(
            "INSERT INTO customers (id, tg_id, first_seen_at, last_seen_at, source) VALUES"
            " (1, 111, '2026-01-01 10:00:00', '2026-01-01 10:00:00', 'import'),"
            " (2, 222, '2025-01-01 10:00:00', '2025-01-01 10:00:00', NULL);"
            "INSERT INTO events (customer_id, kind, created_at) VALUES (2, 'started', '2025-01-01 10:00:00');"
            "INSERT INTO purchases (id, customer_id, number, amount, amount_cents, source, purchased_at, created_at)"
            " VALUES (1, 1, 1, '10', 1000, 'csv', '2025-06-01 09:00:00', '2026-01-01 10:00:00'),"
            " (2, 1, 2, '10', 1000, 'csv', '2025-02-01 10:00:00', '2026-01-01 10:00:00'),"
            " (3, 1, 3, '10', 1000, 'csv', '2025-04-01 10:00:00', '2026-01-01 10:00:00');"
        )
        await conn.commit()
    db = await Database.open(path)
    try:
        numbers = await db.fetch_all("SELECT id, number FROM purchases ORDER BY number")
        assert [tuple(r) for r in numbers] == [(2, 1), (3, 2), (1, 3)]
        rows = await db.fetch_all("SELECT id, first_seen_at, started_at FROM customers ORDER BY id")
        assert [tuple(r) for r in rows] == [
            (1, "2025-02-01 10:00:00", None),
            (2, "2025-01-01 10:00:00", "2025-01-01 10:00:00"),
        ]
    finally:
        await db.close()
