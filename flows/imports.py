"""CSV imports of purchases and customers: every row checked, a report by line number, all or nothing.

Purchases go through `Purchases.record_in` — the same path as the cashier and the API — with every row
in ONE transaction: one bad row and nothing is written. `--dry-run` runs the very same code and rolls
back. Imported purchases never message customers (a receipt for last month's visit would confuse).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal
from typing import Any

from flows.codes import normalize
from flows.content import Content
from flows.loyalty import Loyalty
from flows.money import amount_hint, parse_amount
from flows.onboarding import parse_birthday
from flows.purchases import NewPurchase, PurchaseRefused, Purchases
from storage.db import Database
from storage.imports import upsert_imported_customer
from storage.ledger import LedgerRepo

PURCHASE_COLUMNS = {"external_id", "card", "phone", "telegram_id", "amount", "category", "date"}
CUSTOMER_COLUMNS = {"telegram_id", "first_name", "last_name", "phone", "birthday", "points", "first_seen"}


@dataclass(frozen=True)
class Rejected:
    line: int
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    recorded: int = 0
    duplicates: int = 0  # purchases imported before (same external_id): skipped, not an error
    created: int = 0  # customers
    updated: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    committed: bool = False

    @property
    def ok(self) -> bool:
        return not self.rejected


class _Rollback(Exception):
    """Raised inside the transaction to undo a dry run or a file with bad rows."""


def read_csv(text: str) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """Header and (line number, row) pairs; `,` or `;` separated (spreadsheets in many locales use `;`)."""
    text = text.lstrip("\ufeff")
    first = text.splitlines()[0] if text else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    reader.fieldnames = header

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for row in reader:
            cleaned = {k: (v or "").strip() for k, v in row.items() if k is not None}
            if any(cleaned.values()):
                yield reader.line_num, cleaned

    return header, rows()


def parse_when(text: str, zone: tzinfo) -> datetime | None:
    """`2026-01-05`, `2026-01-05 14:30`, `2026-01-05T14:30:00+02:00` or `05.01.2026` (local unless zoned).

    A date without a time means local noon: the middle of the business day, never the day before in UTC.
    """
    text = text.strip()
    for fmt, noon in (("%d.%m.%Y %H:%M", False), ("%d.%m.%Y", True)):
        try:
            moment = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return (moment.replace(hour=12) if noon else moment).replace(tzinfo=zone).astimezone(UTC)
    try:
        # Checked first: datetime.fromisoformat reads a bare date as midnight.
        moment = datetime.combine(date.fromisoformat(text), time(12, 0))
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


@dataclass
class Imports:
    db: Database
    purchases: Purchases
    loyalty: Loyalty
    ledger: LedgerRepo
    content: Content
    zone: tzinfo
    max_amount: Decimal

    async def purchases_csv(self, text: str, *, dry_run: bool = False) -> ImportReport:
        """Import purchases; nothing is written unless every row is good (and it is not a dry run)."""
        report = ImportReport()
        header, rows = read_csv(text)
        missing = {"external_id", "amount"} - set(header)
        if missing or not {"card", "phone", "telegram_id"} & set(header):
            needed = ", ".join(sorted(missing)) or "card, phone or telegram_id"
            report.rejected.append(
                Rejected(1, f"the header needs {needed} (columns: {', '.join(sorted(PURCHASE_COLUMNS))})")
            )
            return report
        parsed: list[tuple[int, NewPurchase]] = []
        seen: dict[str, int] = {}
        now = self.purchases.clock.now()
        for line, row in rows:
            report.rows += 1
            result = await self._purchase_row(row, now)
            if isinstance(result, str):
                report.rejected.append(Rejected(line, result))
                continue
            if result.external_id in seen:
                report.rejected.append(Rejected(line, f"external_id repeats line {seen[result.external_id]}"))
                continue
            seen[result.external_id or ""] = line
            parsed.append((line, result))
        if report.rejected:
            return report
        try:
            async with self.db.transaction() as tx:
                for line, purchase in parsed:
                    try:
                        recorded = await self.purchases.record_in(tx, purchase, now)
                    except PurchaseRefused as refused:
                        report.rejected.append(Rejected(line, refused.detail))
                        raise _Rollback from None
                    if recorded.duplicate:
                        report.duplicates += 1
                    else:
                        report.recorded += 1
                if dry_run:
                    raise _Rollback
        except _Rollback:
            return report
        report.committed = True
        return report

    async def _purchase_row(self, row: dict[str, str], now: datetime) -> NewPurchase | str:
        external_id = row.get("external_id", "")
        if not external_id or len(external_id) > 100:
            return "external_id: required, at most 100 characters"
        named = [name for name in ("card", "phone", "telegram_id") if row.get(name)]
        if len(named) != 1:
            return "give exactly one of card, phone, telegram_id"
        name, value = named[0], row[named[0]]
        if name == "card":
            customer = await self.ledger.customer_by_card(normalize(value))
        elif name == "phone":
            digits = "".join(ch for ch in value if ch.isdigit())
            customer = await self.ledger.customer_by_phone(f"+{digits}") if digits else None
        else:
            customer = await self.ledger.customer_by_tg(int(value)) if value.isdigit() else None
        if customer is None or customer.tg_id is None:
            return f"{name}: no customer with {name.replace('_', ' ')} {value}"
        amount = parse_amount(row.get("amount", ""), self.max_amount)
        if amount.value is None:
            assert amount.error is not None
            return f"amount: {amount_hint(amount.error, self.max_amount)}"
        category = row.get("category") or None
        if category is not None and self.content.loyalty.category(category) is None:
            known = ", ".join(entry.key for entry in self.content.loyalty.catalog) or "none"
            return f"category: unknown {category!r} (known: {known})"
        purchased_at = None
        if row.get("date"):
            purchased_at = parse_when(row["date"], self.zone)
            if purchased_at is None:
                return "date: write it as 2026-01-05, 2026-01-05 14:30 or 05.01.2026"
            if purchased_at > now:
                return "date: is in the future"
        return NewPurchase(
            customer_id=customer.id,
            amount=amount.value,
            source="csv",
            category=category,
            external_id=external_id,
            purchased_at=purchased_at,
            notify=False,
        )

    async def customers_csv(self, text: str, *, dry_run: bool = False) -> ImportReport:
        """Import customers by Telegram id (with an optional opening points balance), all or nothing."""
        report = ImportReport()
        header, rows = read_csv(text)
        if "telegram_id" not in header:
            report.rejected.append(
                Rejected(1, f"the header needs telegram_id (columns: {', '.join(sorted(CUSTOMER_COLUMNS))})")
            )
            return report
        now = self.purchases.clock.now()
        checked: list[tuple[int, dict[str, Any]]] = []
        seen: dict[int, int] = {}
        for line, row in rows:
            report.rows += 1
            result = self._customer_row(row, now)
            if isinstance(result, dict):
                result = _with_first_seen(result, row, now, self.zone)
            if isinstance(result, str):
                report.rejected.append(Rejected(line, result))
            elif result["tg_id"] in seen:
                report.rejected.append(Rejected(line, f"telegram_id repeats line {seen[result['tg_id']]}"))
            else:
                seen[result["tg_id"]] = line
                checked.append((line, result))
        if report.rejected:
            return report
        try:
            async with self.db.transaction() as tx:
                for _, values in checked:
                    opening = values.pop("points")
                    customer_id, created = await upsert_imported_customer(tx, now=now, **values)
                    report.created += created
                    report.updated += not created
                    await self.loyalty.credit_in(
                        tx,
                        customer_id,
                        "adjustment",
                        opening,
                        f"import:{values['tg_id']}",
                        now,
                        reason="opening balance",
                    )
                if dry_run:
                    raise _Rollback
        except _Rollback:
            return report
        report.committed = True
        return report

    @staticmethod
    def _customer_row(row: dict[str, str], now: datetime) -> dict[str, Any] | str:
        tg_id = row.get("telegram_id", "")
        if not tg_id.isdigit() or int(tg_id) <= 0:
            return "telegram_id: required, a positive number"
        phone = None
        if row.get("phone"):
            digits = "".join(ch for ch in row["phone"] if ch.isdigit())
            if not 7 <= len(digits) <= 15:
                return "phone: not a phone number (7–15 digits)"
            phone = f"+{digits}"
        birthday = None
        if row.get("birthday"):
            parsed = parse_birthday(row["birthday"], now.date())
            if parsed is None:
                return "birthday: write it as 25.12 or 25.12.1990"
            birthday = (parsed.day, parsed.month, parsed.year)
        opening = row.get("points") or "0"
        if not opening.isdigit():
            return "points: a whole number of points, 0 or more"
        return {
            "tg_id": int(tg_id),
            "first_name": row.get("first_name") or None,
            "last_name": row.get("last_name") or None,
            "phone": phone,
            "birthday": birthday,
            "points": int(opening),
        }


def _with_first_seen(values: dict[str, Any], row: dict[str, str], now: datetime, zone: tzinfo) -> dict[str, Any] | str:
    """The optional `first_seen` column: when the customer first came (else their earliest purchase, or now)."""
    values["first_seen"] = None
    if row.get("first_seen"):
        moment = parse_when(row["first_seen"], zone)
        if moment is None or moment > now:
            return "first_seen: a past date such as 2024-03-15 or 15.03.2024"
        values["first_seen"] = moment
    return values
