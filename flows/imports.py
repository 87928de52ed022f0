"""CSV imports of purchases and customers: streamed, every row checked first, then written in short chunks.

A file is read twice and never held in memory. The first pass checks every row (columns, customers,
amounts, dates, repeats inside the file); one bad row and nothing is written — the report lists the bad
rows by line number. `--dry-run` stops after that pass. The second pass writes the rows in chunks, each
its own transaction that holds the database's writer for at most `Pacing.hold` (50 ms) and then steps
aside for `Pacing.gap`, so the running bot's writes wait about that long instead of until the whole file
is in (SQLite lets one writer at a time; a long transaction made the bot's writes fail with "database is
locked").

All or nothing, with chunks: every row is idempotent (a purchase is keyed by its `external_id`, an opening
balance by the customer's Telegram id), so an import interrupted in the second pass — a crash, Ctrl-C, a
customer deleted in between — is finished by running the same file again: rows already in are skipped,
nothing is added twice.

Purchases go through `Purchases.record_in`, the same path as the cashier and the API. Imported purchases
never message customers (a receipt for last month's visit would confuse).
"""

from __future__ import annotations

import asyncio
import csv
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import IO, Any

from babel.numbers import format_decimal

from flows.codes import normalize
from flows.content import Content
from flows.i18n import N_, Translator
from flows.loyalty import Loyalty
from flows.money import amount_problem, parse_amount
from flows.onboarding import parse_birthday
from flows.parsing import MAX_POINTS, ParseError, clean, parse_moment, parse_telegram_id, parse_whole
from flows.purchases import NewPurchase, PurchaseRefused, Purchases
from flows.sales import REFUSAL_TEXT
from flows.team_text import TeamText, said
from storage.db import Database, Tx
from storage.imports import customer_exists, purchase_exists, upsert_imported_customer
from storage.ledger import LedgerRepo

PURCHASE_COLUMNS = {"external_id", "card", "phone", "telegram_id", "amount", "category", "date"}
CUSTOMER_COLUMNS = {"telegram_id", "first_name", "last_name", "phone", "birthday", "points", "first_seen"}
MAX_LISTED = 200  # rejected rows kept for the report; the rest are only counted
MAX_LINE = 1024 * 1024  # bytes; a longer line is not a row of a spreadsheet
MAX_NAME = 64  # Telegram's own limit for a first or last name

Opener = Callable[[], AbstractContextManager[IO[bytes]]]
OnChunk = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class Pacing:
    """How long one chunk may hold the writer, and how long the import steps aside after each.

    SQLite's busy handler retries a waiting write at most 25 ms apart during its first ~130 ms of waiting,
    so a 30 ms gap lets it in: a bot's write waits at most about hold + gap (80 ms).
    """

    hold: float = 0.05
    gap: float = 0.03
    max_rows: int = 1000


@dataclass(frozen=True)
class Rejected:
    """A row refused, and why (in the reader's language with `problem.text(tr)`; `message` is English)."""

    line: int
    problem: TeamText

    @property
    def message(self) -> str:
        return str(self.problem)


@dataclass
class ImportReport:
    rows: int = 0
    recorded: int = 0
    duplicates: int = 0  # purchases imported before (same external_id): skipped, not an error
    created: int = 0  # customers
    updated: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    rejected_count: int = 0  # all of them, listed or not
    chunks: int = 0  # transactions committed
    longest_chunk: float = 0.0  # seconds the writer was held by the longest chunk
    committed: bool = False  # every row is in
    interrupted: bool = False  # stopped in the second pass; some chunks are in, a re-run finishes

    @property
    def ok(self) -> bool:
        return not self.rejected_count

    def reject(self, line: int, problem: TeamText) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_LISTED:
            self.rejected.append(Rejected(line, problem))

    def describe(self, kind: str, name: str, tr: Translator, *, dry_run: bool = False) -> ReportText:
        """What the owner reads after an import of `kind` ("purchases" or "customers") of the file `name`,
        in `tr`'s language: the refused rows by line, then what happened."""
        problems = [f"{name}:{rejected.line}: {rejected.problem.text(tr)}" for rejected in self.rejected]
        left = self.rejected_count - len(self.rejected)
        if left > 0:
            problems.append(tr.ngettext("… and {n} more", "… and {n} more", left).format(n=_n(left, tr)))
        if kind == "purchases":
            summary = tr.ngettext(
                "{n} purchase recorded, {duplicates} already imported before",
                "{n} purchases recorded, {duplicates} already imported before",
                self.recorded,
            ).format(n=_n(self.recorded, tr), duplicates=_n(self.duplicates, tr))
        else:
            summary = tr.ngettext(
                "{n} customer created, {updated} updated", "{n} customers created, {updated} updated", self.created
            ).format(n=_n(self.created, tr), updated=_n(self.updated, tr))
        if self.interrupted:
            stopped = tr.gettext(
                "stopped: {summary} before that line. Fix it and run the same file again: "
                "rows already imported are skipped."
            )
            return ReportText([*problems, stopped.format(summary=summary)], "", failed=True)
        if not self.ok:
            rejected = tr.ngettext(
                "{rejected} of {n} row rejected: nothing was imported.",
                "{rejected} of {n} rows rejected: nothing was imported.",
                self.rows,
            ).format(rejected=_n(self.rejected_count, tr), n=_n(self.rows, tr))
            return ReportText([*problems, rejected], "", failed=True)
        if dry_run:
            summary = tr.gettext("dry run, nothing written: {summary}").format(summary=summary)
        return ReportText(problems, summary, failed=False)


@dataclass(frozen=True)
class ReportText:
    """An import's report for a person: problems (for stderr) and the summary (for stdout)."""

    problems: list[str]
    summary: str
    failed: bool


def _n(value: int, tr: Translator) -> str:
    return format_decimal(value, locale=tr.language)


def _column(column: str, problem: TeamText | str) -> TeamText:
    """A problem with one column of a row: `amount: …` (the column is the file's, the rest translated)."""
    return TeamText(N_("{column}: {problem}"), column=column, problem=said(problem))


class FileProblem(Exception):
    """The file itself cannot be read on (not UTF-8, a NUL byte, a field over the size limit)."""

    def __init__(self, line: int, message: TeamText) -> None:
        super().__init__(str(message))
        self.line = line
        self.message = message


def open_path(path: str) -> Opener:
    """An opener for `read_csv`: the file's bytes, opened anew for each pass."""
    return lambda: open(path, "rb")


class _Lines:
    """Physical lines decoded one at a time (so a bad byte is reported at its line); a BOM is skipped."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.number = 0  # of the line read last

    def __iter__(self) -> Iterator[str]:
        while raw := self._handle.readline(MAX_LINE + 1):
            self.number += 1
            if len(raw) > MAX_LINE:
                raise FileProblem(
                    self.number,
                    TeamText(N_("a line longer than {size} KB; is this a CSV file?"), size=str(MAX_LINE // 1024)),
                )
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise FileProblem(
                    self.number, TeamText(N_("not UTF-8 text (save the file as CSV UTF-8)"))
                ) from None
            yield line.removeprefix("\ufeff") if self.number == 1 else line


def read_csv(handle: IO[bytes]) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """Header and (line number, row) pairs, read as they come; `,` or `;` separated (spreadsheets in many
    locales use `;`). `FileProblem` (also from the iterator) when the file cannot be read on."""
    source = _Lines(handle)
    lines = iter(source)
    first = next(lines, "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(itertools.chain([first], lines), delimiter=delimiter)
    try:
        header = [clean(name).lower() for name in reader.fieldnames or []]
    except csv.Error as exc:
        raise FileProblem(1, TeamText(N_("cannot read the header ({error})"), error=str(exc))) from None
    reader.fieldnames = header

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FileProblem(
                    source.number, TeamText(N_("cannot read the file on from here ({error})"), error=str(exc))
                ) from None
            cleaned = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str) and isinstance(v, str)}
            if any(cleaned.values()):
                yield reader.line_num, cleaned

    return header, rows()


@dataclass
class Imports:
    db: Database
    purchases: Purchases
    loyalty: Loyalty
    ledger: LedgerRepo
    content: Content
    zone: tzinfo
    max_amount: Decimal
    pacing: Pacing = field(default_factory=Pacing)
    on_chunk: OnChunk | None = None  # called after each committed chunk with its number (tests stop here)

    async def purchases_csv(self, opener: Opener, *, dry_run: bool = False) -> ImportReport:
        """Import purchases: every row checked, then written in chunks; nothing if any row is bad."""
        report = ImportReport()
        now = self.purchases.clock.now()
        with opener() as handle:
            try:
                header, rows = read_csv(handle)
            except FileProblem as problem:
                report.reject(problem.line, problem.message)
                return report
            missing = {"external_id", "amount"} - set(header)
            if missing or not {"card", "phone", "telegram_id"} & set(header):
                needed = ", ".join(sorted(missing)) if missing else TeamText(N_("card, phone or telegram_id"))
                columns = ", ".join(sorted(PURCHASE_COLUMNS))
                report.reject(1, _header_needs(needed, columns))
                return report
            seen: dict[str, int] = {}
            try:
                for line, row in rows:
                    report.rows += 1
                    result = await self._purchase_row(row, now)
                    if isinstance(result, TeamText):
                        report.reject(line, result)
                    elif (external_id := result.external_id or "") in seen:
                        report.reject(line, _repeats("external_id", seen[external_id]))
                    else:
                        seen[external_id] = line
                        if dry_run and await purchase_exists(self.db, "csv", external_id):
                            report.duplicates += 1
                        elif dry_run:
                            report.recorded += 1
            except FileProblem as problem:
                report.reject(problem.line, problem.message)
        if not report.ok or dry_run:
            return report
        seen.clear()

        async def write(tx: Tx, line: int, row: dict[str, str]) -> None:
            result = await self._purchase_row(row, now)
            if isinstance(result, TeamText):  # changed since the first pass (a customer was deleted)
                raise _Stop(line, result)
            try:
                recorded = await self.purchases.record_in(tx, result, now)
            except PurchaseRefused as refused:
                raise _Stop(
                    line, refused.said or TeamText(REFUSAL_TEXT.get(refused.reason, refused.detail))
                ) from None
            report.duplicates += recorded.duplicate
            report.recorded += not recorded.duplicate

        await self._write_all(opener, write, report)
        return report

    async def _purchase_row(self, row: dict[str, str], now: datetime) -> NewPurchase | TeamText:
        external_id = clean(row.get("external_id"))
        if not external_id or len(external_id) > 100:
            return _column("external_id", TeamText(N_("required, at most 100 characters")))
        named = [name for name in ("card", "phone", "telegram_id") if row.get(name)]
        if len(named) != 1:
            return TeamText(N_("give exactly one of card, phone, telegram_id"))
        name, value = named[0], clean(row[named[0]])
        if name == "card":
            customer = await self.ledger.customer_by_card(normalize(value)) if len(value) <= 32 else None
        elif name == "phone":
            digits = "".join(ch for ch in value if ch.isdigit())
            customer = await self.ledger.customer_by_phone(f"+{digits}") if 7 <= len(digits) <= 15 else None
        else:
            try:
                customer = await self.ledger.customer_by_tg(parse_telegram_id(value))
            except ParseError as exc:
                return _column("telegram_id", exc.said)
        if customer is None or customer.tg_id is None:
            return _column(name, TeamText(NO_CUSTOMER[name], value=value[:40]))
        amount = parse_amount(row.get("amount", ""), self.max_amount)
        if amount.value is None:
            assert amount.error is not None
            return _column("amount", amount_problem(amount.error, self.max_amount))
        category = row.get("category") or None
        if category is not None and self.content.loyalty.category(category) is None:
            known = ", ".join(entry.key for entry in self.content.loyalty.catalog)
            return _column(
                "category",
                TeamText(
                    N_("unknown {category} (known: {known})"),
                    category=repr(category[:40]),
                    known=known or TeamText(N_("none")),
                ),
            )
        purchased_at = None
        if row.get("date"):
            try:
                purchased_at = parse_moment(row["date"], self.zone)
            except ParseError as exc:
                return _column("date", exc.said)
            if purchased_at > now:
                return _column("date", TeamText(N_("is in the future")))
        return NewPurchase(
            customer_id=customer.id,
            amount=amount.value,
            source="csv",
            category=category,
            external_id=external_id,
            purchased_at=purchased_at,
            notify=False,
        )

    async def customers_csv(self, opener: Opener, *, dry_run: bool = False) -> ImportReport:
        """Import customers by Telegram id (with an optional opening points balance): checked, then chunked."""
        report = ImportReport()
        now = self.purchases.clock.now()
        with opener() as handle:
            try:
                header, rows = read_csv(handle)
            except FileProblem as problem:
                report.reject(problem.line, problem.message)
                return report
            if "telegram_id" not in header:
                columns = ", ".join(sorted(CUSTOMER_COLUMNS))
                report.reject(1, _header_needs("telegram_id", columns))
                return report
            seen: dict[int, int] = {}
            try:
                for line, row in rows:
                    report.rows += 1
                    result = self._customer_row(row, now)
                    if isinstance(result, TeamText):
                        report.reject(line, result)
                    elif result["tg_id"] in seen:
                        report.reject(line, _repeats("telegram_id", seen[result["tg_id"]]))
                    else:
                        seen[result["tg_id"]] = line
                        if dry_run:
                            exists = await customer_exists(self.db, result["tg_id"])
                            report.updated += exists
                            report.created += not exists
            except FileProblem as problem:
                report.reject(problem.line, problem.message)
        if not report.ok or dry_run:
            return report
        seen.clear()

        async def write(tx: Tx, line: int, row: dict[str, str]) -> None:
            values = self._customer_row(row, now)
            if isinstance(values, TeamText):
                raise _Stop(line, values)
            opening = values.pop("points")
            customer_id, created = await upsert_imported_customer(tx, now=now, **values)
            report.created += created
            report.updated += not created
            await self.loyalty.credit_in(
                tx, customer_id, "adjustment", opening, f"import:{values['tg_id']}", now, reason="opening balance"
            )

        await self._write_all(opener, write, report)
        return report

    def _customer_row(self, row: dict[str, str], now: datetime) -> dict[str, Any] | TeamText:
        try:
            tg_id = parse_telegram_id(row.get("telegram_id"))
        except ParseError as exc:
            return _column("telegram_id", exc.said)
        names: dict[str, str | None] = {}
        for column in ("first_name", "last_name"):
            value = clean(row.get(column))
            if len(value) > MAX_NAME:
                return _column(
                    column, TeamText.ngettext("at most {n} character", "at most {n} characters", MAX_NAME)
                )
            names[column] = value or None
        phone = None
        if row.get("phone"):
            digits = "".join(ch for ch in clean(row["phone"]) if ch.isdigit())
            if not 7 <= len(digits) <= 15:
                return _column("phone", TeamText(N_("not a phone number (7–15 digits)")))
            phone = f"+{digits}"
        birthday = None
        if row.get("birthday"):
            parsed = parse_birthday(clean(row["birthday"]), now.date())
            if parsed is None:
                return _column("birthday", TeamText(N_("write it as 25.12 or 25.12.1990")))
            birthday = (parsed.day, parsed.month, parsed.year)
        try:
            opening = parse_whole(
                row.get("points") or "0", maximum=MAX_POINTS, what=TeamText(N_("number of points"))
            )
        except ParseError as exc:
            return _column("points", exc.said)
        values = {"tg_id": tg_id, **names, "phone": phone, "birthday": birthday, "points": opening}
        return _with_first_seen(values, row, now, self.zone)

    async def _write_all(
        self, opener: Opener, write: Callable[[Tx, int, dict[str, str]], Awaitable[None]], report: ImportReport
    ) -> None:
        """The second pass: the file again, in chunks that each hold the writer at most `pacing.hold`."""
        with opener() as handle:
            _, rows = read_csv(handle)
            pending = _Peekable(rows)
            try:
                while pending.more():
                    started = time.monotonic()
                    async with self.db.transaction() as tx:
                        for line, row in _chunk(pending, self.pacing):
                            await write(tx, line, row)
                    report.chunks += 1
                    report.longest_chunk = max(report.longest_chunk, time.monotonic() - started)
                    if self.on_chunk is not None:
                        await self.on_chunk(report.chunks)
                    if pending.more():
                        await asyncio.sleep(self.pacing.gap)  # let a waiting writer (the bot) in
            except (_Stop, FileProblem) as stop:
                report.reject(stop.line, stop.message)
                report.interrupted = True
                return
        report.committed = True


class _Stop(Exception):
    """A row refused in the second pass: the chunk rolls back, earlier chunks stay (a re-run finishes)."""

    def __init__(self, line: int, message: TeamText) -> None:
        super().__init__(str(message))
        self.line = line
        self.message = message


class _Peekable:
    """Rows with a look ahead, so the import knows whether another chunk follows."""

    def __init__(self, rows: Iterator[tuple[int, dict[str, str]]]) -> None:
        self._rows = rows
        self._next: tuple[int, dict[str, str]] | None = None

    def more(self) -> bool:
        if self._next is None:
            self._next = next(self._rows, None)
        return self._next is not None

    def take(self) -> tuple[int, dict[str, str]]:
        assert self.more() and self._next is not None
        item, self._next = self._next, None
        return item


def _chunk(rows: _Peekable, pacing: Pacing) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows for one transaction: until it has held the writer for `pacing.hold` (the first row always)."""
    started = time.monotonic()
    for taken in range(pacing.max_rows):
        if not rows.more() or (taken and time.monotonic() - started >= pacing.hold):
            return
        yield rows.take()


NO_CUSTOMER = {
    "card": N_("no customer with card {value}"),
    "phone": N_("no customer with phone {value}"),
    "telegram_id": N_("no customer with telegram id {value}"),
}


def _header_needs(needed: str | TeamText, columns: str) -> TeamText:
    return TeamText(N_("the header needs {needed} (columns: {columns})"), needed=needed, columns=columns)


def _repeats(column: str, line: int) -> TeamText:
    return TeamText(N_("{column} repeats line {line}"), column=column, line=str(line))


def _with_first_seen(
    values: dict[str, Any], row: dict[str, str], now: datetime, zone: tzinfo
) -> dict[str, Any] | TeamText:
    """The optional `first_seen` column: when the customer first came (else their earliest purchase, or now)."""
    values["first_seen"] = None
    if row.get("first_seen"):
        try:
            moment = parse_moment(row["first_seen"], zone)
        except ParseError:
            moment = None
        if moment is None or moment > now:
            return _column("first_seen", TeamText(N_("a past date such as 2024-03-15 or 15.03.2024")))
        values["first_seen"] = moment
    return values
