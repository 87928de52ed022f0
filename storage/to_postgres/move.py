"""The move itself: every table of a SQLite file copied into an empty PostgreSQL database, then compared.

At the end the two are compared from the same snapshot of the source: row counts per table, and per customer
the points balance (the ledger's SUM) and the purchases (how many, and their sum in cents). Any difference
is reported; the caller exits non-zero.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from storage.to_postgres import target
from storage.to_postgres.refusals import MoveRefused
from storage.to_postgres.source import Source, SourceTable
from storage.to_postgres.values import Unconvertible, converter

BATCH = 5000
# The server went away (restarted, shut down, the connection cut), rather than refusing a statement.
CONNECTION_LOST = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
)
SHOWN_DIFFERENCES = 5
# Per customer, ordered by customer id on both engines (storage/ledger.py: the balance is SUM(delta)).
_POINTS = "SELECT customer_id, SUM(delta) FROM points_ledger GROUP BY customer_id ORDER BY customer_id"
_PURCHASES = (
    "SELECT customer_id, COUNT(*), COALESCE(SUM(amount_cents), 0) FROM purchases"
    " GROUP BY customer_id ORDER BY customer_id"
)


@dataclass(frozen=True)
class TableCount:
    name: str
    source: int
    target: int


@dataclass(frozen=True)
class LedgerCheck:
    """One per-customer figure compared: how many customers have it, its total, who differs."""

    what: str  # "points" or "purchases"
    customers: int
    total: int  # points, or cents
    differing: tuple[int, ...]  # the first few customer ids whose figures differ
    different: int  # how many differ


@dataclass(frozen=True)
class Moved:
    source: Path
    target: str  # printable: no password
    version: int
    tables: list[TableCount]
    ledgers: list[LedgerCheck]

    @property
    def ok(self) -> bool:
        """Every count and every customer's figures are the same on both sides."""
        return all(t.source == t.target for t in self.tables) and not any(c.different for c in self.ledgers)


async def move(
    source_path: Path, url: str, *, batch: int = BATCH, on_table: Callable[[str, int], None] | None = None
) -> Moved:
    """Copy the SQLite file `source_path` into the empty PostgreSQL database `url` and compare the two;
    `MoveRefused` when it cannot start or was rolled back. `on_table(name, rows)` after each table."""
    source = Source.open(source_path)
    try:
        conn = await target.connect(url)
        try:
            version = await target.prepare(conn)
            if version != source.version:
                raise MoveRefused(f"the target is at schema version {version}, the source at {source.version}")
            catalog = await target.catalog(conn)
            await _fill(source, conn, catalog, batch, on_table)
            return await _compared(source, conn, url, catalog, batch)
        finally:
            await conn.close()
    finally:
        source.close()


async def verify(source_path: Path, url: str, *, batch: int = BATCH) -> Moved:
    """Compare a SQLite file with the PostgreSQL database it was moved into (what `move` does at its end),
    changing neither."""
    source = Source.open(source_path)
    try:
        conn = await target.connect(url)
        try:
            return await _compared(source, conn, url, await target.catalog(conn), batch)
        finally:
            await conn.close()
    finally:
        source.close()


async def _compared(
    source: Source, conn: asyncpg.Connection, url: str, catalog: target.Catalog, batch: int
) -> Moved:
    counts = [
        TableCount(name, source.count(name), await target.count(conn, name)) for name in sorted(catalog.tables)
    ]
    ledgers = [
        await _compare("points", source, conn, _POINTS, batch),
        await _compare("purchases", source, conn, _PURCHASES, batch),
    ]
    return Moved(source.path, target.shown(url), source.version, counts, ledgers)


def _matched(source: Source, catalog: target.Catalog) -> dict[str, SourceTable]:
    """The source's tables, checked to be the target's, column for column."""
    tables = source.tables()
    missing = sorted(set(catalog.tables) - set(tables))
    extra = sorted(set(tables) - set(catalog.tables))
    if missing or extra:
        raise MoveRefused(
            f"the two schemas differ (only in PostgreSQL: {', '.join(missing) or '-'}; "
            f"only in SQLite: {', '.join(extra) or '-'}): report this as a bug"
        )
    for name, table in catalog.tables.items():
        wanted = {column.name for column in table.stored}
        if wanted != set(tables[name].columns):
            raise MoveRefused(f"{name}: the two schemas' columns differ: report this as a bug")
    return tables


async def _fill(
    source: Source,
    conn: asyncpg.Connection,
    catalog: target.Catalog,
    batch: int,
    on_table: Callable[[str, int], None] | None,
) -> None:
    """Copy every table in one transaction (all or nothing)."""
    tables = _matched(source, catalog)
    order, early = target.copy_order(catalog.tables)
    try:
        async with conn.transaction():
            fill = target.Fill(conn, catalog)
            await fill.begin(early, order)
            for name in order:
                copied = _Counter()
                await fill.copy(
                    catalog.tables[name], _records(source, tables[name], catalog.tables[name], batch, copied)
                )
                if on_table is not None:
                    on_table(name, copied.rows)
            await fill.finish(source.last_id)
    except CONNECTION_LOST as exc:  # before PostgresError: a server shutting down is one too
        raise MoveRefused(
            f"the connection to PostgreSQL was lost during the copy ({type(exc).__name__}); nothing was copied "
            "(the server rolls the copy back): run the move again"
        ) from None
    except asyncpg.PostgresError as exc:
        raise MoveRefused(
            f"PostgreSQL refused the copy ({type(exc).__name__}: {exc}); nothing was copied "
            "(the target holds the empty schema, the move can be run again)"
        ) from None


@dataclass
class _Counter:
    rows: int = 0


def _records(
    source: Source, table: SourceTable, into: target.Table, batch: int, counter: _Counter
) -> Iterator[tuple[Any, ...]]:
    """The source table's rows converted for the target's columns, streamed."""
    columns = tuple(column.name for column in into.stored)
    convert = [converter(column.type) for column in into.stored]
    for chunk in source.rows(table, columns, batch):
        for row in chunk:
            try:
                yield tuple(None if value is None else fix(value) for fix, value in zip(convert, row, strict=True))
            except Unconvertible as exc:
                raise MoveRefused(_unconvertible(table.name, columns, into, row, exc)) from None
        counter.rows += len(chunk)


def _unconvertible(
    table: str, columns: tuple[str, ...], into: target.Table, row: tuple[Any, ...], why: Exception
) -> str:
    for column, value in zip(into.stored, row, strict=True):
        if value is None:
            continue
        try:
            converter(column.type)(value)
        except Unconvertible:
            key = f" (row with {columns[0]} = {row[0]})" if columns else ""
            return (
                f"{table}.{column.name}{key}: {why}, PostgreSQL's {column.type} cannot take it; nothing was copied"
            )
    return f"{table}: {why}; nothing was copied"


async def _compare(what: str, source: Source, conn: asyncpg.Connection, sql: str, batch: int) -> LedgerCheck:
    """The per-customer rows of `sql` on both sides, merged by customer id."""
    theirs = target.figures(conn, sql, batch)
    differing: list[int] = []
    different = customers = total = 0
    pending = await _next(theirs)
    for mine in source.figures(sql, batch):
        customers += 1
        total += int(mine[-1] or 0)
        while pending is not None and pending[0] < mine[0]:  # only in the target
            different += 1
            differing.append(int(pending[0]))
            pending = await _next(theirs)
        if pending is None or _figures(pending) != _figures(mine):
            different += 1
            differing.append(mine[0])
        if pending is not None and pending[0] == mine[0]:
            pending = await _next(theirs)
    while pending is not None:
        different += 1
        differing.append(int(pending[0]))
        pending = await _next(theirs)
    return LedgerCheck(what, customers, total, tuple(differing[:SHOWN_DIFFERENCES]), different)


def _figures(row: tuple[Any, ...]) -> tuple[int, ...]:
    return tuple(int(value or 0) for value in row)


async def _next(rows: AsyncIterator[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    try:
        return await anext(rows)
    except StopAsyncIteration:
        return None
