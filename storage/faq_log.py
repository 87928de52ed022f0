"""Questions customers asked the FAQ and what came of them, so the owner sees what the FAQ is missing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from storage.db import Database, Row
from storage.timefmt import to_db
from storage.written_behind import WRITTEN_BEHIND, Noted, insert_for_present_customers

_NOTED_COLUMNS = ("customer_id", "text", "normalized", "outcome", "entry", "score", "created_at", "decided_by")

# The score recorded for a close call that the language model settled (FAQ_LLM_URL): matching scores are
# never negative. Until faq_log gets a column for who decided, this is how such answers are told apart.


@dataclass(frozen=True)
class FaqQuestion:
    id: int
    customer_id: int | None
    text: str
    outcome: str
    offered: tuple[str, ...] = ()  # the entries offered in a close call
    chosen: str | None = None  # the one the customer tapped
    taught_id: int | None = None  # the phrasing it became (handled)


@dataclass(frozen=True)
class FaqCounts:
    answered: int
    suggested: int
    missed: int
    top_missed: list[tuple[str, int]]  # (the question as first asked, how often), most frequent first


_COLUMNS = "id, customer_id, text, outcome, offered, chosen, taught_id"


def _question(row: Row) -> FaqQuestion:
    return FaqQuestion(row[0], row[1], row[2], row[3], tuple((row[4] or "").split()), row[5], row[6])


class FaqLogRepo:
    """Questions asked. A question answered outright is written behind (`note`, then `flush` with the
    other per-update notes, a periodic job and shutdown): it needs no id for a button, and a write
    transaction per answer halved how many questions a second the bot could answer. A crash loses at
    most the last second of such rows. Questions that get buttons are written at once (`record`).

    Several processes: each notes and flushes its own rows (plain inserts, nothing to merge); what a dead
    process had noted is missing from the owner's figures and /questions, never from a customer's answer."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: Noted[tuple[object, ...]] = Noted()

    def note(
        self,
        customer_id: int,
        text: str,
        normalized: str,
        entry: str | None,
        score: float,
        now: datetime,
        *,
        decided_by: Literal["matcher", "model"] = "matcher",
    ) -> None:
        """Keep an answered question for the next flush."""
        row = (customer_id, text, normalized, "answered", entry, round(score, 3), to_db(now), decided_by)
        self._pending.add(row)

    async def flush(self) -> int:
        """Write the noted questions in one transaction; none of a customer forgotten meanwhile."""
        async with self._pending.taken() as pending:
            if not pending:
                return 0
            async with self._db.transaction(WRITTEN_BEHIND) as tx:  # scoped: plain inserts (WRITTEN_BEHIND)
                await insert_for_present_customers(tx, "faq_log", _NOTED_COLUMNS, pending)
            return len(pending)

    async def record(
        self,
        customer_id: int,
        text: str,
        normalized: str,
        outcome: str,
        entry: str | None,
        score: float,
        now: datetime,
        *,
        offered: Sequence[str] = (),
        declined: bool = False,
    ) -> int:
        async with self._db.transaction() as tx:
            return await tx.insert(
                "INSERT INTO faq_log (customer_id, text, normalized, outcome, entry, score, created_at, offered,"
                " declined) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    customer_id,
                    text,
                    normalized,
                    outcome,
                    entry,
                    round(score, 3),
                    to_db(now),
                    " ".join(offered) or None,
                    int(declined),
                ),
            )

    async def get(self, question_id: int) -> FaqQuestion | None:
        row = await self._db.fetch_one(f"SELECT {_COLUMNS} FROM faq_log WHERE id = ?", (question_id,))
        return _question(row) if row else None

    async def choose(self, question_id: int, entry: str) -> None:
        """The customer tapped `entry` among the suggestions for their question."""
        await self._db.execute("UPDATE faq_log SET chosen = ? WHERE id = ?", (entry, question_id))

    async def open_questions(self, since: datetime, limit: int = 500) -> list[FaqQuestion]:
        """Recent questions the FAQ missed or was unsure of, not yet taught or declined, newest first."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM faq_log WHERE created_at >= ? AND outcome IN ('missed', 'suggested')"
            " AND taught_id IS NULL AND declined = 0 AND text != '' ORDER BY id DESC LIMIT ?",
            (to_db(since), limit),
        )
        return [_question(row) for row in rows]

    async def chosen_for(self, entry: str, since: datetime) -> list[FaqQuestion]:
        """Recent questions whose asker tapped `entry` among the suggestions, not yet taught."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM faq_log WHERE chosen = ? AND created_at >= ? AND taught_id IS NULL"
            " AND customer_id IS NOT NULL ORDER BY id DESC LIMIT 500",
            (entry, to_db(since)),
        )
        return [_question(row) for row in rows]

    async def mark_missed(self, question_id: int) -> None:
        """The customer found none of the suggestions right: the FAQ is missing this one."""
        await self._db.execute("UPDATE faq_log SET outcome = 'missed' WHERE id = ?", (question_id,))

    async def counts(self, since: datetime, top: int = 10) -> FaqCounts:
        await self.flush()
        rows = await self._db.fetch_all(
            "SELECT outcome, COUNT(*) FROM faq_log WHERE created_at >= ? GROUP BY outcome", (to_db(since),)
        )
        by = {row[0]: row[1] for row in rows}
        missed = await self._db.fetch_all(
            "SELECT MIN(text), COUNT(*) AS n FROM faq_log WHERE outcome = 'missed' AND created_at >= ?"
            " AND text != '' GROUP BY normalized ORDER BY n DESC, MAX(created_at) DESC LIMIT ?",
            (to_db(since), top),
        )
        return FaqCounts(
            by.get("answered", 0), by.get("suggested", 0), by.get("missed", 0), [(r[0], r[1]) for r in missed]
        )
