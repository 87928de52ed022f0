"""One-time console login links and console sessions, stored by the hashes of their secrets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.timefmt import from_db, to_db


@dataclass(frozen=True)
class OpenSession:
    token_hash: str
    tg_id: int
    via: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class SessionRow:
    tg_id: int
    csrf: str
    language: str
    via: str
    expires_at: datetime


class ConsoleAccessRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_login(self, token_hash: str, tg_id: int, now: datetime, expires: datetime) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO console_logins (token_hash, tg_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (token_hash, tg_id, to_db(now), to_db(expires)),
            )

    async def use_login(self, token_hash: str, now: datetime) -> int | None:
        """Mark a login link used, atomically; its person, or None when unknown, used or expired."""
        async with self._db.transaction() as tx:
            row = await tx.fetch_one(
                "UPDATE console_logins SET used_at = ? WHERE token_hash = ? AND used_at IS NULL"
                " AND expires_at > ? RETURNING tg_id",
                (to_db(now), token_hash, to_db(now)),
            )
        return None if row is None else int(row[0])

    async def add_session(
        self, token_hash: str, tg_id: int, csrf: str, language: str, via: str, now: datetime, expires: datetime
    ) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO console_sessions (token_hash, tg_id, csrf, language, via, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (token_hash, tg_id, csrf, language, via, to_db(now), to_db(expires)),
            )

    async def session(self, token_hash: str, now: datetime) -> SessionRow | None:
        row = await self._db.fetch_one(
            "SELECT tg_id, csrf, language, via, expires_at FROM console_sessions"
            " WHERE token_hash = ? AND expires_at > ?",
            (token_hash, to_db(now)),
        )
        if row is None:
            return None
        expires = from_db(row["expires_at"])
        assert expires is not None
        return SessionRow(int(row["tg_id"]), str(row["csrf"]), str(row["language"]), str(row["via"]), expires)

    async def open_sessions(self, now: datetime) -> list[OpenSession]:
        """Sessions that have not expired, newest first."""
        rows = await self._db.fetch_all(
            "SELECT token_hash, tg_id, via, created_at, expires_at FROM console_sessions WHERE expires_at > ?"
            " ORDER BY created_at DESC, token_hash",
            (to_db(now),),
        )
        return [
            OpenSession(r["token_hash"], r["tg_id"], r["via"], from_db(r["created_at"]), from_db(r["expires_at"]))  # type: ignore[arg-type]
            for r in rows
        ]

    async def set_language(self, token_hash: str, language: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE console_sessions SET language = ? WHERE token_hash = ?", (language, token_hash)
            )

    async def delete_session(self, token_hash: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM console_sessions WHERE token_hash = ?", (token_hash,))

    async def delete_person(self, tg_id: int) -> int:
        """End every session of one person (revoked); how many there were."""
        async with self._db.transaction() as tx:
            return await tx.execute("DELETE FROM console_sessions WHERE tg_id = ?", (tg_id,))

    async def prune(self, now: datetime) -> None:
        """Forget expired links and sessions."""
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM console_logins WHERE expires_at <= ?", (to_db(now),))
            await tx.execute("DELETE FROM console_sessions WHERE expires_at <= ?", (to_db(now),))
