"""Rows noted in memory on the per-update path and written together later (a periodic flush and at
shutdown), for tables whose rows belong to a customer: a customer forgotten between the note and the
flush gets no row."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

from storage.db import Tx

T = TypeVar("T")

# The scope of every flush of written-behind rows (storage/postgres.py): flushes (of all processes) run one
# after another, but at the same time as per-customer transactions. Each flush only inserts its rows (none
# for a customer forgotten: forgetting is unscoped, so never half done under a flush) and, per customer,
# touches that customer's own rows in customer id order, so no two transactions lock rows in a ring.
WRITTEN_BEHIND = "written-behind"


async def insert_for_present_customers(
    tx: Tx, table: str, columns: Sequence[str], rows: Sequence[tuple[object, ...]]
) -> None:
    """Insert `rows` (their first column is the customer's id) unless that customer was forgotten."""
    marks = ", ".join("?" for _ in columns)
    await tx.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {marks}"
        " WHERE EXISTS (SELECT 1 FROM customers WHERE id = ? AND tg_id IS NOT NULL)",
        [(*row, row[0]) for row in rows],
    )


class Noted(Generic[T]):
    """Rows noted on the per-update path until the next flush. A flush that fails puts its rows back in
    front of those noted meanwhile, so a database that is briefly away loses none of them."""

    def __init__(self) -> None:
        self.rows: list[T] = []

    def add(self, row: T) -> None:
        self.rows.append(row)

    @asynccontextmanager
    async def taken(self) -> AsyncIterator[list[T]]:
        """The rows noted so far, taken out; back in front if the block fails."""
        taken, self.rows = self.rows, []
        try:
            yield taken
        except BaseException:
            self.rows = taken + self.rows
            raise
