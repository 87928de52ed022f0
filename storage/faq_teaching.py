"""What the FAQ was taught after its content file was written: phrasings, "not our topic" examples and the
owner's own entries. Every change is audited (without the text: it came from a customer) and links the
questions it handles (faq_log.taught_id), so they leave the owner's list; removing a phrasing unlinks them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Tx
from storage.signals import FAQ_TEACHING
from storage.staff import audit
from storage.timefmt import from_db, to_db

OWNER_ENTRY_PREFIX = "t."  # content ids never contain '.', so an owner's entry never shadows one


@dataclass(frozen=True)
class TaughtPhrasing:
    id: int
    text: str
    entry: str | None  # None: not our topic
    source: str  # owner | customers
    created_at: datetime


@dataclass(frozen=True)
class OwnerEntry:
    id: int
    language: str
    question: str
    answer: str  # plain text
    created_at: datetime

    @property
    def entry_id(self) -> str:
        return f"{OWNER_ENTRY_PREFIX}{self.id}"


def _at(value: str) -> datetime:
    moment = from_db(value)
    assert moment is not None
    return moment


def row_id(text: str) -> int | None:
    """A row id written as text ('12'), or None for anything else (callback data is never trusted)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


def owner_entry_number(entry_id: str) -> int | None:
    """The row id of an owner's entry id ('t.12' → 12); None for a content entry."""
    return row_id(entry_id.removeprefix(OWNER_ENTRY_PREFIX)) if entry_id.startswith(OWNER_ENTRY_PREFIX) else None


class FaqTeachingRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def phrasings(self) -> list[TaughtPhrasing]:
        rows = await self._db.fetch_all("SELECT id, text, entry, source, created_at FROM faq_taught ORDER BY id")
        return [TaughtPhrasing(r[0], r[1], r[2], r[3], _at(r[4])) for r in rows]

    async def owner_entries(self) -> list[OwnerEntry]:
        rows = await self._db.fetch_all(
            "SELECT id, language, question, answer, created_at FROM faq_owner_entries ORDER BY id"
        )
        return [OwnerEntry(r[0], r[1], r[2], r[3], _at(r[4])) for r in rows]

    async def teach(
        self,
        texts: Sequence[tuple[str, Sequence[int]]],
        entry: str | None,
        source: str,
        by: int | None,
        now: datetime,
        *,
        only_open: bool = True,
    ) -> list[int]:
        """One phrasing per (text, the questions it stands for); the questions are marked taught. With
        `only_open`, questions taught meanwhile (another tap, another owner) are skipped, and a text whose
        questions were all taught meanwhile teaches nothing. Ids of the new phrasings."""
        async with self._db.transaction() as tx:
            made = await _teach(tx, texts, entry, source, by, now, only_open=only_open)
            if made:
                await tx.notify(FAQ_TEACHING)
            return made

    async def add_entry(
        self,
        language: str,
        question: str,
        answer: str,
        texts: Sequence[tuple[str, Sequence[int]]],
        by: int,
        now: datetime,
    ) -> str | None:
        """A new entry of the owner's, with the questions' texts as its phrasings; its id, or None when the
        questions were all taught meanwhile."""
        async with self._db.transaction() as tx:
            number = await tx.insert(
                "INSERT INTO faq_owner_entries (language, question, answer, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (language, question, answer, by, to_db(now)),
            )
            entry = f"{OWNER_ENTRY_PREFIX}{number}"
            if not await _teach(tx, texts, entry, "owner", by, now, only_open=True):
                await tx.execute("DELETE FROM faq_owner_entries WHERE id = ?", (number,))
                return None
            await audit(tx, by, "faq_entry_added", entry, now)
            await tx.notify(FAQ_TEACHING)
            return entry

    async def remove_phrasing(self, phrasing_id: int, by: int, now: datetime) -> bool:
        """Forget a phrasing; the questions it handled come back to the owner's list."""
        async with self._db.transaction() as tx:
            row = await tx.fetch_one("SELECT entry, source FROM faq_taught WHERE id = ?", (phrasing_id,))
            if row is None:
                return False
            await tx.execute("UPDATE faq_log SET taught_id = NULL WHERE taught_id = ?", (phrasing_id,))
            await tx.execute("DELETE FROM faq_taught WHERE id = ?", (phrasing_id,))
            await audit(tx, by, "faq_taught_removed", str(phrasing_id), now, entry=row[0], source=row[1])
            await tx.notify(FAQ_TEACHING)
            return True

    async def remove_entry(self, number: int, by: int, now: datetime) -> bool:
        """Forget an owner's entry and its phrasings; their questions come back to the owner's list."""
        entry = f"{OWNER_ENTRY_PREFIX}{number}"
        async with self._db.transaction() as tx:
            if not await tx.execute("DELETE FROM faq_owner_entries WHERE id = ?", (number,)):
                return False
            await tx.execute(
                "UPDATE faq_log SET taught_id = NULL WHERE taught_id IN (SELECT id FROM faq_taught WHERE entry = ?)",
                (entry,),
            )
            await tx.execute("DELETE FROM faq_taught WHERE entry = ?", (entry,))
            await audit(tx, by, "faq_entry_removed", entry, now)
            await tx.notify(FAQ_TEACHING)
            return True


async def _teach(
    tx: Tx,
    texts: Sequence[tuple[str, Sequence[int]]],
    entry: str | None,
    source: str,
    by: int | None,
    now: datetime,
    *,
    only_open: bool,
) -> list[int]:
    made: list[int] = []
    for text, question_ids in texts:
        ids = list(question_ids)
        if only_open and ids:
            marks = ",".join("?" * len(ids))
            rows = await tx.fetch_all(
                f"SELECT id FROM faq_log WHERE id IN ({marks}) AND taught_id IS NULL AND declined = 0", ids
            )
            ids = [int(row[0]) for row in rows]
            if not ids:
                continue
        phrasing = await tx.insert(
            "INSERT INTO faq_taught (text, entry, source, taught_by, created_at) VALUES (?, ?, ?, ?, ?)",
            (text, entry, source, by, to_db(now)),
        )
        if ids:
            marks = ",".join("?" * len(ids))
            await tx.execute(f"UPDATE faq_log SET taught_id = ? WHERE id IN ({marks})", (phrasing, *ids))
        await audit(tx, by, "faq_taught", str(phrasing), now, entry=entry, source=source, questions=len(ids))
        made.append(phrasing)
    return made
