"""Uploaded photos and videos: their bytes, kind and Telegram's file id once it has one."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.timefmt import to_db


@dataclass(frozen=True)
class StoredMedia:
    id: int
    kind: str  # photo or video
    mime_type: str
    data: bytes
    tg_file_id: str | None


class MediaRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, kind: str, mime_type: str, data: bytes, by: int | None, now: datetime) -> int:
        """Store an upload; the same bytes stored before give the id they got then."""
        digest = hashlib.sha256(data).hexdigest()
        async with self._db.transaction() as tx:
            # The kind follows from the bytes (`flows.media.sniff`), so equal bytes are the same upload.
            found = await tx.fetch_one("SELECT id FROM media WHERE sha256 = ?", (digest,))
            if found is not None:
                return int(found["id"])
            return await tx.insert(
                "INSERT INTO media (kind, mime_type, sha256, size, data, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (kind, mime_type, digest, len(data), data, by, to_db(now)),
            )

    async def get(self, media_id: int) -> StoredMedia | None:
        row = await self._db.fetch_one(
            "SELECT id, kind, mime_type, data, tg_file_id FROM media WHERE id = ?", (media_id,)
        )
        if row is None:
            return None
        return StoredMedia(row["id"], row["kind"], row["mime_type"], bytes(row["data"]), row["tg_file_id"])

    async def kinds(self) -> dict[int, str]:
        """Every stored upload's kind by id (what content may refer to)."""
        rows = await self._db.fetch_all("SELECT id, kind FROM media")
        return {int(row["id"]): str(row["kind"]) for row in rows}

    async def remember_file_id(self, media_id: int, file_id: str) -> None:
        """Telegram's id for the uploaded bytes, so later sends need not upload them again."""
        await self._db.execute(
            "UPDATE media SET tg_file_id = ? WHERE id = ? AND tg_file_id IS NULL", (file_id, media_id)
        )
