"""Queries of the daily date triggers: who fell asleep (win-back) and enrolling everyone for a holiday."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from storage.audience import is_reachable
from storage.db import Database, Tx
from storage.dialect import Engine, engine_of, sleeps_at
from storage.timefmt import to_db


def fell_asleep_sql(engine: Engine) -> str:
    """Who fell asleep in a range: two index ranges on purchase_totals (the moment repeat buyers fall
    asleep, `storage.dialect.sleeps_at`, and the last purchase of one-off buyers)."""
    asleep = sleeps_at(engine)
    return (
        f"SELECT customer_id FROM purchase_totals WHERE purchases >= 2 AND {asleep} > ? AND {asleep} <= ?"
        " UNION SELECT customer_id FROM purchase_totals WHERE purchases = 1 AND last_at > ? AND last_at <= ?"
        " ORDER BY 1"
    )


FELL_ASLEEP_SQL = fell_asleep_sql("sqlite")  # what the SQLite plan test and the benchmark explain


async def fell_asleep(db: Database, since: datetime | None, until: datetime, one_off_days: int) -> list[int]:
    """Customers who fell asleep in (since, until]: repeat buyers whose `sleeps_at` passed, one-off buyers
    whose only purchase became `one_off_days` old. Two index ranges on purchase_totals, so the cost
    follows the customers who are due, not all customers. No `since`: everyone asleep at `until`.
    """
    age = timedelta(days=one_off_days)
    low, one_off_low = ("", "") if since is None else (to_db(since), to_db(since - age))
    rows = await db.fetch_all(fell_asleep_sql(engine_of(db)), (low, to_db(until), one_off_low, to_db(until - age)))
    return [row[0] for row in rows]


async def enroll_everyone(
    tx: Tx,
    sequence: str,
    due: datetime,
    now: datetime,
    *,
    reentry_after: datetime | None,
    tag: str | None = None,
) -> int:
    """Start `sequence` for every reachable, subscribed customer (with `tag`, if given) in one statement.

    The re-entry rule is the one `Sequences._enroll` applies one by one: nobody with an open enrolment in
    it, nobody at all when re-entry is never (`reentry_after` None), else nobody whose last one ended
    after `reentry_after`. Each enrolment gets its `enrolled` event, as a single enrolment does.
    """
    newest = await tx.fetch_one("SELECT COALESCE(MAX(id), 0) FROM enrollments")
    assert newest is not None
    tagged = " AND EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = ?)" if tag else ""
    blocking = (
        "1"
        if reentry_after is None
        else "e.state IN ('active', 'paused') OR COALESCE(e.ended_at, e.started_at) > ?"
    )
    params: list[object] = [sequence, to_db(due), to_db(now), *([tag] if tag else []), sequence]
    params += [] if reentry_after is None else [to_db(reentry_after)]
    added = await tx.execute(
        "INSERT INTO enrollments (customer_id, sequence, next_due_at, started_at)"
        " SELECT c.id, ?, ?, ? FROM customers c"
        f" WHERE {is_reachable('c')}{tagged}"
        f" AND NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.customer_id = c.id AND e.sequence = ? AND ({blocking}))"
        " ORDER BY c.id",
        params,
    )
    # Every new row is of `sequence`: the event's JSON is made here, once (json_object is SQLite's only).
    await tx.execute(
        "INSERT INTO events (customer_id, kind, data, created_at)"
        " SELECT customer_id, 'enrolled', ?, started_at FROM enrollments WHERE id > ? AND sequence = ?",
        (json.dumps({"sequence": sequence}, ensure_ascii=False), int(newest[0]), sequence),
    )
    return added
