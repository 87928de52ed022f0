"""Sequence enrolments (customer × sequence): which step is next and when it is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.analytics import sequence_converted
from storage.audience import is_customer
from storage.db import Database, Row, Tx
from storage.dialect import engine_of, json_text
from storage.timefmt import from_db, to_db


@dataclass(frozen=True)
class Enrollment:
    id: int
    customer_id: int
    sequence: str
    step_index: int
    state: str
    exit_reason: str | None
    next_due_at: datetime | None
    started_at: datetime
    ended_at: datetime | None


def _enrollment(row: Row) -> Enrollment:
    return Enrollment(
        id=row["id"],
        customer_id=row["customer_id"],
        sequence=row["sequence"],
        step_index=row["step_index"],
        state=row["state"],
        exit_reason=row["exit_reason"],
        next_due_at=from_db(row["next_due_at"]),
        started_at=from_db(row["started_at"]),  # type: ignore[arg-type]
        ended_at=from_db(row["ended_at"]),
    )


async def enrollment_by_id(tx: Tx, enrollment_id: int) -> Enrollment | None:
    row = await tx.fetch_one("SELECT * FROM enrollments WHERE id = ?", (enrollment_id,))
    return _enrollment(row) if row else None


async def last_enrollment(tx: Tx, customer_id: int, sequence: str) -> Enrollment | None:
    row = await tx.fetch_one(
        "SELECT * FROM enrollments WHERE customer_id = ? AND sequence = ? ORDER BY id DESC LIMIT 1",
        (customer_id, sequence),
    )
    return _enrollment(row) if row else None


async def create_enrollment(tx: Tx, customer_id: int, sequence: str, due: datetime, now: datetime) -> int:
    return await tx.insert(
        "INSERT INTO enrollments (customer_id, sequence, next_due_at, started_at) VALUES (?, ?, ?, ?)",
        (customer_id, sequence, to_db(due), to_db(now)),
    )


async def open_enrollments(tx: Tx, customer_id: int) -> list[Enrollment]:
    rows = await tx.fetch_all(
        "SELECT * FROM enrollments WHERE customer_id = ? AND state IN ('active', 'paused') ORDER BY id",
        (customer_id,),
    )
    return [_enrollment(row) for row in rows]


async def end_enrollment(tx: Tx, enrollment_id: int, state: str, reason: str | None, now: datetime) -> bool:
    """Finish or exit an open enrolment and cancel its messages still waiting in the outbox."""
    changed = await tx.execute(
        "UPDATE enrollments SET state = ?, exit_reason = ?, next_due_at = NULL, ended_at = ?"
        " WHERE id = ? AND state IN ('active', 'paused')",
        (state, reason, to_db(now), enrollment_id),
    )
    if changed and state == "exited":
        await tx.execute(
            "UPDATE outbox SET state = 'cancelled', last_error = ? WHERE enrollment_id = ? AND state = 'pending'",
            (f"left the sequence: {reason}", enrollment_id),
        )
    return changed > 0


async def step_queued(tx: Tx, enrollment: Enrollment, next_due: datetime | None, now: datetime) -> bool:
    """Move past the step just queued; finish when there is none left. False if someone else moved it."""
    if next_due is None:
        changed = await tx.execute(
            "UPDATE enrollments SET step_index = step_index + 1, state = 'finished', next_due_at = NULL,"
            " ended_at = ? WHERE id = ? AND step_index = ? AND state = 'active'",
            (to_db(now), enrollment.id, enrollment.step_index),
        )
    else:
        changed = await tx.execute(
            "UPDATE enrollments SET step_index = step_index + 1, next_due_at = ?"
            " WHERE id = ? AND step_index = ? AND state = 'active'",
            (to_db(next_due), enrollment.id, enrollment.step_index),
        )
    return changed == 1


class EnrollmentsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def due(self, now: datetime, limit: int) -> list[Enrollment]:
        """Active enrolments whose next step is due (an indexed range scan)."""
        rows = await self._db.fetch_all(
            "SELECT * FROM enrollments WHERE state = 'active' AND next_due_at <= ? ORDER BY next_due_at LIMIT ?",
            (to_db(now), limit),
        )
        return [_enrollment(row) for row in rows]

    async def get(self, enrollment_id: int) -> Enrollment | None:
        row = await self._db.fetch_one("SELECT * FROM enrollments WHERE id = ?", (enrollment_id,))
        return _enrollment(row) if row else None

    async def for_customer(self, customer_id: int) -> list[Enrollment]:
        rows = await self._db.fetch_all(
            "SELECT * FROM enrollments WHERE customer_id = ? ORDER BY id", (customer_id,)
        )
        return [_enrollment(row) for row in rows]

    async def pause_all(self, customer_id: int) -> int:
        """Hold the customer's sequences (a manager is talking to them); queued steps are taken back."""
        async with self._db.transaction() as tx:
            rows = await tx.fetch_all(
                "SELECT o.enrollment_id, MIN(e.step_index) FROM outbox o JOIN enrollments e ON e.id = o.enrollment_id"
                " WHERE e.customer_id = ? AND e.state = 'active' AND o.state = 'pending' GROUP BY o.enrollment_id",
                (customer_id,),
            )
            for enrollment_id, _ in rows:
                # Un-queue the waiting step so it is queued afresh (and checked afresh) after the pause.
                await tx.execute(
                    "DELETE FROM outbox WHERE enrollment_id = ? AND state = 'pending'", (enrollment_id,)
                )
                await tx.execute(
                    "UPDATE enrollments SET step_index = step_index - 1 WHERE id = ?", (enrollment_id,)
                )
            return await tx.execute(
                "UPDATE enrollments SET state = 'paused' WHERE customer_id = ? AND state = 'active'",
                (customer_id,),
            )

    async def paused_customers(self) -> list[int]:
        rows = await self._db.fetch_all("SELECT DISTINCT customer_id FROM enrollments WHERE state = 'paused'")
        return [row[0] for row in rows]

    async def resume_all(self, customer_id: int, now: datetime) -> int:
        return await self._db.execute(
            "UPDATE enrollments SET state = 'active', next_due_at = CASE WHEN next_due_at > ? THEN next_due_at ELSE ? END"
            " WHERE customer_id = ? AND state = 'paused'",
            (to_db(now), to_db(now), customer_id),
        )

    async def open_count(self, sequence: str) -> int:
        """How many customers are on `sequence` now (active or paused)."""
        row = await self._db.fetch_one(
            "SELECT COUNT(*) AS n FROM enrollments WHERE sequence = ? AND state IN ('active', 'paused')",
            (sequence,),
        )
        return int(row["n"]) if row else 0

    async def stats(self) -> list[Row]:
        return await self._db.fetch_all(
            "SELECT e.sequence, e.state, COALESCE(e.exit_reason, '') AS reason, COUNT(*) AS n FROM enrollments e"
            f" JOIN customers c ON c.id = e.customer_id WHERE {is_customer('c')}"
            " GROUP BY e.sequence, e.state, e.exit_reason"
        )

    async def sent_per_step(self) -> list[Row]:
        return await self._db.fetch_all(
            "SELECT e.sequence, o.step_index, COUNT(*) AS n FROM outbox o JOIN enrollments e ON e.id = o.enrollment_id"
            " WHERE o.state = 'sent' GROUP BY e.sequence, o.step_index"
        )

    async def clicks_per_step(self) -> list[Row]:
        """Clicks per (sequence, step as text) of the sequences' buttons."""
        engine = engine_of(self._db)
        return await self._db.fetch_all(
            f"SELECT {json_text(engine, 'data', 'sequence')} AS sequence, {json_text(engine, 'data', 'step')} AS step,"
            " COUNT(*) AS n FROM events WHERE kind = 'clicked' GROUP BY 1, 2"
        )

    async def converted(self, window_days: int, now: datetime) -> list[Row]:
        """Customers per sequence who bought after one of its messages reached them, while enrolled or
        within `window_days` after it ended (storage.analytics.sequence_converted: the one rule)."""
        return await self._db.fetch_all(
            "SELECT e.sequence, COUNT(DISTINCT e.customer_id) AS n FROM enrollments e"
            f" JOIN customers c ON c.id = e.customer_id WHERE {is_customer('c')} AND {sequence_converted(engine_of(self._db), 'e')}"
            " GROUP BY e.sequence",
            (to_db(now), window_days * 86400),
        )
