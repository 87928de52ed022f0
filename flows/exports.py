"""CSV exports of customers and purchases, streamed row by row (nothing is held in memory).

Column names follow `nurture-bot import` where the two overlap (telegram_id, first_name, last_name, phone,
birthday, points; external_id, card, amount, category, date), so an export can be edited and imported
again. Times are the business's local time (TIMEZONE), amounts plain decimals with a dot, and the last
column names their currency (the content file's), so a file read elsewhere says what the money is.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import tzinfo
from decimal import Decimal
from typing import Any, Protocol

from storage.db import Database, Row
from storage.exports import customer_rows, purchase_rows
from storage.timefmt import from_db

KINDS = ("customers", "purchases")
CUSTOMER_COLUMNS = (
    "id",
    "telegram_id",
    "first_name",
    "last_name",
    "username",
    "phone",
    "birthday",
    "language",
    "source",
    "tags",
    "card",
    "points",
    "purchases",
    "spent",
    "first_purchase",
    "last_purchase",
    "first_seen",
    "last_seen",
    "subscribed",
    "reachable",
    "forgotten",
)
PURCHASE_COLUMNS = (
    "id",
    "external_id",
    "customer_id",
    "telegram_id",
    "card",
    "number",
    "date",
    "amount",
    "points_spent",
    "category",
    "source",
    "staff_telegram_id",
    "recorded",
)
# A cell a spreadsheet would run as a formula; names and usernames come from strangers.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


@dataclass(frozen=True)
class Exported:
    kind: str
    rows: int


def safe_text(value: str | None) -> str:
    """Free text as a cell that spreadsheets show instead of evaluating (OWASP's CSV-injection advice)."""
    text = value or ""
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def _local(text: str | None, zone: tzinfo) -> str:
    moment = from_db(text)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _birthday(row: Row) -> str:
    if not row["birthday_day"]:
        return ""
    day_month = f"{row['birthday_day']:02d}.{row['birthday_month']:02d}"
    return f"{day_month}.{row['birthday_year']}" if row["birthday_year"] else day_month


def _yes(value: object) -> str:
    return "yes" if value else "no"


def customer_cells(row: Row, zone: tzinfo) -> list[object]:
    forgotten = row["forgotten_at"] is not None
    return [
        row["id"],
        row["tg_id"] or "",
        safe_text(row["first_name"]),
        safe_text(row["last_name"]),
        safe_text(row["username"]),
        row["phone"] or "",
        _birthday(row),
        row["language"] or "",
        safe_text(row["source"]),
        row["tags"] or "",
        row["card_code"] or "",
        row["points"],
        row["purchases"] or 0,
        f"{Decimal(row['spent_cents'] or 0) / 100:.2f}",
        _local(row["first_at"], zone),
        _local(row["last_at"], zone),
        _local(row["first_seen_at"], zone),
        _local(row["last_seen_at"], zone),
        _yes(not row["opted_out"]),
        _yes(row["tg_id"] is not None and not row["unreachable"]),
        _yes(forgotten),
    ]


def purchase_cells(row: Row, zone: tzinfo) -> list[object]:
    return [
        row["id"],
        safe_text(row["external_id"]),
        row["customer_id"],
        row["tg_id"] or "",
        row["card_code"] or "",
        row["number"],
        _local(row["purchased_at"], zone),
        row["amount"],
        row["points_spent"],
        row["category"] or "",
        row["source"],
        row["staff_tg_id"] or "",
        _local(row["created_at"], zone),
    ]


SOURCES: dict[
    str, tuple[tuple[str, ...], Callable[[Database], AsyncIterator[Row]], Callable[[Row, tzinfo], list[object]]]
] = {
    "customers": (CUSTOMER_COLUMNS, customer_rows, customer_cells),
    "purchases": (PURCHASE_COLUMNS, purchase_rows, purchase_cells),
}


async def export_csv(db: Database, kind: str, out: Writable, zone: tzinfo, currency: str) -> Exported:
    """Write a header row and every customer or purchase to `out`, one page of rows at a time."""
    columns, rows, cells = SOURCES[kind]
    writer = csv.writer(out)
    writer.writerow([*columns, "currency"])
    count = 0
    async for row in rows(db):
        writer.writerow([*cells(row, zone), currency])
        count += 1
    return Exported(kind, count)
