"""Customers and purchases for CSV exports, read page by page (keyset on id): memory stays flat at any size."""

from __future__ import annotations

from collections.abc import AsyncIterator

from storage.audience import is_customer
from storage.db import Database, Row
from storage.dialect import Engine, engine_of, joined

PAGE = 2000


def customers_sql(engine: Engine) -> str:
    """A page of customers after an id, with their card, tags (sorted, space-separated), points and totals."""
    tags = joined(engine, "tag", "' '")
    return (
        "SELECT c.id, c.tg_id, c.first_name, c.last_name, c.username, c.phone, c.birthday_day, c.birthday_month,"
        " c.birthday_year, COALESCE(c.chosen_language, c.language) AS language, c.source, c.opted_out,"
        " c.unreachable, c.first_seen_at, c.last_seen_at, c.forgotten_at, l.card_code,"
        f" (SELECT {tags} FROM (SELECT tag FROM customer_tags t WHERE t.customer_id = c.id ORDER BY tag) AS sorted)"
        " AS tags,"
        " (SELECT COALESCE(SUM(delta), 0) FROM points_ledger p WHERE p.customer_id = c.id) AS points,"
        " r.purchases, r.spent_cents, r.first_at, r.last_at"
        " FROM customers c LEFT JOIN loyalty_cards l ON l.customer_id = c.id"
        " LEFT JOIN purchase_totals r ON r.customer_id = c.id"
        f" WHERE c.id > ? AND {is_customer('c')} ORDER BY c.id LIMIT ?"
    )


PURCHASES_SQL = (
    "SELECT p.id, p.external_id, p.customer_id, c.tg_id, l.card_code, p.number, p.purchased_at, p.amount,"
    " p.points_spent, p.category, p.source, p.staff_tg_id, p.created_at"
    " FROM purchases p JOIN customers c ON c.id = p.customer_id"
    " LEFT JOIN loyalty_cards l ON l.customer_id = p.customer_id"
    " WHERE p.id > ? ORDER BY p.id LIMIT ?"
)


async def _pages(db: Database, sql: str) -> AsyncIterator[Row]:
    last = 0
    while True:
        rows = await db.fetch_all(sql, (last, PAGE))
        for row in rows:
            yield row
        if len(rows) < PAGE:
            return
        last = rows[-1]["id"]


def customer_rows(db: Database) -> AsyncIterator[Row]:
    """Every customer, the team left out (forgotten ones stay, anonymous), with card, tags, points balance and purchase totals."""
    return _pages(db, customers_sql(engine_of(db)))


def purchase_rows(db: Database) -> AsyncIterator[Row]:
    """Every purchase, oldest recorded first, with the customer's Telegram id and card."""
    return _pages(db, PURCHASES_SQL)
