"""Scoped write transactions on PostgreSQL (storage/postgres.py): two processes' transactions of different
customers run at the same time, one customer's one after the other, and none at the same time as an
unscoped (exclusive) one, which waits for the scoped ones and makes those asked for later wait for it.

Two `PostgresDatabase` objects on one database stand for two processes (each has its own pool and its own
in-process lock). Whether a transaction waits is read where PostgreSQL keeps it: a lock not granted in
`pg_locks`. On SQLite the scope changes nothing, which the last test shows.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from storage.db import Database, customer_scope
from storage.postgres import PostgresDatabase

POSTGRES_ONLY = pytest.mark.engines("postgresql", reason="scopes change nothing on SQLite's single writer")
WAIT = 5.0  # seconds: far more than any of these steps needs


class Held:
    """A write transaction kept open in a task of its own until `release()`; `entered` once it runs."""

    def __init__(self, db: Database, scope: str | None) -> None:
        self.entered = asyncio.Event()
        self._release = asyncio.Event()
        self.task = asyncio.create_task(self._run(db, scope))

    async def _run(self, db: Database, scope: str | None) -> None:
        async with db.transaction(scope) as tx:
            await tx.execute("SELECT 1")
            self.entered.set()
            await self._release.wait()

    async def running(self) -> None:
        await asyncio.wait_for(self.entered.wait(), WAIT)

    async def done(self) -> None:
        self._release.set()
        await asyncio.wait_for(self.task, WAIT)


async def waiting_for_locks(db: Database) -> int:
    """Sessions of this database waiting for an advisory lock (asked, not granted)."""
    return int(
        await db.fetch_value(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
            " WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()"
        )
    )


async def until_waiting(db: Database, count: int) -> None:
    """Return once `count` sessions wait for an advisory lock (each asked it and was not granted it)."""
    async with asyncio.timeout(WAIT):
        for _ in itertools.count():  # polling PostgreSQL's own view of the waiters, not waiting for time
            if await waiting_for_locks(db) >= count:
                return
            await asyncio.sleep(0.01)


@POSTGRES_ONLY
async def test_two_customers_scoped_transactions_run_at_once(databases: tuple[Database, Database]) -> None:
    first, second = databases
    one = Held(first, customer_scope(1))
    await one.running()
    other = Held(second, customer_scope(2))
    await other.running()  # while the first is still open: before scopes this waited for it
    assert await waiting_for_locks(first) == 0
    await other.done()
    await one.done()


@POSTGRES_ONLY
async def test_one_customers_scoped_transactions_take_turns(databases: tuple[Database, Database]) -> None:
    first, second = databases
    one = Held(first, customer_scope(7))
    await one.running()
    again = Held(second, customer_scope(7))
    await until_waiting(first, 1)
    assert not again.entered.is_set()
    await one.done()
    await again.running()
    await again.done()


@POSTGRES_ONLY
async def test_a_scoped_transaction_waits_for_an_exclusive_one(databases: tuple[Database, Database]) -> None:
    first, second = databases
    exclusive = Held(first, None)
    await exclusive.running()
    scoped = Held(second, customer_scope(1))
    await until_waiting(first, 1)
    assert not scoped.entered.is_set()
    await exclusive.done()
    await scoped.running()
    await scoped.done()


@POSTGRES_ONLY
async def test_an_exclusive_transaction_waits_for_scoped_ones_and_later_ones_wait_for_it(
    databases: tuple[Database, Database],
) -> None:
    first, second = databases
    scoped = Held(first, customer_scope(1))
    await scoped.running()
    exclusive = Held(second, None)
    await until_waiting(first, 1)
    # Another customer's transaction asked for after the exclusive one queues behind it (no starving it),
    # although nothing it needs is held by a scoped transaction.
    later = Held(first, customer_scope(2))
    await until_waiting(first, 2)
    assert not exclusive.entered.is_set() and not later.entered.is_set()
    await scoped.done()
    await exclusive.running()
    assert not later.entered.is_set()
    await exclusive.done()
    await later.running()
    await later.done()


@POSTGRES_ONLY
async def test_without_scoped_writes_a_scoped_transaction_is_exclusive(
    databases: tuple[Database, Database],
) -> None:
    first, second = databases
    assert isinstance(second, PostgresDatabase)
    second.scoped_writes = False  # what `bench processes` runs as its "before"
    one = Held(first, customer_scope(1))
    await one.running()
    other = Held(second, customer_scope(2))
    await until_waiting(first, 1)
    assert not other.entered.is_set()
    await one.done()
    await other.running()
    await other.done()


async def test_scoped_transactions_commit_and_roll_back_as_others_do(db: Database) -> None:
    await db.execute("INSERT INTO kv (key, value) VALUES ('a', '1')")
    async with db.transaction(customer_scope(1)) as tx:
        await tx.execute("UPDATE kv SET value = '2' WHERE key = 'a'")
    with pytest.raises(RuntimeError):
        async with db.transaction(customer_scope(1)) as tx:
            await tx.execute("UPDATE kv SET value = '3' WHERE key = 'a'")
            raise RuntimeError("undo")
    assert await db.fetch_value("SELECT value FROM kv WHERE key = 'a'") == "2"
