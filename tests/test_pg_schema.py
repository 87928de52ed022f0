"""The two engines' migrations build the same schema: the SQLite files applied to a fresh file, the
PostgreSQL twins (storage/migrations/postgresql) applied by the real runner to a fresh server database,
then both read back from their catalogs and compared — tables, views, columns (type, nullability,
default), keys, unique constraints, indexes, foreign keys, CHECKs (by count) and triggers. The triggers are
then run on both engines with the same statements and must do the same.

Where the engines differ on purpose it is written down here (and in the twin's comments), so a new
migration that forgets its twin, or a twin that drifts, fails this test rather than a customer's query.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from storage.db import Database, load_migrations
from tests.pg_server import _run_sync, server, server_binaries

# SQLite's full-text table for the customer search (0017) and the tables FTS5 makes for it. PostgreSQL
# does the same job with a GIN index over the customers' own columns (`customers_names`), which needs
# neither a table nor the triggers that keep one in step.
SQLITE_ONLY_TABLES = {
    "customer_names",
    "customer_names_data",
    "customer_names_idx",
    "customer_names_content",
    "customer_names_docsize",
    "customer_names_config",
}
SQLITE_ONLY_TRIGGERS = {"customer_names_added", "customer_names_renamed", "customer_names_removed"}
POSTGRES_ONLY_INDEXES = {"customers_names"}
# The send budget several bot processes share (0024, flows/shared_pacing.py); one process on SQLite paces
# itself in memory, so SQLite's 0024 creates nothing.
POSTGRES_ONLY_TABLES = {"pace_lanes"}
# The migration runner's own bookkeeping (the SQLite side here runs the files itself, without the runner).
RUNNER_TABLES = {"schema_migrations"}

# Declared SQLite type → the PostgreSQL type of its twin (every integer is 64-bit on both).
TYPES = {"INTEGER": "bigint", "TEXT": "text", "REAL": "double precision", "BLOB": "bytea"}


@dataclass(frozen=True)
class Column:
    type: str  # PostgreSQL's name for it
    not_null: bool
    default: str | None  # normalized: no casts, no quotes around numbers


@dataclass(frozen=True)
class Index:
    table: str
    columns: tuple[str, ...]  # "<expr>" for an expression
    unique: bool
    partial: bool


@dataclass
class Schema:
    tables: dict[str, dict[str, Column]] = field(default_factory=dict)
    views: set[str] = field(default_factory=set)
    named_indexes: dict[str, Index] = field(default_factory=dict)  # made by CREATE INDEX
    keys: set[tuple[str, tuple[str, ...]]] = field(default_factory=set)  # primary keys and UNIQUE
    # (table, columns, referenced table, referenced columns, on delete)
    foreign_keys: set[tuple[str, tuple[str, ...], str, tuple[str, ...], str]] = field(default_factory=set)
    triggers: set[tuple[str, str]] = field(default_factory=set)  # (table, name)
    checks: dict[str, int] = field(default_factory=dict)  # table → how many CHECK constraints it has


def _default(text: str | None) -> str | None:
    """One spelling for a column default on both engines: `'pending'::text` and `'pending'` alike."""
    if text is None:
        return None
    text = re.sub(r"::[a-z ]+$", "", text.strip())
    return text.strip("()")


# ---- SQLite ----


def sqlite_schema() -> Schema:
    conn = sqlite3.connect(":memory:")
    try:
        for migration in load_migrations("sqlite"):
            conn.executescript(migration.sql)
        return _read_sqlite(conn)
    finally:
        conn.close()


def _read_sqlite(conn: sqlite3.Connection) -> Schema:
    schema = Schema()
    objects = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
    for kind, name, table, sql in objects.fetchall():
        if kind == "view":
            schema.views.add(name)
        elif kind == "trigger":
            schema.triggers.add((table, name))
        elif kind == "table" and name not in SQLITE_ONLY_TABLES:
            _read_sqlite_table(conn, name, schema)
            # SQLite keeps no catalog of CHECKs, but its stored CREATE TABLE (ADD COLUMN included) has them.
            if found := len(re.findall(r"\bCHECK\s*\(", sql)):
                schema.checks[name] = found
    return schema


def _read_sqlite_table(conn: sqlite3.Connection, table: str, schema: Schema) -> None:
    columns: dict[str, Column] = {}
    primary: list[tuple[int, str]] = []
    # table_xinfo, not table_info: generated columns count too (hidden 2/3; 1 is a virtual table's own).
    for _, name, declared, not_null, default, pk, hidden in conn.execute(f"PRAGMA table_xinfo({table})"):
        if hidden == 1:
            continue
        # SQLite lets a non-INTEGER PRIMARY KEY column hold NULL (a legacy quirk); PostgreSQL does not.
        columns[name] = Column(TYPES.get(declared, declared), bool(not_null or pk), _default(default))
        if pk:
            primary.append((pk, name))
    schema.tables[table] = columns
    if primary:
        schema.keys.add((table, tuple(name for _, name in sorted(primary))))
    for _, name, unique, origin, partial in conn.execute(f"PRAGMA index_list({table})"):
        # index_xinfo rows: (seqno, cid, name, desc, coll, key); cid -2 is an expression, -1 the rowid.
        indexed = tuple(
            "<expr>" if row[1] == -2 else row[2]
            for row in conn.execute(f"PRAGMA index_xinfo({name})")
            if row[5] and row[1] != -1
        )
        if origin == "c":
            schema.named_indexes[name] = Index(table, indexed, bool(unique), bool(partial))
        else:
            schema.keys.add((table, indexed))
    for row in conn.execute(f"PRAGMA foreign_key_list({table})").fetchall():
        _, _, target, source, target_column, _, on_delete = row[:7]
        schema.foreign_keys.add((table, (source,), target, (target_column or "id",), on_delete))


# ---- PostgreSQL ----

_PG_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END, coll.collname
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation coll ON coll.oid = a.attcollation
WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
"""
_PG_INDEXES = """
SELECT i.relname, t.relname, x.indisunique, x.indpred IS NOT NULL, con.contype,
       ARRAY(SELECT COALESCE(a.attname, '<expr>') FROM unnest(x.indkey[0:x.indnkeyatts - 1]) WITH ORDINALITY AS k(num, pos)
             LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.num ORDER BY k.pos)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.contype IN ('p', 'u')
"""
_PG_FOREIGN_KEYS = """
SELECT t.relname, ARRAY(SELECT a.attname FROM unnest(con.conkey) AS k(num)
                        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num),
       f.relname, ARRAY(SELECT a.attname FROM unnest(con.confkey) AS k(num)
                        JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num),
       CASE con.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'c' THEN 'CASCADE' WHEN 'r' THEN 'RESTRICT'
                            WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END
FROM pg_constraint con
JOIN pg_class t ON t.oid = con.conrelid
JOIN pg_class f ON f.oid = con.confrelid
JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
WHERE con.contype = 'f'
"""
_PG_TRIGGERS = """
SELECT c.relname, tg.tgname FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public' WHERE NOT tg.tgisinternal
"""
_PG_VIEWS = "SELECT viewname FROM pg_views WHERE schemaname = 'public'"
_PG_CHECKS = """
SELECT t.relname, COUNT(*) FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public' WHERE con.contype = 'c' GROUP BY 1
"""


@dataclass
class PgCatalog:
    schema: Schema
    collations: dict[tuple[str, str], str | None]  # (table, text column) → its collation
    versions: list[tuple[int, str]]  # what the runner recorded as applied
    own_tables: set[str] = field(default_factory=set)  # of POSTGRES_ONLY_TABLES, those found


async def _read_postgres(url: str) -> PgCatalog:
    conn = await asyncpg.connect(url)
    try:
        schema = Schema()
        collations: dict[tuple[str, str], str | None] = {}
        own_tables: set[str] = set()
        for table, column, type_, not_null, default, collation in await conn.fetch(_PG_COLUMNS):
            if table in POSTGRES_ONLY_TABLES:
                own_tables.add(table)
            if table in RUNNER_TABLES | POSTGRES_ONLY_TABLES:
                continue
            schema.tables.setdefault(table, {})[column] = Column(type_, not_null, _default(default))
            if type_ == "text":
                collations[(table, column)] = collation
        for name, table, unique, partial, constraint, columns in await conn.fetch(_PG_INDEXES):
            if table in RUNNER_TABLES | POSTGRES_ONLY_TABLES:
                continue
            if constraint:
                schema.keys.add((table, tuple(columns)))
            else:
                schema.named_indexes[name] = Index(table, tuple(columns), unique, partial)
        for table, source, target, target_columns, on_delete in await conn.fetch(_PG_FOREIGN_KEYS):
            schema.foreign_keys.add((table, tuple(source), target, tuple(target_columns), on_delete))
        schema.triggers = {(table, name) for table, name in await conn.fetch(_PG_TRIGGERS)}
        schema.views = {row[0] for row in await conn.fetch(_PG_VIEWS)}
        schema.checks = {row[0]: row[1] for row in await conn.fetch(_PG_CHECKS)}
        versions = [
            (row[0], row[1]) for row in await conn.fetch("SELECT version, name FROM schema_migrations ORDER BY 1")
        ]
        return PgCatalog(schema, collations, versions, own_tables)
    finally:
        await conn.close()


# ---- the comparison ----


@pytest.fixture(scope="module")
def schemas() -> Iterator[tuple[Schema, PgCatalog]]:
    if server_binaries() is None:
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql; `dev.py test` does it)")
    running = server()
    url = running.database()
    try:
        yield sqlite_schema(), _run_sync(lambda: _read_postgres(url))
    finally:
        running.drop_made()


def _without(mapping: dict[str, Any], names: set[str]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if key not in names}


def test_both_engines_ship_the_same_migrations_and_the_runner_applied_all_of_them(
    schemas: tuple[Schema, PgCatalog],
) -> None:
    sqlite_files = [(m.version, m.name) for m in load_migrations("sqlite")]
    postgres_files = [(m.version, m.name) for m in load_migrations("postgresql")]
    assert postgres_files == sqlite_files
    assert schemas[1].versions == postgres_files


def test_the_same_tables_views_and_columns(schemas: tuple[Schema, PgCatalog]) -> None:
    lite, pg = schemas[0], schemas[1].schema
    assert sorted(pg.tables) == sorted(lite.tables)
    for table, columns in lite.tables.items():
        assert list(pg.tables[table]) == list(columns), f"{table}: columns or their order differ"
        for name, column in columns.items():
            assert pg.tables[table][name] == column, f"{table}.{name}"
    assert pg.views == lite.views
    assert schemas[1].own_tables == POSTGRES_ONLY_TABLES


def test_every_text_column_compares_bytes_as_sqlite_does(schemas: tuple[Schema, PgCatalog]) -> None:
    """COLLATE "C" on every TEXT column: moments and phone prefixes are compared as text (see 0001's twin)."""
    collations = schemas[1].collations
    assert collations and {name for name in collations.values()} == {"C"}, {
        key: value for key, value in collations.items() if value != "C"
    }


def test_the_same_keys_unique_constraints_indexes_and_foreign_keys(schemas: tuple[Schema, PgCatalog]) -> None:
    lite, pg = schemas[0], schemas[1].schema
    assert pg.keys == lite.keys
    assert _without(pg.named_indexes, POSTGRES_ONLY_INDEXES) == lite.named_indexes
    assert pg.named_indexes["customers_names"].columns == ("<expr>",)
    assert pg.foreign_keys == lite.foreign_keys
    assert ("customer_tags", ("customer_id",), "customers", ("id",), "CASCADE") in pg.foreign_keys


def test_the_same_check_constraints_by_count(schemas: tuple[Schema, PgCatalog]) -> None:
    lite, pg = schemas[0], schemas[1].schema
    assert pg.checks == lite.checks
    assert lite.checks["points_ledger"] == 2 and lite.checks["faq_log"] == 2  # the count reads real constraints


def test_the_same_triggers(schemas: tuple[Schema, PgCatalog]) -> None:
    lite, pg = schemas[0], schemas[1].schema
    assert pg.triggers == {(table, name) for table, name in lite.triggers if name not in SQLITE_ONLY_TRIGGERS}


# ---- the triggers behave alike ----


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh database on each engine, with one customer (id 1) and one purchase-less enrolment (id 1)."""
    if request.param == "postgresql":
        if server_binaries() is None:
            pytest.skip("PostgreSQL is not installed here (apt-get install postgresql; `dev.py test` does it)")
        target: Path | str = server().database()
    else:
        target = tmp_path / "bot.db"
    opened = await Database.open(target)
    try:
        await opened.execute(
            "INSERT INTO customers (tg_id, first_seen_at, last_seen_at) VALUES (?, ?, ?)", (7, MOMENT, MOMENT)
        )
        await opened.execute(
            "INSERT INTO enrollments (customer_id, sequence, started_at) VALUES (1, 'welcome', ?)", (MOMENT,)
        )
        yield opened
    finally:
        await opened.close()
        if request.param == "postgresql":
            server().drop_made()


MOMENT = "2026-01-05 12:00:00"
REFUSED = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)


async def _ledger(db: Database, key: str, delta: int, reason: str | None = None) -> None:
    await db.execute(
        "INSERT INTO points_ledger (customer_id, kind, delta, reason, idempotency_key, created_at)"
        " VALUES (1, ?, ?, ?, ?, ?)",
        ("bonus" if delta > 0 else "redemption", delta, reason, key, MOMENT),
    )


async def test_the_ledger_is_append_only_and_never_negative_on_both(db: Database) -> None:
    await _ledger(db, "a", 10, "a note about Zoryana")
    with pytest.raises(REFUSED, match="cannot go negative"):
        await _ledger(db, "b", -11)
    await _ledger(db, "c", -10)
    for sql in (
        "UPDATE points_ledger SET delta = delta + 1 WHERE idempotency_key = 'a'",
        "UPDATE points_ledger SET reason = 'something else' WHERE idempotency_key = 'a'",
        "UPDATE points_ledger SET reason = NULL, delta = 1000 WHERE idempotency_key = 'a'",
        "DELETE FROM points_ledger WHERE idempotency_key = 'a'",
    ):
        with pytest.raises(REFUSED, match="append-only"):
            await db.execute(sql)
    assert await db.execute("UPDATE points_ledger SET reason = NULL WHERE idempotency_key = 'a'") == 1
    assert await db.fetch_value("SELECT SUM(delta) FROM points_ledger") == 0


async def test_purchase_figures_and_first_contact_are_kept_by_triggers_on_both(db: Database) -> None:
    for number, (when, cents, category) in enumerate(
        [("2026-01-10 10:00:00", 1500, "coffee"), ("2026-01-03 09:00:00", 500, None)], start=1
    ):
        await db.execute(
            "INSERT INTO purchases (customer_id, number, amount, amount_cents, category, source, purchased_at,"
            " created_at) VALUES (1, ?, ?, ?, ?, 'api', ?, ?)",
            (number, str(cents / 100), cents, category, when, MOMENT),
        )
    await db.execute(
        "INSERT INTO purchase_items (purchase_id, position, name, category) VALUES (2, 1, 'cake', 'bakery')"
    )
    totals = await db.fetch_one("SELECT purchases, spent_cents, first_at, last_at FROM purchase_totals")
    assert totals is not None and tuple(totals) == (2, 2000, "2026-01-03 09:00:00", "2026-01-10 10:00:00")
    categories = await db.fetch_all("SELECT category, last_at FROM purchase_categories ORDER BY category")
    assert [tuple(row) for row in categories] == [
        ("bakery", "2026-01-03 09:00:00"),
        ("coffee", "2026-01-10 10:00:00"),
    ]
    for key, state, sent in (("one", "sent", "2026-01-06 08:00:00"), ("two", "pending", None)):
        await db.execute(
            "INSERT INTO outbox (idempotency_key, customer_id, chat_id, kind, payload, enrollment_id, due_at,"
            " state, created_at, sent_at) VALUES (?, 1, 7, 'sequence', '{}', 1, ?, ?, ?, ?)",
            (key, MOMENT, state, MOMENT, sent),
        )
    await db.execute(
        "UPDATE outbox SET state = 'sent', sent_at = '2026-01-05 13:00:00' WHERE idempotency_key = 'two'"
    )
    assert await db.fetch_value("SELECT first_sent_at FROM enrollments WHERE id = 1") == "2026-01-05 13:00:00"
