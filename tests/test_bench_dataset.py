"""bench/dataset.py: the bulk load leaves the product's schema whole and the same rows on both engines."""

from __future__ import annotations

from datetime import UTC, datetime

from bench import dataset
from storage.db import Database
from storage.timefmt import to_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


async def _indexes(db: Database) -> set[str]:
    if db.engine == "postgresql":
        rows = await db.fetch_all("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
    else:
        rows = await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'index'")
    return {str(row[0]) for row in rows}


async def test_the_same_rows_on_every_engine_and_the_schema_whole(db: Database) -> None:
    before = await _indexes(db)
    await dataset.generate(db, 300, 3000, NOW)
    # The figure both engines must give: the generator's hashes are integer arithmetic, the same everywhere.
    assert await db.fetch_value("SELECT COUNT(*) FROM purchases") == EXPECTED_PURCHASES
    assert await db.fetch_value("SELECT SUM(amount_cents) FROM purchases") == EXPECTED_CENTS
    assert await db.fetch_value("SELECT MAX(purchased_at) FROM purchases") < to_db(NOW)
    assert await _indexes(db) == before  # every dropped index was built again
    mismatched = await db.fetch_value(
        "SELECT COUNT(*) FROM purchase_totals t JOIN (SELECT customer_id, COUNT(*) AS n, SUM(amount_cents) AS c,"
        " MAX(purchased_at) AS l FROM purchases GROUP BY customer_id) p ON p.customer_id = t.customer_id"
        " WHERE p.n <> t.purchases OR p.c <> t.spent_cents OR p.l <> t.last_at"
    )
    assert mismatched == 0
    assert await db.fetch_value("SELECT COUNT(*) FROM purchase_totals") == 300


async def test_the_purchase_trigger_works_again_after_the_load(db: Database) -> None:
    await dataset.generate(db, 20, 100, NOW)
    before = await db.fetch_value("SELECT purchases FROM purchase_totals WHERE customer_id = 1")
    await db.execute(
        "INSERT INTO purchases (customer_id, number, amount, amount_cents, source, purchased_at, created_at)"
        " VALUES (1, 1000, '1.00', 100, 'api', ?, ?)",
        (to_db(NOW), to_db(NOW)),
    )
    assert await db.fetch_value("SELECT purchases FROM purchase_totals WHERE customer_id = 1") == before + 1
    async with db.transaction() as tx:
        new = await tx.insert(
            "INSERT INTO customers (tg_id, first_name, first_seen_at, last_seen_at) VALUES (1, 'x', ?, ?)",
            (to_db(NOW), to_db(NOW)),
        )
    assert new == 21  # PostgreSQL's identity continues after the ids the load gave


EXPECTED_PURCHASES = 3_030
EXPECTED_CENTS = 167_432_000
