"""Small named values: the event cursor, the polling offset, the date of the last daily run."""

from __future__ import annotations

from storage.db import Database, Tx


async def kv_get(tx: Tx, key: str) -> str | None:
    row = await tx.fetch_one("SELECT value FROM kv WHERE key = ?", (key,))
    return None if row is None else str(row[0])


async def kv_set(tx: Tx, key: str, value: str) -> None:
    await tx.execute(
        "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


class KvRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> str | None:
        value = await self._db.fetch_value("SELECT value FROM kv WHERE key = ?", (key,))
        return None if value is None else str(value)

    async def set(self, key: str, value: str) -> None:
        async with self._db.transaction() as tx:
            await kv_set(tx, key, value)
