"""Bounded storage: a year of a 100,000-customer business, with and without the retention job.

Two databases built through the real migrations get the same day-by-day traffic, set-based (one `INSERT …
SELECT` per table and day): history events, outbox rows (sequence steps, receipts, birthdays …) and two
broadcasts a month to 60 % of the customers, the audit log, FAQ questions, customers' messages, handled
updates, sale drafts, leads that are closed a day later, purchases with their points. A fake clock moves day
by day; after each day one database runs the daily retention job (`flows/retention.py`, default windows),
the other keeps everything (it prunes only what the bot pruned before: handled updates after 3 days and
customers' messages after 90). Month by month the sizes are printed: the pruned one flattens once past the
windows (its books, purchases and points, still grow), the other grows with the age of the business.

Also measured: one broadcast of 2,000 Cyrillic characters to 100,000 customers with its message copied
into every outbox row (before) and stored once on the broadcast (now).

Run: `python -m bench retention` (about 5 minutes of CPU, spread over two cores; 8½ minutes on the shared,
loaded machine of bench/README.md); `--scale 0.1` for 10,000 customers and a tenth of the traffic (about half a
minute), `--months 18` for a longer run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import load, table
from flows.clock import FakeClock
from flows.retention import CUSTOMER_MESSAGES_DAYS, PROCESSED_UPDATES_DAYS, Retention, RetentionPolicy
from flows.sequences import CURSOR_KEY
from storage import retention as store
from storage.broadcasts import BroadcastsRepo
from storage.db import Database, Tx
from storage.kv import kv_set
from storage.sqlite import SqliteDatabase
from storage.timefmt import to_db

START = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)  # the daily job runs in the small hours
CUSTOMERS = 100_000
# Rows per day at 100,000 customers (scaled with --scale).
DAILY = {
    "events": 6_000,  # clicks, tags, triggers, purchase and lead events
    "outbox": 2_500,  # sequence steps, receipts, birthdays, win-back, lead cards
    "audit_log": 800,
    "faq_log": 400,
    "customer_messages": 1_500,
    "processed_updates": 10_000,
    "sale_drafts": 400,
    "leads": 40,
    "purchases": 600,  # and a points accrual each
}
BROADCAST_DAYS = (1, 15)  # of every month
BROADCAST_REACH = 0.6
STEP_TEXT = "Ваш перший урок безкоштовний — запишіться сьогодні! " * 8  # ~400 characters
BROADCAST_TEXT = ("Весняний розпродаж: знижки на все до неділі. " * 45)[:2000]
BOOKS = ("purchases", "purchase_items", "points_ledger", "purchase_totals", "purchase_categories")


class TimedDatabase(SqliteDatabase):
    """Records how long each write transaction holds the writer: what a bot's write could wait for."""

    holds: list[float]

    @asynccontextmanager
    async def transaction(self, scope: str | None = None) -> AsyncIterator[Tx]:
        async with super().transaction(scope) as tx:
            started = time.perf_counter()
            yield tx
        if hasattr(self, "holds"):
            self.holds.append(time.perf_counter() - started)


@dataclass
class Shop:
    """One database and what was written to it so far."""

    name: str
    db: Database
    prune: Retention | None
    prune_seconds: list[float] = field(default_factory=list)
    holds: dict[str, float] = field(default_factory=dict)  # the longest write transaction per pruned table
    broadcasts: int = 0
    update_id: int = 0


async def _customers(db: Database, customers: int) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT INTO customers (id, tg_id, first_name, language, first_seen_at, last_seen_at)"
            " SELECT i, 100000000 + i, 'Клієнт ' || i, 'uk', ?, ? FROM n",
            (customers, to_db(START), to_db(START)),
        )


def _series(count: int) -> str:
    return f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {int(count)})"


def _spread(day: datetime, count: int) -> str:
    """SQL for the i-th of `count` moments spread over the day."""
    return f"datetime('{to_db(day)}', '+' || (i * 86000 / {max(count, 1)}) || ' seconds')"


async def _day(shop: Shop, day: datetime, index: int, customers: int, scale: float) -> None:
    """One day's traffic, one short transaction per table (as the bot writes them, in bulk)."""
    rates = {name: max(1, round(rate * scale)) for name, rate in DAILY.items()}
    who = f"(1 + abs(random()) % {customers})"
    statements = [
        f"{_series(rates['events'])} INSERT INTO events (customer_id, kind, data, created_at)"
        f" SELECT {who}, CASE i % 4 WHEN 0 THEN 'clicked' WHEN 1 THEN 'tag_added' WHEN 2 THEN 'purchase'"
        f' ELSE \'interested\' END, \'{{"sequence": "welcome", "step": \' || (i % 3) || \', "button": 0}}\','
        f" {_spread(day, rates['events'])} FROM n",
        f"{_series(rates['outbox'])} INSERT INTO outbox (idempotency_key, customer_id, chat_id, kind, payload,"
        " due_at, created_at, sent_at, state)"
        f" SELECT 'seq:{index}:' || i, c, 100000000 + c, 'sequence', ?, t, t, t,"
        " CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'sent' END"
        f" FROM (SELECT i, {who} AS c, {_spread(day, rates['outbox'])} AS t FROM n)",
        f"{_series(rates['audit_log'])} INSERT INTO audit_log (actor_tg_id, action, subject, details, created_at)"
        f" SELECT 777, 'sale', 'customer:' || {who}, '{{\"amount\": \"1500.00\", \"points\": 75}}',"
        f" {_spread(day, rates['audit_log'])} FROM n",
        f"{_series(rates['faq_log'])} INSERT INTO faq_log (customer_id, text, normalized, outcome, score, created_at)"
        f" SELECT {who}, 'Чи є у вас парковка біля студії?', 'парковк студі', 'answered', 0.9,"
        f" {_spread(day, rates['faq_log'])} FROM n",
        f"{_series(rates['customer_messages'])} INSERT INTO customer_messages (customer_id, kind, text, created_at)"
        f" SELECT {who}, 'text', 'Доброго дня! Хочу записатися на заняття в суботу', {_spread(day, rates['customer_messages'])} FROM n",
        f"{_series(rates['processed_updates'])} INSERT INTO processed_updates (update_id, seen_at)"
        f" SELECT {shop.update_id} + i, {_spread(day, rates['processed_updates'])} FROM n",
        f"{_series(rates['sale_drafts'])} INSERT INTO sale_drafts (staff_tg_id, customer_id, state, amount,"
        f" created_at, updated_at) SELECT 777, {who}, 'done', '1500', t, t"
        f" FROM (SELECT i, {_spread(day, rates['sale_drafts'])} AS t FROM n)",
        # Leads are closed a day after they were opened, so none is open at the end of a day.
        f"{_series(rates['leads'])} INSERT INTO leads (customer_id, state, cause, context, chat_id, closed_at,"
        f" created_at) SELECT {who}, 'won', 'interested', 'welcome step 2', -100, datetime(t, '+1 day'), t"
        f" FROM (SELECT i, {_spread(day, rates['leads'])} AS t FROM n)",
        # Purchases: distinct customers within a day, so (customer, number = day) is unique.
        f"{_series(rates['purchases'])} INSERT INTO purchases (customer_id, number, amount, amount_cents, source,"
        f" external_id, purchased_at, created_at) SELECT 1 + ({index} * {rates['purchases']} + i) % {customers},"
        f" {index + 1}, '1500.00', 150000, 'api', 'b{index}:' || i, t, t"
        f" FROM (SELECT i, {_spread(day, rates['purchases'])} AS t FROM n)",
        "INSERT INTO points_ledger (customer_id, kind, delta, purchase_id, idempotency_key, created_at)"
        " SELECT customer_id, 'accrual', 75, id, 'accrual:' || id, created_at FROM purchases WHERE number = ?",
    ]
    shop.update_id += rates["processed_updates"]
    for sql in statements:
        async with shop.db.transaction() as tx:
            if "INSERT INTO outbox" in sql:
                await tx.execute(sql, (json.dumps({"text": STEP_TEXT}, ensure_ascii=False),))
            elif "points_ledger" in sql:
                await tx.execute(sql, (index + 1,))
            else:
                await tx.execute(sql)
    if day.day in BROADCAST_DAYS:
        await _broadcast(shop, day, customers)


async def _broadcast(shop: Shop, day: datetime, customers: int) -> None:
    """A broadcast to 60 % of the customers, stored as the bot stores it now (the message once)."""
    payload = json.dumps({"text": BROADCAST_TEXT, "buttons": [[{"text": "Хочу!", "data": "bb:1:0"}]]})
    end = to_db(day + timedelta(hours=2))
    async with shop.db.transaction() as tx:
        broadcast_id = await tx.insert(
            "INSERT INTO broadcasts (state, created_by, segment, message, payload, audience, queue_upto,"
            " queued_upto, created_at, confirmed_at, started_at, finished_at)"
            " VALUES ('done', 900, 'everyone', ?, ?, 0, ?, ?, ?, ?, ?, ?)",
            (
                json.dumps({"text": BROADCAST_TEXT}),
                payload,
                customers,
                customers,
                to_db(day),
                to_db(day),
                to_db(day),
                end,
            ),
        )
        await _broadcast_rows(tx, broadcast_id, day, customers, "{}")
    shop.broadcasts += 1


async def _broadcast_rows(tx: Tx, broadcast_id: int, day: datetime, customers: int, payload: str) -> int:
    return await tx.execute(
        f"{_series(customers)} INSERT INTO outbox (idempotency_key, customer_id, chat_id, kind, payload,"
        " broadcast_id, due_at, created_at, sent_at, state)"
        f" SELECT 'bc:{broadcast_id}:' || i, i, 100000000 + i, 'broadcast', ?, ?, t, t, t, 'sent'"
        f" FROM (SELECT i, datetime(?, '+' || (i / 25) || ' seconds') AS t FROM n"
        f" WHERE abs(random()) % 100 < {int(BROADCAST_REACH * 100)})",
        (payload, broadcast_id, to_db(day)),
    )


async def _sizes(db: Database) -> tuple[float, float]:
    """(file MB, MB in use): freed pages stay in the file and are reused, so both are shown."""
    async with db.serialized() as tx:
        await tx.fetch_one("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = (await tx.fetch_one("PRAGMA page_count"))[0]  # type: ignore[index]
        free = (await tx.fetch_one("PRAGMA freelist_count"))[0]  # type: ignore[index]
        size = (await tx.fetch_one("PRAGMA page_size"))[0]  # type: ignore[index]
    return pages * size / 1e6, (pages - free) * size / 1e6


async def _tables(db: Database, only: tuple[str, ...] = ()) -> dict[str, float]:
    """MB per table, its indexes included (SQLite's dbstat). `only` names the tables to read: dbstat
    walks every page of what it is asked about, so asking about all of a 1 GB file takes a while."""
    marks = ", ".join("?" for _ in only)
    names = await db.fetch_all(
        "SELECT name, tbl_name FROM sqlite_master WHERE rootpage > 0"
        + (f" AND tbl_name IN ({marks})" if only else ""),
        only,
    )
    sizes: dict[str, float] = {}
    for name, table_name in names:
        pages = await db.fetch_value("SELECT SUM(pgsize) FROM dbstat WHERE name = ?", (name,))
        sizes[table_name] = sizes.get(table_name, 0.0) + (pages or 0) / 1e6
    return sizes


async def _old_prune(db: Database, now: datetime) -> None:
    """What the daily job pruned before retention: handled updates and customers' messages."""
    await store.prune_processed_updates(db, now - timedelta(days=PROCESSED_UPDATES_DAYS))
    await store.prune_by_time(db, "customer_messages", "created_at", now - timedelta(days=CUSTOMER_MESSAGES_DAYS))


async def simulate(folder: Path, months: int, scale: float) -> None:
    customers = max(100, round(CUSTOMERS * scale))
    clock = FakeClock(START)
    shops = []
    for name, pruned in (("retention", True), ("no pruning", False)):
        db = await TimedDatabase.connect(folder / f"{name.replace(' ', '_')}.db")
        async with db.serialized() as tx:
            await tx.execute("PRAGMA cache_size = -131072")  # the bulk inserts hit random index pages
            await tx.execute("PRAGMA synchronous = OFF")  # sizes are measured here, not durability
        await _customers(db, customers)
        policy = Retention(db, BroadcastsRepo(db), clock, RetentionPolicy(), 7) if pruned else None
        shops.append(Shop(name, db, policy))
    rows: list[list[object]] = []
    day, index, started = START, 0, time.perf_counter()
    end = START + timedelta(days=round(months * 30.44))
    try:
        while day < end:
            # The two databases side by side: SQLite releases the GIL, so each gets a core.
            await asyncio.gather(*(_day(shop, day, index, customers, scale) for shop in shops))
            day, index = day + timedelta(days=1), index + 1
            clock.set(day)
            await asyncio.gather(*(_daily_job(shop, day) for shop in shops))
            if day.day == 1:
                rows.append(await _month_row(shops, day))
                print(
                    f"  {rows[-1][0]}: {rows[-1][1]:,.0f} MB vs {rows[-1][4]:,.0f} MB after"
                    f" {time.perf_counter() - started:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
        print(f"\nsimulated {index} days in {time.perf_counter() - started:.0f} s · {load()}\n")
        print(f"### Database size month by month ({customers:,} customers, MB)\n")
        print(
            table(
                [
                    "month",
                    "retention: file",
                    "in use",
                    "of which books",
                    "no pruning: file",
                    "of which books",
                    "retention / no pruning",
                ],
                rows,
            )
        )
        await _report_tables(shops)
        _report_prune(shops[0])
    finally:
        for shop in shops:
            await shop.db.close()


async def _daily_job(shop: Shop, day: datetime) -> None:
    if shop.prune is None:
        await _old_prune(shop.db, day)
        return
    async with shop.db.transaction() as tx:  # the sequences have read every event (they run every minute)
        newest = await tx.fetch_one("SELECT COALESCE(MAX(id), 0) FROM events")
        await kv_set(tx, CURSOR_KEY, str(newest[0] if newest else 0))
    assert isinstance(shop.db, TimedDatabase)
    started = time.perf_counter()
    for name, step in shop.prune.plan(day):  # what `Retention.prune` runs, timed table by table
        shop.db.holds = []
        await step()
        shop.holds[name] = max([shop.holds.get(name, 0.0), *shop.db.holds])
    del shop.db.holds
    shop.prune_seconds.append(time.perf_counter() - started)


async def _month_row(shops: list[Shop], day: datetime) -> list[object]:
    pruned, kept = shops
    p_file, p_used = await _sizes(pruned.db)
    k_file, _ = await _sizes(kept.db)
    p_books = sum((await _tables(pruned.db, BOOKS)).values())
    k_books = sum((await _tables(kept.db, BOOKS)).values())
    month = (day - timedelta(days=1)).strftime("%Y-%m")
    return [month, p_file, p_used, p_books, k_file, k_books, f"{p_file / k_file:.2f}"]


async def _report_tables(shops: list[Shop]) -> None:
    pruned, kept = [await _tables(shop.db) for shop in shops]
    names = sorted(set(pruned) | set(kept), key=lambda n: -kept.get(n, 0))
    rows = [[name, kept.get(name, 0.0), pruned.get(name, 0.0)] for name in names if kept.get(name, 0) >= 0.05]
    print("\n### At the end, per table with its indexes (MB)\n")
    print(table(["table", "no pruning", "retention"], rows))


def _report_prune(shop: Shop) -> None:
    seconds = sorted(shop.prune_seconds)
    if not seconds:
        return
    print(
        f"\nThe daily retention job took {seconds[len(seconds) // 2] * 1000:,.0f} ms on the median day and"
        f" {seconds[-1] * 1000:,.0f} ms on the longest; the writer is let go between batches. The longest"
        " batch (write transaction) per table, which is what a bot's write can wait for:\n"
    )
    rows = [[name, hold * 1000] for name, hold in sorted(shop.holds.items(), key=lambda item: -item[1])]
    print(table(["pruned", "longest batch ms"], rows))


async def broadcast_shapes(folder: Path, customers: int) -> list[list[object]]:
    """One broadcast of 2,000 Cyrillic characters to every customer, copied per row vs stored once."""
    rows: list[list[object]] = []
    whole = json.dumps(
        {"text": BROADCAST_TEXT, "buttons": [[{"text": "Хочу!", "data": "bb:1:0"}]]}, ensure_ascii=False
    )
    for label, payload in (
        ("copied into every row (before)", whole),
        ("stored once on the broadcast (now)", "{}"),
    ):
        db = await Database.open(folder / f"shape_{len(rows)}.db")
        try:
            await _customers(db, customers)
            empty = (await _tables(db, ("outbox",))).get("outbox", 0.0)
            async with db.transaction() as tx:
                broadcast_id = await tx.insert(
                    "INSERT INTO broadcasts (state, created_by, payload, created_at) VALUES ('sending', 900, ?, ?)",
                    (whole, to_db(START)),
                )
                await tx.execute(
                    f"{_series(customers)} INSERT INTO outbox (idempotency_key, customer_id, chat_id, kind, payload,"
                    " broadcast_id, due_at, created_at) SELECT 'bc:' || ? || ':' || i, i, 100000000 + i, 'broadcast',"
                    " ?, ?, ?, ? FROM n",
                    (broadcast_id, payload, broadcast_id, to_db(START), to_db(START)),
                )
            rows.append([label, customers, (await _tables(db, ("outbox",))).get("outbox", 0.0) - empty])
        finally:
            await db.close()
    return rows


async def run(months: int, scale: float) -> None:
    with tempfile.TemporaryDirectory() as name:  # removed before the year starts (400 MB at full scale)
        shapes = await broadcast_shapes(Path(name), max(100, round(CUSTOMERS * scale)))
    print("\n### One broadcast, 2,000 Cyrillic characters\n")
    print(table(["message", "recipients", "outbox MB"], shapes))
    with tempfile.TemporaryDirectory() as name:
        await simulate(Path(name), months, scale)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench retention", description=__doc__)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--scale", type=float, default=1.0, help="customers and traffic, 1.0 = 100,000 customers")
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPU · {load()}")
    asyncio.run(run(args.months, args.scale))


if __name__ == "__main__":
    main()
