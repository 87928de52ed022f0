"""The cohort chart's cells, one month (column) at a time, closed months kept once computed.

A column is month m of the chart: how many customers of each cohort (the local month of their first
purchase) bought in m. Counted from `purchase_totals`, driven by the cohorts' customers (an index range of
`first_at` that carries `last_at`): a customer whose first or last purchase falls in m bought in m; only a
customer who bought before m and again after it needs a look at their purchases (`bought_in`).

Closed months do not change unless a purchase is written, moved or removed on or before their last day, so
a closed column is stored in `cohort_columns` (shared by every process) with the sum of `purchase_days.changes`
up to its end, and reused while that sum is the same. Why a stored snapshot here and triggers elsewhere:
a cohort is a local month, and the zone is the business's setting, not the database's; keeping the grid
by trigger would tie the stored rows to one zone. A column is keyed by its own local bounds instead, so a
zone with other midnights simply computes (and keeps) other columns. The month in progress is never kept:
its column is computed each time, and from the totals alone (no probes) because nobody bought after now.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from storage.db import Database, Params, Row
from storage.timefmt import to_db


class Reader(Protocol):
    """A database or a pool of read-only connections (storage/analytics.py's ReadPool)."""

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]: ...


def bought_in(r: str = "r") -> str:
    """SQL: the `purchase_totals` row `r`, known to have first_at < end and last_at >= start, bought in
    [start, end). Parameters: start, end, start, end. Only a customer who bought before and after the
    range is looked up in purchases."""
    # Their first purchase since the start, one probe of `purchases_customer_time`: a scalar subquery, which
    # PostgreSQL cannot turn into a hashed set of every buyer of the range as it does an EXISTS under OR.
    return (
        f"({r}.first_at >= ? OR {r}.last_at < ? OR (SELECT MIN(p.purchased_at) FROM purchases p"
        f" WHERE p.customer_id = {r}.customer_id AND p.purchased_at >= ?) < ?)"
    )


class CohortColumns:
    def __init__(self, reader: Reader, writer: Database | None) -> None:
        self._reader = reader
        self._writer = writer  # None: nothing is kept (a reader without the database behind it)

    async def grid(self, bounds: Sequence[datetime]) -> dict[tuple[int, int], int]:
        """{(cohort, month): buyers that month} for the months bounds[i]..bounds[i + 1]; the last month is
        the one in progress."""
        texts = [to_db(moment) for moment in bounds]
        last = len(texts) - 2
        grid: dict[tuple[int, int], int] = {}
        for month in range(last + 1):
            cells = await self._column(texts, month, keep=month < last)
            for cohort, buyers in cells.items():
                grid[(cohort, month)] = buyers
        return grid

    async def _column(self, texts: list[str], month: int, *, keep: bool) -> dict[int, int]:
        start, end = texts[month], texts[month + 1]
        changes = await self._changes(end) if keep else None
        mine = texts[: month + 1]
        if changes is not None:
            row = await self._reader.fetch_one(
                "SELECT changes, cells FROM cohort_columns WHERE month_start = ? AND month_end = ?", (start, end)
            )
            if row is not None and int(row[0]) == changes:
                stored = json.loads(row[1])
                if stored["bounds"][-len(mine) :] == mine:  # counted for these cohorts (and maybe older ones)
                    index = {text: i for i, text in enumerate(mine)}
                    return {index[key]: n for key, n in stored["cells"].items() if key in index}
        cells = await self._count(texts, month)
        if changes is not None and self._writer is not None:
            kept: dict[str, object] = {"bounds": mine, "cells": {texts[i]: n for i, n in cells.items()}}
            await self._keep(start, end, changes, kept)
        return cells

    async def _count(self, texts: list[str], month: int) -> dict[int, int]:
        start, end = texts[month], texts[month + 1]
        whens = " ".join(f"WHEN r.first_at >= ? THEN {i}" for i in range(month, 0, -1))
        cohort = f"CASE {whens} ELSE 0 END" if month else "0"
        rows = await self._reader.fetch_all(
            f"SELECT {cohort} AS cohort, COUNT(*) FROM purchase_totals r"
            f" WHERE r.first_at >= ? AND r.first_at < ? AND r.last_at >= ? AND {bought_in('r')}"
            " GROUP BY 1",
            (*(texts[i] for i in range(month, 0, -1)), texts[0], end, start, start, end, start, end),
        )
        return {int(row[0]): int(row[1]) for row in rows}

    async def _changes(self, end: str) -> int:
        row = await self._reader.fetch_one(
            "SELECT COALESCE(SUM(changes), 0) FROM purchase_days WHERE day <= ?", (end[:10],)
        )
        return int(row[0]) if row else 0

    async def _keep(self, start: str, end: str, changes: int, kept: dict[str, object]) -> None:
        assert self._writer is not None
        async with self._writer.transaction() as tx:
            await tx.execute(
                "INSERT INTO cohort_columns (month_start, month_end, changes, cells) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (month_start, month_end) DO UPDATE SET changes = excluded.changes, cells = excluded.cells",
                (start, end, changes, json.dumps(kept, sort_keys=True)),
            )
