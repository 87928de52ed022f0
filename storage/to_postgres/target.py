"""The empty PostgreSQL database a business moves into: reached, checked empty, migrated, filled.

The whole copy is one transaction: if anything fails, nothing stays behind but the migrated, empty schema,
and the move can simply be run again. While it runs, the tables' own triggers are off (the rows arrive as
SQLite kept them, derived tables included: the purchase totals, the ledger's checks were passed when the rows
were first written) and the foreign keys that a table order cannot satisfy (two tables pointing at each
other) are checked once at the end instead of row by row.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from storage.db import Migration, SchemaTooNewError, check_not_newer, load_migrations
from storage.postgres import POSTGRES_ONLY_TABLES, connecting, migrate, shown_url
from storage.to_postgres.refusals import MoveRefused

CONNECT_TIMEOUT = 10.0  # seconds
_RUNNER_TABLE = "schema_migrations"

_TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
ORDER BY 1
"""
_COLUMNS = """
SELECT c.relname, a.attname, t.typname, a.attgenerated <> '', a.attidentity <> ''
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
JOIN pg_type t ON t.oid = a.atttypid
WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""
_FOREIGN_KEYS = """
SELECT con.conname, t.relname, f.relname FROM pg_constraint con
JOIN pg_class t ON t.oid = con.conrelid
JOIN pg_class f ON f.oid = con.confrelid
JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
WHERE con.contype = 'f' AND NOT con.condeferrable
"""
_TRIGGERED = """
SELECT DISTINCT c.relname FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public' WHERE NOT tg.tgisinternal
"""


shown = shown_url  # the URL as it may be printed (no password)


async def connect(url: str) -> asyncpg.Connection:
    """Connect to the target; `MoveRefused` saying what is wrong (unreachable, login refused, no such
    database) without the password."""
    with connecting(url, MoveRefused):
        return await asyncpg.connect(
            url,
            timeout=CONNECT_TIMEOUT,
            server_settings={"application_name": "nurture-bot migrate-to-postgres", "timezone": "UTC"},
        )


async def prepare(conn: asyncpg.Connection) -> int:
    """Check that the target holds nothing (no tables, or only the bot's tables without a row), then bring
    its schema to this code's version; the version. Nothing is changed when the target is refused."""
    tables = [row[0] for row in await conn.fetch(_TABLES)]
    migrations = load_migrations("postgresql")
    if _RUNNER_TABLE in tables:  # a newer bot's schema: say so before naming its tables as foreign
        try:
            check_not_newer(
                int(await conn.fetchval(f"SELECT COALESCE(MAX(version), 0) FROM {_RUNNER_TABLE}")), migrations
            )
        except SchemaTooNewError as exc:
            raise MoveRefused(f"the target database: {exc}") from None
    known = _shipped_tables(migrations)
    foreign = [name for name in tables if name not in known]
    if foreign:
        listed = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
        raise MoveRefused(
            f"the target database is not empty (it has tables of its own: {listed}): "
            "give a new, empty database (createdb …)"
        )
    filled = [name for name in tables if await conn.fetchval(f'SELECT EXISTS (SELECT 1 FROM "{name}")')]
    filled = [name for name in filled if name != _RUNNER_TABLE]
    if filled:
        raise MoveRefused(
            f"the target database is not empty ({', '.join(filled[:5])} hold rows: a bot has run on it): "
            "moving into it would mix two businesses; give a new, empty database (createdb …)"
        )
    await migrate(conn, migrations)
    return int(await conn.fetchval(f"SELECT MAX(version) FROM {_RUNNER_TABLE}"))


def _shipped_tables(migrations: list[Migration]) -> set[str]:
    """The name of every table and view the PostgreSQL migrations create (a target holding only these is
    the bot's own schema, perhaps of an earlier version)."""
    names = {_RUNNER_TABLE}
    pattern = re.compile(
        r"CREATE\s+(?:UNLOGGED\s+)?(?:TABLE|VIEW|MATERIALIZED\s+VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?\"?(\w+)", re.I
    )
    for migration in migrations:
        names.update(match.lower() for match in pattern.findall(migration.sql))
    return names


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # pg_type.typname: int8, text, bytea, bool, timestamptz, jsonb …
    generated: bool
    identity: bool


@dataclass
class Table:
    name: str
    columns: list[Column] = field(default_factory=list)
    parents: set[str] = field(default_factory=set)  # tables its foreign keys point at (itself left out)

    @property
    def stored(self) -> list[Column]:
        """The columns a copy fills (PostgreSQL computes generated ones itself)."""
        return [column for column in self.columns if not column.generated]


@dataclass
class Catalog:
    tables: dict[str, Table]
    foreign_keys: list[tuple[str, str, str]]  # (constraint, table, referenced table)
    triggered: set[str]  # tables with triggers of their own


async def catalog(conn: asyncpg.Connection) -> Catalog:
    """The bot's tables in the target as the migrations made them."""
    tables: dict[str, Table] = {}
    for table, name, kind, generated, identity in await conn.fetch(_COLUMNS):
        if table != _RUNNER_TABLE and table not in POSTGRES_ONLY_TABLES:
            tables.setdefault(table, Table(table)).columns.append(Column(name, kind, generated, identity))
    keys = [(row[0], row[1], row[2]) for row in await conn.fetch(_FOREIGN_KEYS) if row[1] in tables]
    for _, table, parent in keys:
        if parent != table:
            tables[table].parents.add(parent)
    triggered = {row[0] for row in await conn.fetch(_TRIGGERED)} & set(tables)
    return Catalog(tables, keys, triggered)


def copy_order(tables: dict[str, Table]) -> tuple[list[str], set[str]]:
    """Tables in foreign-key order (a table after those it points at) and the tables copied before one they
    point at, because two tables point at each other: their foreign keys are checked at the end."""
    placed: list[str] = []
    early: set[str] = set()
    waiting = sorted(tables)
    while waiting:
        ready = [name for name in waiting if tables[name].parents <= set(placed)]
        if not ready:  # a cycle: take the first waiting table; its keys are checked at the end
            ready = waiting[:1]
            early.add(ready[0])
        placed.extend(ready)
        waiting = [name for name in waiting if name not in ready]
    return placed, early


@dataclass
class Fill:
    """The open transaction filling the target: triggers off, early tables' keys deferred."""

    conn: asyncpg.Connection
    catalog: Catalog
    deferred: list[tuple[str, str]] = field(default_factory=list)  # (table, constraint)

    async def begin(self, early: set[str], placed: list[str]) -> None:
        for table in sorted(self.catalog.triggered):
            await self.conn.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
        for name, table, parent in self.catalog.foreign_keys:
            if table in early and parent != table and placed.index(parent) > placed.index(table):
                self.deferred.append((table, name))
                await self.conn.execute(
                    f'ALTER TABLE "{table}" ALTER CONSTRAINT "{name}" DEFERRABLE INITIALLY DEFERRED'
                )

    async def copy(
        self, table: Table, records: AsyncIterator[tuple[Any, ...]] | Iterable[tuple[Any, ...]]
    ) -> None:
        """One COPY for the whole table (a foreign key of a table to itself is checked at its end)."""
        await self.conn.copy_records_to_table(
            table.name, records=records, columns=[column.name for column in table.stored]
        )

    async def finish(self, handed_out: Callable[[str], int]) -> None:
        """Check the deferred keys now, put constraints and triggers back as the migrations made them, and
        move every identity sequence past the copied ids and past `handed_out(table)` (the highest id SQLite
        ever gave, deleted rows included): the next insert gets a new id."""
        await self.conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for owner, name in self.deferred:
            await self.conn.execute(f'ALTER TABLE "{owner}" ALTER CONSTRAINT "{name}" NOT DEFERRABLE')
        for triggered in sorted(self.catalog.triggered):
            await self.conn.execute(f'ALTER TABLE "{triggered}" ENABLE TRIGGER USER')
        for table in self.catalog.tables.values():
            for column in table.columns:
                if column.identity:
                    copied = await self.conn.fetchval(
                        f'SELECT COALESCE(MAX("{column.name}"), 0) FROM "{table.name}"'
                    )
                    await self.conn.execute(
                        "SELECT setval(pg_get_serial_sequence($1, $2), $3, false)",
                        f'"{table.name}"',
                        column.name,
                        max(int(copied), handed_out(table.name)) + 1,
                    )


async def count(conn: asyncpg.Connection, table: str) -> int:
    """How many rows `table` has."""
    return int(await conn.fetchval(f'SELECT COUNT(*) FROM "{table}"'))


async def figures(conn: asyncpg.Connection, sql: str, batch: int) -> AsyncIterator[tuple[Any, ...]]:
    """The rows of a per-customer query, fetched `batch` at a time through a server-side cursor."""
    async with conn.transaction(readonly=True):
        async for row in conn.cursor(sql, prefetch=batch):
            yield tuple(row)
