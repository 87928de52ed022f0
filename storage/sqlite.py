"""The SQLite engine: pragmas, numbered migrations, one serialized writer and a separate reader.

Every write runs in ``BEGIN IMMEDIATE … COMMIT`` on the writer connection behind an asyncio lock, so
two coroutines never interleave inside one transaction. Reads use their own connection: in WAL mode they
see the last committed state and never wait for a writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import ClassVar

import aiosqlite

from storage.db import (
    Database,
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
    write_mark,
)

log = logging.getLogger(__name__)


class SqliteTx(Tx):
    """Statements on the writer connection, inside its open transaction (or each alone, `serialized`)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        cursor = await self._conn.execute(sql, params)
        return cursor.rowcount

    async def insert(self, sql: str, params: Params = ()) -> int:
        cursor = await self._conn.execute(sql, params)
        return int(cursor.lastrowid or 0)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        return await _fetch_one(self._conn, sql, params)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        return await _fetch_all(self._conn, sql, params)


class SqliteDatabase(Database):
    """Owns the writer and reader connections of one SQLite file."""

    engine: ClassVar[Engine] = "sqlite"

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._lock = asyncio.Lock()
        self.write_stats = WriteStats()

    @classmethod
    async def connect(cls, path: Path) -> SqliteDatabase:
        """Open (creating folders and file as needed), apply pending migrations and return the database."""
        private_file(path)
        writer = await _connect(str(path))
        try:
            await _migrate(writer, load_migrations("sqlite"))
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
    async def transaction(self, scope: str | None = None) -> AsyncIterator[Tx]:
        # `scope` changes nothing here: SQLite has one writer whatever the transaction touches.
        current = current_handling()
        started = time.perf_counter()
        async with self._lock:
            await self._begin()
            granted = time.perf_counter()
            tx = SqliteTx(self._writer)
            try:
                await write_mark(tx, current)
                yield tx
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")
            self.write_stats.add(started, granted, time.perf_counter())
            committed(current)

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
        # Still behind the writer lock, so no statement lands inside another coroutine's open transaction;
        # no BEGIN/COMMIT, as the two extra round trips to the connection's thread would double its cost.
        async with self._lock:
            yield SqliteTx(self._writer)

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
    """Apply the pending migrations, each in its own BEGIN IMMEDIATE (SQLite's single writer already keeps
    two processes from migrating at once); refuse a database newer than `migrations`."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )
    cursor = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
    row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    check_not_newer(current, migrations)
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
