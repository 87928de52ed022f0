"""The database's write transactions under cancellation: a cancelled task never leaves one open."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from storage.db import Database
from tests import engines


async def test_a_transaction_cancelled_while_it_begins_leaves_the_connection_clean(tmp_path: Path) -> None:
    db = await Database.open(engines.target_for(tmp_path))
    try:
        for _ in range(10):

            async def write() -> None:
                async with db.transaction() as tx:
                    await tx.execute("SELECT 1")

            task = asyncio.create_task(write())
            await asyncio.sleep(0)  # it now waits for BEGIN to come back from the connection's thread
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            # Before: "cannot start a transaction within a transaction" (the cancelled BEGIN still ran).
            async with db.transaction() as tx:
                assert await tx.fetch_one("SELECT 1") is not None
    finally:
        await db.close()
