"""Looking customers up at scale: 100,000 customers (Latin and Cyrillic names, usernames, phones, cards).

Goal (issue 12): the console's pages render under 200 ms at 100,000 customers, so a search (what the
search box runs on every keystroke), a customer's overview and a page of a segment list must each take a
small part of that. Every figure is the median of 20 runs on the same file, built once with the real
migrations (so the name index's triggers run for every customer, as in production).
Run: `python -m bench people [--customers N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

from bench.common import median, table
from flows.clock import FakeClock
from flows.codes import new_code
from flows.content import example_content_path, load_content
from flows.loyalty import Loyalty
from flows.people import People
from flows.people_search import PeopleSearch
from flows.segments import Segments
from storage.customers import CustomersRepo
from storage.db import Database
from storage.enrollments import EnrollmentsRepo
from storage.ledger import LedgerRepo
from storage.messages import MessagesRepo
from storage.people import PeopleRepo
from storage.purchases import PurchasesRepo
from storage.segments import SegmentsRepo
from storage.timefmt import to_db

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
REPEATS = 20
FIRST = ["Anna", "Olena", "Ivan", "Maria", "Dmytro", "Анна", "Олёна", "Иван", "Мария", "Дмитрий", "Юлія", "Сергій"]
LAST = ["Kravets", "Shevchenko", "Smith", "Кравець", "Шевченко", "Иванова", "Ковальчук", "Petrenko", "Бондар"]


async def build(path: Path, customers: int) -> tuple[float, dict[str, str]]:
    """Customers with names, usernames (half), phones (most) and cards; returns seconds and sample values."""
    rng = random.Random(12)
    start = time.perf_counter()
    db = await Database.open(path)
    stamp = to_db(NOW - timedelta(days=400))
    rows, cards = [], []
    for i in range(1, customers + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        username = f"{first.lower()}_{i}" if i % 2 and first.isascii() else None
        country = rng.choice(("+7", "+380"))
        phone = f"{country}{rng.randrange(10**9, 10**10 - 1)}" if i % 5 else None
        language = rng.choice(("en", "ru", "uk", None))
        rows.append((i, 100_000_000 + i, first, f"{last}{i % 97}", username, phone, language, stamp, stamp, stamp))
        cards.append((i, f"{new_code(6)}", f"R{i:07d}", stamp))
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO customers (id, tg_id, first_name, last_name, username, phone, language, first_seen_at,"
            " last_seen_at, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        await tx.executemany(
            "INSERT OR IGNORE INTO loyalty_cards (customer_id, card_code, ref_code, created_at) VALUES (?, ?, ?, ?)",
            cards,
        )
        await tx.execute(
            "INSERT INTO customer_tags (customer_id, tag, added_at) SELECT id, 'vip', ? FROM customers WHERE id % 10 = 0",
            (stamp,),
        )
    target = rows[customers // 2]
    phone = str(target[5] or rows[customers // 2 + 1][5])
    code = await db.fetch_value("SELECT card_code FROM loyalty_cards WHERE customer_id = ?", (target[0],))
    await db.close()
    samples = {"name": f"{target[2]} {target[3]}", "phone": phone, "card": str(code), "id": str(target[0])}
    return time.perf_counter() - start, samples


async def _timed(run: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(REPEATS):
        started = time.perf_counter()
        result = await run()
        times.append((time.perf_counter() - started) * 1000)
    return median(times), result


def _phone_forms(phone: str) -> list[str]:
    """The same number as people type it: spaced with a country code, with the local trunk prefix, the end."""
    digits = phone.lstrip("+")
    national = digits[-10:]
    spaced = f"+{digits[:-10]} ({national[:3]}) {national[3:6]}-{national[6:8]}-{national[8:]}"
    trunk = ("8" + national) if digits.startswith("7") else ("0" + national[1:])
    return [spaced, trunk, f"{national[-7:-4]}-{national[-4:-2]}-{national[-2:]}", f"+{digits[:8]}"]


async def measure(path: Path, samples: dict[str, str]) -> None:
    clock = FakeClock(NOW)
    content = load_content(example_content_path())
    db = await Database.open(path)
    try:
        repo = PeopleRepo(db)
        segments = Segments(SegmentsRepo(db), content, clock, UTC)
        finder = PeopleSearch(repo, segments)
        customers = CustomersRepo(db)
        loyalty = Loyalty(db, LedgerRepo(db), PurchasesRepo(db), customers, content, MagicMock(), clock, UTC)
        handoff = MagicMock(messages=MessagesRepo(db))
        people = People(db, repo, loyalty, handoff, EnrollmentsRepo(db), _owner, clock)
        code = samples["card"]
        queries = [
            ("a whole name", samples["name"]),
            ("a first name only (thousands match)", samples["name"].split()[0]),
            ("two letters (most match)", "an"),
            ("a username", "@anna_1"),
            ("nobody by that name", "Zebedee"),
            *[(f"phone `{form}`", form) for form in _phone_forms(samples["phone"])],
            ("card, spaced, lower case", f"{code[:3]} {code[3:].lower()}"),
        ]
        rows: list[list[object]] = []
        for what, typed in queries:
            ms, found = await _timed(lambda typed=typed: finder.search(typed))
            rows.append([what, f"`{typed}`", len(found), ms])
        print("\n### Search (median of 20; what the search box runs on each keystroke)\n")
        print(table(["query", "typed", "found", "ms"], rows))
        overview_ms, _ = await _timed(lambda: people.overview(int(samples["id"]), 900))
        print(f"\nThe customer's overview (profile, card, tags, standing, 7 lists): {overview_ms:.1f} ms")
        rows = []
        for expression in ("everyone", "tag:vip", "lang:ru,uk !tag:vip", "tag:vip lang:uk", "purchases>=2"):
            segment = finder.segment(expression)
            count_ms, count = await _timed(lambda segment=segment: finder.count(segment))
            page_ms, page = await _timed(lambda segment=segment: finder.page(segment))
            both_ms, _ = await _timed(lambda segment=segment: finder.listing(segment))
            rows.append([f"`{expression}`", count, count_ms, len(page.customers), page_ms, both_ms])
        print(
            "\n### A list filtered by a segment (the count as you type; a page of 50; both, as the list page asks)\n"
        )
        print(table(["expression", "customers", "count ms", "page rows", "page ms", "count + page ms"], rows))
        new_ms, renamed_ms = await _upserts(customers)
        print(
            f"\nThe per-update upsert with the name index kept by its triggers: a new customer {new_ms:.2f} ms,"
            f" a renamed one {renamed_ms:.2f} ms (median of 1,000 each)"
        )
        plans = await db.fetch_all(
            "EXPLAIN QUERY PLAN SELECT id FROM customers c WHERE c.phone IS NOT NULL AND substr(c.phone, -10) = ?",
            ("9123456789",),
        )
        print("\nplan (phone by its last ten digits): " + " / ".join(str(row[3]) for row in plans))
    finally:
        await db.close()


async def _upserts(customers: CustomersRepo) -> tuple[float, float]:
    """What the name index adds where it costs: a customer's first update, and a changed name."""
    new, renamed = [], []
    for n in range(1000):
        started = time.perf_counter()
        await customers.refresh_profile(900_000_000 + n, "Нова", "Клієнтка", None, "uk", NOW)
        new.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        await customers.refresh_profile(900_000_000 + n, "Нова", "Клієнтка", f"renamed_{n}", "uk", NOW)
        renamed.append((time.perf_counter() - started) * 1000)
    return median(new), median(renamed)


async def _owner(tg_id: int) -> str | None:
    return "owner"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.people", description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "people.db"
        seconds, samples = asyncio.run(build(path, args.customers))
        size = os.path.getsize(path) / 1e6
        print(
            f"\n## Customers: search, overview, lists — {args.customers:,} customers (built in {seconds:.1f} s, {size:.0f} MB)"
        )
        asyncio.run(measure(path, samples))


if __name__ == "__main__":
    main()
