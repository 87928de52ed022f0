"""Versions of the content: append-only whole documents; the newest is the current content."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.db import Database, Row
from storage.signals import CONTENT
from storage.staff import audit
from storage.timefmt import from_db, to_db


@dataclass(frozen=True)
class Version:
    id: int
    kind: str  # file (the content file, kept when the first edit is saved), edit, import, revert
    summary: str
    reverts_to: int | None
    created_by: int | None
    created_at: datetime
    changed: list[str]  # the places it changed against the version before it


@dataclass(frozen=True)
class NewVersion:
    document: str
    kind: str
    summary: str
    created_by: int | None
    reverts_to: int | None = None
    changed: list[str] = field(default_factory=list)


class StaleBase(Exception):
    """Someone saved a newer version since the editor loaded the one it changed."""


_COLUMNS = "id, kind, summary, reverts_to, created_by, created_at, changed"


def _version(row: Row) -> Version:
    created = from_db(row["created_at"])
    assert created is not None
    changed = json.loads(row["changed"])
    return Version(row["id"], row["kind"], row["summary"], row["reverts_to"], row["created_by"], created, changed)


class ContentVersionsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def latest(self) -> tuple[Version, str] | None:
        """The newest version and its document, or None while the content file is still the content."""
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS}, document FROM content_versions ORDER BY id DESC LIMIT 1"
        )
        return None if row is None else (_version(row), str(row["document"]))

    async def get(self, version_id: int) -> tuple[Version, str] | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS}, document FROM content_versions WHERE id = ?", (version_id,)
        )
        return None if row is None else (_version(row), str(row["document"]))

    async def listing(self, limit: int = 50, before: int | None = None) -> list[Version]:
        """The newest versions first (without their documents)."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM content_versions WHERE id < ? ORDER BY id DESC LIMIT ?",
            (before if before is not None else 2**62, limit),
        )
        return [_version(row) for row in rows]

    async def add(self, versions: list[NewVersion], base: int | None, now: datetime, **audit_details: Any) -> int:
        """Append the versions (the last becomes current) if the newest is still `base` (None: no version
        yet), else raise StaleBase; each is audited in the same transaction. Returns the last one's id."""
        async with self._db.transaction() as tx:
            row = await tx.fetch_one("SELECT MAX(id) FROM content_versions")
            newest = None if row is None or row[0] is None else int(row[0])
            if newest != base:
                raise StaleBase(newest)
            version_id = 0
            for new in versions:
                version_id = await tx.insert(
                    "INSERT INTO content_versions"
                    " (document, kind, summary, reverts_to, created_by, created_at, changed)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        new.document,
                        new.kind,
                        new.summary,
                        new.reverts_to,
                        new.created_by,
                        to_db(now),
                        json.dumps(new.changed, ensure_ascii=False),
                    ),
                )
                if new.kind != "file":
                    details = {"summary": new.summary, **audit_details}
                    if new.reverts_to is not None:
                        details["reverts_to"] = new.reverts_to
                    await audit(tx, new.created_by, f"content_{new.kind}", str(version_id), now, **details)
            await tx.notify(CONTENT)  # every other process switches to it (flows/content_edits.py)
            return version_id
