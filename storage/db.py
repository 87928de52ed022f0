"""The SQLite connection: pragmas, numbered migrations, one serialized writer and a separate reader.

Every write runs in ``BEGIN IMMEDIATE … COMMIT`` on the writer connection behind an asyncio lock, so
two coroutines never interleave inside one transaction. Reads use their own connection: in WAL mode they
see the last committed state and never wait for a writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

Params = Sequence[Any] | dict[str, Any]
Row = aiosqlite.Row

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer nurture-bot than this one."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """Read the numbered SQL files shipped in ``storage/migrations`` in version order."""
    folder = resources.files("storage").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    return found


class AlreadyHandled(Exception):
    """The update being handled was already applied (by an earlier delivery): nothing may change twice."""


@dataclass
class Handling:
    """The incoming update whose handling is running: its id and whether its processed mark is written."""

    update_id: int
    seen_at: str  # the mark's time, as stored
    marked: bool = False
    commits: int = 0  # write transactions committed so far (more than one: a crash may stop half-way)


# Set by the update middleware for the length of one handling; every write transaction in that handling
# reads it, so the processed mark commits with the first effect (see `Database.transaction`).
_handling: ContextVar[Handling | None] = ContextVar("handling", default=None)

_MARK = "INSERT INTO processed_updates (update_id, seen_at) VALUES (?, ?) ON CONFLICT DO NOTHING"


@contextmanager
def handling(update_id: int, seen_at: str) -> Iterator[Handling]:
    """Run a block as the handling of update `update_id` (what the middleware wraps a handler in)."""
    current = Handling(update_id, seen_at)
    token = _handling.set(current)
    try:
        yield current
    finally:
        _handling.reset(token)


def current_update_id() -> int | None:
    """The id of the update being handled, for idempotency keys; None outside a handling (jobs, HTTP)."""
    current = _handling.get()
    return current.update_id if current is not None else None


class Tx:
    """Statements inside one open write transaction."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; return the number of rows it changed."""
        cursor = await self._conn.execute(sql, params)
        return cursor.rowcount

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT and return the new row id."""
        cursor = await self._conn.execute(sql, params)
        return int(cursor.lastrowid or 0)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        return await _fetch_one(self._conn, sql, params)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        return await _fetch_all(self._conn, sql, params)


class Database:
    """Owns the writer and reader connections of one SQLite file."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        """Open (creating folders and file as needed), apply pending migrations and return the database."""
        path = Path(path)
        private_file(path)
        writer = await _connect(str(path))
        try:
            await _migrate(writer, load_migrations())
            reader = await _connect(str(path))
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader)

    async def close(self) -> None:
        """Close both connections; aiosqlite's worker threads would otherwise keep the process alive."""
        async with self._lock:
            await self._reader.close()
            await self._writer.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A write transaction: committed when the block ends, rolled back if it raises.

        Inside the handling of an update, the first transaction also writes the update's processed mark,
        so an effect and "this update was handled" commit together: a re-delivery after a crash finds the
        mark and changes nothing. If another delivery of the same update got there first (the mark exists
        already), the block does not run: `AlreadyHandled` is raised and nothing is written.
        """
        current = _handling.get()
        async with self._lock:
            await self._begin()
            try:
                if current is not None and not current.marked:
                    cursor = await self._writer.execute(_MARK, (current.update_id, current.seen_at))
                    if cursor.rowcount == 0:
                        raise AlreadyHandled(current.update_id)
                yield Tx(self._writer)
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")
            if current is not None:
                current.marked = True
                current.commits += 1

    async def _begin(self) -> None:
        """BEGIN IMMEDIATE that a cancellation cannot leave half done.

        The statement runs in aiosqlite's thread whatever happens to the coroutine awaiting it: a task
        cancelled while waiting would release the lock with the connection inside a transaction, and the
        next BEGIN would fail ("cannot start a transaction within a transaction"). So it is awaited to the
        end, and undone, before the cancellation goes on.
        """
        begin = asyncio.ensure_future(self._writer.execute("BEGIN IMMEDIATE"))
        try:
            await asyncio.shield(begin)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await begin
                await self._writer.execute("ROLLBACK")
            raise

    @asynccontextmanager
    async def serialized(self) -> AsyncIterator[Tx]:
        """Writer statements without BEGIN/COMMIT: each one commits alone (atomic by itself).

        For the per-update hot path, where two independent statements need not share a transaction and
        the two extra round trips to the connection's thread would double its cost. Still behind the
        writer lock, so no statement lands inside another coroutine's open transaction. It writes no
        processed mark: only for idempotent writes (the customer's profile), never for an update's effect.
        """
        async with self._lock:
            yield Tx(self._writer)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One write statement in its own transaction; returns the changed row count."""
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    async def wipe_log(self) -> bool:
        """Copy the WAL into the database file and truncate it to nothing, so that bytes just erased
        (with `secure_delete` on, SQLite zeroes what it frees) linger in no file; False if a reader held
        on to the log so it could not be emptied completely."""
        async with self._lock:
            rows = await self._writer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        busy = next(iter(rows), (0,))[0]
        if busy:
            log.warning(
                "the write-ahead log could not be emptied (a reader was busy): erased bytes may stay in it until reused"
            )
        return not busy

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        return await _fetch_one(self._reader, sql, params)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        return await _fetch_all(self._reader, sql, params)

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]


def private_file(path: Path) -> None:
    """Create the database file readable by its owner only (0600) before SQLite opens it; SQLite gives
    its -wal and -shm files the database file's mode. A file left readable by others (by an older
    version) is tightened to the same."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if name.exists() and name.stat().st_mode & 0o077:
                name.chmod(0o600)
    except OSError:  # not ours to change (another user's file, a read-only place): SQLite will tell
        pass


# One hop to the connection's thread per query (execute, fetch and close would be three).
async def _fetch_one(conn: aiosqlite.Connection, sql: str, params: Params) -> Row | None:
    rows = await conn.execute_fetchall(sql, params)
    return next(iter(rows), None)


async def _fetch_all(conn: aiosqlite.Connection, sql: str, params: Params) -> list[Row]:
    return list(await conn.execute_fetchall(sql, params))


async def _connect(path: str) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute("PRAGMA foreign_keys=ON")
    await conn.execute("PRAGMA busy_timeout=5000")
    # Deleted and overwritten content is zeroed rather than left in free space: /forget must leave no bytes.
    await conn.execute("PRAGMA secure_delete=ON")
    return conn


async def _migrate(conn: aiosqlite.Connection, migrations: list[Migration]) -> None:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )
    cursor = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
    row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    latest = migrations[-1].version if migrations else 0
    if current > latest:
        raise SchemaTooNewError(
            f"the database schema is version {current}, but this nurture-bot knows only up to {latest}: "
            "upgrade nurture-bot (the database was left untouched)"
        )
    for migration in migrations:
        if migration.version <= current:
            continue
        log.info("applying migration %04d_%s", migration.version, migration.name)
        record = f"INSERT INTO schema_migrations (version, name) VALUES ({migration.version}, '{migration.name}');"
        try:
            await conn.executescript(f"BEGIN IMMEDIATE;\n{migration.sql}\n{record}\nCOMMIT;")
        except BaseException:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
