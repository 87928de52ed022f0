"""The PostgreSQL engine (asyncpg): a connection pool shared by reads and writes, with SQLite's semantics.

Repositories are written once, for both engines: ``?`` placeholders (translated to ``$1, $2…``), rows
read by position or column name (asyncpg's `Record` does both), `Tx.execute` returning the changed row
count and `Tx.insert` the new id. Parameters are converted to the type PostgreSQL expects for them where
SQLite would have converted them by column affinity (an int stored into a TEXT column, say).

Write transactions keep SQLite's guarantee that there is one writer at a time, with one audited way out.
Every `transaction()` takes one transaction-scoped advisory lock (`pg_advisory_xact_lock`) before anything
else: write transactions are serialized across every process sharing the database, exactly as SQLite's
single writer serializes them, and under READ COMMITTED each statement after the lock sees everything
committed before it, so the read-then-write code written for SQLite stays correct. A transaction given a
`scope` (a customer's: `storage.db.customer_scope`) takes that same lock SHARED and an exclusive lock on
its scope's key instead: scoped transactions of different customers run at once, two of one customer one
after the other, and none runs while an unscoped one holds the lock, nor starts while one waits for it
(PostgreSQL queues a shared request behind a waiting exclusive one). So an unscoped transaction still sees
a quiescent database: no scoped transaction is half done, and rows that scoped ones appended (events, whose
ids a cursor follows) are all committed, with no gap that fills in later. Each caller passing a scope says
why it is safe there: it reads and writes only its customer's rows, or writes shared tables by row-locked
inserts (`ON CONFLICT`) that cannot depend on what another scoped transaction is writing.
Outbox claims take their row with `FOR UPDATE SKIP LOCKED` (storage/outbox.py); their check that no other
row of the chat is in flight relies on the exclusive lock (claims are never scoped).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, ClassVar
from urllib.parse import urlsplit

import asyncpg

from storage.db import (
    Database,
    DatabaseUnreachable,
    Engine,
    Migration,
    Params,
    Row,
    Tx,
    WriteStats,
    check_not_newer,
    committed,
    current_handling,
    load_migrations,
    url_secrets,
    write_mark,
)
from storage.signals import CHANNEL, Signals

log = logging.getLogger(__name__)

# Advisory lock keys (per database): one for write transactions, one for migrating (bigint keys), and the
# namespace of scoped transactions' keys (the two-int form: (SCOPE_SPACE, hash of the scope)).
WRITE_LOCK = 0x6E75_7274_0001
MIGRATION_LOCK = 0x6E75_7274_0002
SCOPE_SPACE = 0x6E75_7273
POOL_SIZE = 10
# Tables only PostgreSQL has: state that several processes share and one SQLite process keeps in memory (the
# send budget's lanes, 0024). Nothing to copy from SQLite, nothing to compare with it.
POSTGRES_ONLY_TABLES = frozenset({"pace_lanes"})
CLOSE_TIMEOUT = 5.0  # seconds
# Statements sent as one round trip: BEGIN, then wait for the writer's turn (or, scoped, for a shared turn
# and then the scope's own key: always in this order, so no two transactions wait for each other in a ring).
_BEGIN = f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"
_BEGIN_SCOPED = (
    f"BEGIN; SELECT pg_advisory_xact_lock_shared({WRITE_LOCK}); SELECT pg_advisory_xact_lock({SCOPE_SPACE}, {{}})"
)


def scope_key(scope: str) -> int:
    """A scope's advisory key: a signed 32-bit hash (two scopes sharing one only wait for each other)."""
    value = zlib.crc32(scope.encode())
    return value - (1 << 32) if value >= 1 << 31 else value


_TOKENS = re.compile(
    r"""('(?:[^']|'')*')          # a string literal
      | ("(?:[^"]|"")*")          # a quoted identifier
      | (--[^\n]*)                # a line comment
      | (/\*.*?\*/)               # a block comment
      | (::)                      # a cast, not a named parameter
      | (\?)                      # a positional parameter
      | :([A-Za-z_][A-Za-z0-9_]*) # a named parameter
    """,
    re.VERBOSE | re.DOTALL,
)
_INSERT_TABLE = re.compile(r"^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+\"?([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)


# PostgreSQL's text cannot hold U+0000 (the server refuses the whole statement, and its transaction with it),
# while a customer's message, a console field or an old SQLite row may carry one: it is stored as U+FFFD,
# the character Unicode gives for one that cannot be represented. SQLite keeps it as it is.
NUL, REPLACEMENT = "\x00", "\ufffd"


@lru_cache(maxsize=4096)
def translate(sql: str) -> tuple[str, tuple[str, ...]]:
    """SQL with ``?`` (or ``:name``) placeholders → PostgreSQL's ``$n``, and the names in order (empty for
    positional ones). Literals, quoted identifiers, comments and ``::`` casts are left as they are."""
    names: list[str] = []
    index: dict[str, int] = {}
    counter = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal counter
        if match.group(6):
            counter += 1
            return f"${counter}"
        name = match.group(7)
        if name:
            if name not in index:
                names.append(name)
                index[name] = len(names)
            return f"${index[name]}"
        return match.group(0)

    return _TOKENS.sub(replace, sql), tuple(names)


def arguments(sql: str, params: Params) -> tuple[str, list[Any]]:
    """The translated SQL and its parameters as a list in ``$n`` order, text made storable."""
    query, names = translate(sql)
    args = [params[name] for name in names] if isinstance(params, dict) else list(params)
    for number, value in enumerate(args):
        if type(value) is str and NUL in value:
            args[number] = value.replace(NUL, REPLACEMENT)
    return query, args


def shown_url(url: str) -> str:
    """The URL as it may be printed: user, host, port and database, never the password."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"postgresql://{user}{parts.hostname or 'localhost'}{port}{parts.path}"


def scrubbed(text: str, url: str) -> str:
    """An error's text with the URL's password taken out, should a library ever quote it."""
    for password in url_secrets(url):
        text = text.replace(password, "[redacted]")
    return text


def connect_problem(url: str, exc: BaseException) -> str | None:
    """What a failed connection means for the person who gave `url`, without the password; None for an
    error that is not about reaching the server."""
    where = shown_url(url)
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):  # 28000, and 28P01 (wrong password)
        return f"{where}: the server refused the login: check the user name and password"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"{where}: no such database on the server: create it first (createdb, or CREATE DATABASE)"
    if isinstance(exc, OSError | TimeoutError):  # socket.gaierror (no such host) is an OSError
        return f"{where}: cannot reach the PostgreSQL server ({scrubbed(str(exc) or type(exc).__name__, url)})"
    if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError | ValueError):
        return f"{where}: cannot connect ({scrubbed(str(exc), url)})"
    return None


@contextlib.contextmanager
def connecting(url: str, refusal: Callable[[str], Exception]) -> Iterator[None]:
    """Around a connection attempt: a failure to reach or use the server raised as `refusal(words)`, the
    words `connect_problem`'s; any other error as it is."""
    try:
        yield
    except Exception as exc:
        problem = connect_problem(url, exc)
        if problem is None:
            raise
        raise refusal(problem) from None


def changed_rows(status: str) -> int:
    """The row count in a command tag: ``UPDATE 3`` → 3, ``INSERT 0 1`` → 1, ``CREATE TABLE`` → 0."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


# --- Parameters converted as SQLite's column affinity would have stored them -------------------------


def _to_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _to_int(value: Any) -> Any:
    if isinstance(value, float | Decimal):
        if _fractional(value):  # asyncpg itself would cut 2.9 to 2
            raise ValueError("a whole number is required")
        return int(value)
    if isinstance(value, str) and INTEGER_TEXT.fullmatch(value):
        return int(value)
    return value  # "--5", "１２": asyncpg refuses it, naming the argument


def _fractional(value: Any) -> bool:
    """A float or Decimal that is not a whole number (NaN and infinities included)."""
    if isinstance(value, float):
        return not value.is_integer()
    return isinstance(value, Decimal) and not (value.is_finite() and value == value.to_integral_value())


def _to_float(value: Any) -> Any:
    if isinstance(value, int | Decimal) or (isinstance(value, str) and REAL_TEXT.fullmatch(value)):
        return float(value)
    return value


def _to_numeric(value: Any) -> Any:
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str) and REAL_TEXT.fullmatch(value):
        return Decimal(value.strip())
    return value


def _to_bool(value: Any) -> Any:
    if isinstance(value, int | str) and str(value) in ("0", "1"):
        return str(value) == "1"
    return value


def _to_timestamp(value: Any) -> Any:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value)
    return value


def _to_json(value: Any) -> Any:
    return value if isinstance(value, str) or value is None else json.dumps(value)


def _as_given(value: Any) -> Any:
    return value


# Numbers as SQLite reads them from text: ASCII digits only (Python's int() and float() would also take
# "１２", "1_000", "nan" and "inf", which SQLite keeps as text; here PostgreSQL refuses them instead).
INTEGER_TEXT = re.compile(r"\s*[-+]?[0-9]+\s*")
REAL_TEXT = re.compile(r"\s*[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*")

Converter = Callable[[Any], Any]
_CONVERTERS: dict[str, Converter] = {
    **dict.fromkeys(("text", "varchar", "bpchar", "name", "unknown"), _to_text),
    **dict.fromkeys(("int2", "int4", "int8"), _to_int),
    **dict.fromkeys(("float4", "float8"), _to_float),
    "numeric": _to_numeric,
    "bool": _to_bool,
    **dict.fromkeys(("timestamp", "timestamptz"), _to_timestamp),
    **dict.fromkeys(("json", "jsonb"), _to_json),
}


def _converted(converters: Sequence[Converter], args: Sequence[Any]) -> list[Any]:
    converted = []
    for number, (convert, value) in enumerate(zip(converters, args, strict=False), 1):
        try:
            converted.append(value if value is None else convert(value))
        except ValueError as exc:  # worded as asyncpg words its own refusals
            raise asyncpg.DataError(f"invalid input for query argument ${number}: {value!r} ({exc})") from None
    return converted


class _Statements:
    """What the database learned about statements and tables: each statement's parameter converters (by
    the parameters' types), once one was given a value of another type, and each table's integer key (what
    `insert` returns)."""

    def __init__(self) -> None:
        self.types: dict[str, tuple[Converter, ...]] = {}
        self.keys: dict[str, str | None] = {}

    async def parameter_types(self, conn: asyncpg.Connection, query: str) -> tuple[Converter, ...]:
        if query not in self.types:
            statement = await conn.prepare(query)
            self.types[query] = tuple(
                _CONVERTERS.get(parameter.name, _as_given) for parameter in statement.get_parameters()
            )
        return self.types[query]

    async def key_of(self, conn: asyncpg.Connection, table: str) -> str | None:
        """The table's single integer primary key column (SQLite's rowid alias), or None."""
        if table not in self.keys:
            rows = await conn.fetch(
                "SELECT a.attname, t.typname FROM pg_index i"
                " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
                " JOIN pg_type t ON t.oid = a.atttypid"
                " WHERE i.indrelid = to_regclass($1) AND i.indisprimary",
                table.lower(),
            )
            integer = len(rows) == 1 and rows[0]["typname"] in ("int2", "int4", "int8")
            self.keys[table] = rows[0]["attname"] if integer else None
        return self.keys[table]


def _unencodable(exc: asyncpg.DataError) -> bool:
    """asyncpg refused a parameter's Python type before sending anything (the transaction goes on)."""
    return type(exc) is asyncpg.DataError and str(exc).startswith("invalid input for query argument")


async def _call(statements: _Statements, conn: asyncpg.Connection, method: str, sql: str, params: Params) -> Any:
    """Run `conn.<method>` on translated SQL; a parameter of a type PostgreSQL would not take is converted
    (as SQLite's affinity would) and the statement run again, and converted up front from then on."""
    query, args = arguments(sql, params)
    types = statements.types.get(query)
    if types is None and any(map(_fractional, args)):  # asyncpg would cut 2.5 to 2 in an integer column
        types = await statements.parameter_types(conn, query)
    if types is not None:
        args = _converted(types, args)
    try:
        return await getattr(conn, method)(query, *args)
    except asyncpg.DataError as exc:
        if types is not None or not _unencodable(exc):
            raise
    types = await statements.parameter_types(conn, query)
    return await getattr(conn, method)(query, *_converted(types, args))


class PgTx(Tx):
    """Statements on one pooled connection: inside its open transaction, or each alone (`serialized`)."""

    def __init__(self, statements: _Statements, conn: asyncpg.Connection) -> None:
        self._statements = statements
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        return changed_rows(await _call(self._statements, self._conn, "execute", sql, params))

    async def insert(self, sql: str, params: Params = ()) -> int:
        if _RETURNING.search(sql) is None:
            table = _INSERT_TABLE.match(sql)
            key = await self._statements.key_of(self._conn, table.group(1)) if table else None
            if key is None:  # no integer key to return (SQLite would give its hidden rowid)
                await self.execute(sql, params)
                return 0
            sql = f"{sql.rstrip().rstrip(';')} RETURNING {key}"
        value = await _call(self._statements, self._conn, "fetchval", sql, params)
        return int(value or 0)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        query, _ = translate(sql)
        batch = [arguments(sql, row)[1] for row in rows]
        if not batch:
            return
        types = self._statements.types.get(query)
        if types is None and any(_fractional(value) for args in batch for value in args):
            types = await self._statements.parameter_types(self._conn, query)
        if types is None:
            try:
                await self._conn.executemany(query, batch)
                return
            except asyncpg.DataError as exc:
                if not _unencodable(exc):
                    raise
                types = await self._statements.parameter_types(self._conn, query)
        await self._conn.executemany(query, [_converted(types, args) for args in batch])

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = await _call(self._statements, self._conn, "fetchrow", sql, params)
        return row

    async def notify(self, topic: str) -> None:
        # Transactional: the server delivers it at COMMIT, and never for a transaction rolled back.
        await self._conn.execute("SELECT pg_notify($1, $2)", CHANNEL, topic)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await _call(self._statements, self._conn, "fetch", sql, params))


class PostgresDatabase(Database):
    """A pool of connections to one PostgreSQL database; write transactions one at a time everywhere."""

    engine: ClassVar[Engine] = "postgresql"

    def __init__(self, pool: asyncpg.Pool, url: str = "", pool_size: int = POOL_SIZE) -> None:
        self._pool = pool
        self._url = url  # for the signals' own connection; never logged (it holds the password)
        self._statements = _Statements()
        # One write transaction per process at a time: the others would only wait on the advisory lock,
        # each holding a pooled connection that reads need. Scoped ones may run together, but at most
        # half the pool: the rest stays for reads and for the unscoped writer.
        self._lock = asyncio.Lock()
        self._scoped = asyncio.Semaphore(max(1, pool_size // 2))
        self.scoped_writes = True  # False: scoped transactions take the exclusive turn too (bench processes)
        self.write_stats = WriteStats()
        self.scoped_stats = WriteStats()

    @classmethod
    async def connect(cls, url: str, *, pool_size: int = POOL_SIZE) -> PostgresDatabase:
        """Connect, apply pending migrations (one process at a time) and return the database;
        `DatabaseUnreachable` saying what is wrong when the server cannot be used."""
        with connecting(url, DatabaseUnreachable):
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=pool_size,
                # No JIT: the bot's queries are index lookups and ranges that finish in milliseconds, and for
                # the few that PostgreSQL estimates as costly (the owner's figures) compiling took longer than
                # running them (1.3 s of JIT for a 0.2 s /stats query at 200,000 customers).
                server_settings={"application_name": "nurture-bot", "timezone": "UTC", "jit": "off"},
            )
        try:
            async with pool.acquire() as conn:
                await migrate(conn, load_migrations("postgresql"))
        except BaseException:
            await pool.close()
            raise
        return cls(pool, url, pool_size)

    async def open_signals(self) -> Signals:
        """Listen for the other processes' changes on a connection of its own (`storage.postgres_signals`)."""
        from storage.postgres_signals import PgSignals

        signals = PgSignals(self._url, self)
        await signals.open()
        return signals

    async def close(self) -> None:
        """Wait (a little) for connections in use to be given back, then close them all; a connection still
        held after that is cut, and the server rolls back what it had open."""
        try:
            await asyncio.wait_for(self._closed_when_idle(), CLOSE_TIMEOUT)
        except TimeoutError:
            log.warning("closing the database: a connection was still in use after %ss, cut", CLOSE_TIMEOUT)
            self._pool.terminate()

    async def _closed_when_idle(self) -> None:
        async with self._lock:
            await self._pool.close()

    @asynccontextmanager
    async def transaction(self, scope: str | None = None) -> AsyncIterator[Tx]:
        current = current_handling()
        started = time.perf_counter()
        if scope is None or not self.scoped_writes:
            turn: contextlib.AbstractAsyncContextManager[Any] = self._lock
            begin, stats = _BEGIN, self.write_stats
        else:
            # an int of our own making goes into the SQL text: one round trip, as for the exclusive turn
            turn, begin, stats = self._scoped, _BEGIN_SCOPED.format(scope_key(scope)), self.scoped_stats
        async with turn, self._pool.acquire() as conn:
            try:
                await conn.execute(begin)
                granted = time.perf_counter()
                tx = PgTx(self._statements, conn)
                await write_mark(tx, current)
                yield tx
                await conn.execute("COMMIT")
                stats.add(started, granted, time.perf_counter())
            finally:
                await _leave_clean(conn)
            committed(current)

    @asynccontextmanager
    async def serialized(self) -> AsyncIterator[Tx]:
        # Each statement commits alone; PostgreSQL's row locks keep it atomic, and these writes are
        # idempotent, so they need not wait for the writer's turn.
        async with self._pool.acquire() as conn:
            yield PgTx(self._statements, conn)

    async def wipe_log(self) -> bool:
        """PostgreSQL cannot promise that erased bytes are gone from its files, so this returns False.

        A deleted row stays in its table's pages until VACUUM reclaims the space (and the space is reused,
        not zeroed); its earlier versions stay in the write-ahead log until the server recycles the
        segments, and in WAL archives, replicas and backups for as long as those are kept. None of that is
        in the bot's hands (a CHECKPOINT needs rights the bot should not have): plan retention of
        archives and backups with that in mind.
        """
        return False

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        async with self._pool.acquire() as conn:
            row: Row | None = await _call(self._statements, conn, "fetchrow", sql, params)
            return row

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._pool.acquire() as conn:
            return list(await _call(self._statements, conn, "fetch", sql, params))


async def _leave_clean(conn: asyncpg.Connection) -> None:
    """Whatever ended the block (an error, a cancellation mid-statement), the connection goes back to the
    pool outside any transaction: rolled back, or closed (the server then rolls back) if that fails."""
    if not conn.is_in_transaction():
        return
    rollback = asyncio.ensure_future(conn.execute("ROLLBACK"))
    try:
        await asyncio.shield(rollback)
    except BaseException:
        conn.terminate()
        raise


async def migrate(conn: asyncpg.Connection, migrations: list[Migration]) -> None:
    """Apply the pending migrations, each in its own transaction, under a session advisory lock: of several
    processes starting at once exactly one migrates, the others wait and then find nothing left to do. A
    database newer than `migrations` is refused (`SchemaTooNewError`) and left untouched."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        current = int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))
        check_not_newer(current, migrations)
        for migration in migrations:
            if migration.version <= current:
                continue
            log.info("applying migration %04d_%s (postgresql)", migration.version, migration.name)
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
    finally:
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError):
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
