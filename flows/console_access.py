"""Who may use the owner's console, and how they get in: one-time login links and sessions.

The bot's /console answers an owner or staff member with a link (valid `LOGIN_TTL`, single use, bound to
that person); opening it, or a Telegram Mini App's signed initData (checked in `console/auth.py`), opens a
session. Secrets are random and only their SHA-256 is stored. A session names a person, never a role:
the role is read from the database on every request, so a revoked member is out at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flows.clock import Clock
from flows.staff import Staff
from storage.console_access import ConsoleAccessRepo, OpenSession

LOGIN_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(hours=24)
LOGIN_PATH = "/login/"
# Owners see everything; managers what a cashier sees and more.
ROLE_RANK = {"cashier": 1, "manager": 2, "owner": 3}


def allows(role: str | None, needed: str) -> bool:
    """Whether `role` may open what `needed` may (owner ⊃ manager ⊃ cashier)."""
    return role is not None and ROLE_RANK.get(role, 0) >= ROLE_RANK[needed]


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Person:
    """Someone signed in to the console, as of this request."""

    tg_id: int
    role: str | None  # None: their access ended (revoked) — this was their last request
    language: str
    csrf: str
    session: str  # the hash of the session's secret (what is stored)
    via: str


@dataclass
class ConsoleAccess:
    repo: ConsoleAccessRepo
    staff: Staff
    clock: Clock
    base_url: str = ""  # the console's public address, known once it listens

    async def login_link(self, tg_id: int) -> str | None:
        """A one-time login link for an owner or staff member; None for anyone else."""
        if await self.staff.current_role(tg_id) is None:
            return None
        token = secrets.token_urlsafe(24)
        now = self.clock.now()
        await self.repo.add_login(digest(token), tg_id, now, now + LOGIN_TTL)
        return f"{self.base_url}{LOGIN_PATH}{token}"

    async def redeem(self, token: str) -> int | None:
        """Use a login link's secret once; the person it was made for, or None (unknown, used, expired)."""
        return await self.repo.use_login(digest(token), self.clock.now())

    async def open_session(self, tg_id: int, language: str, via: str) -> tuple[str, str] | None:
        """A new session for a person who still has a role: (its secret for the cookie, its hash)."""
        if await self.staff.current_role(tg_id) is None:
            return None
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        await self.repo.prune(now)
        await self.repo.add_session(
            digest(token), tg_id, secrets.token_urlsafe(24), language, via, now, now + SESSION_TTL
        )
        return token, digest(token)

    async def person(self, token: str) -> Person | None:
        """The person behind a session's secret with their role as committed now; None when the session
        is unknown or expired. Someone who no longer has a role comes back with role None, once: their
        sessions end."""
        hashed = digest(token)
        row = await self.repo.session(hashed, self.clock.now())
        if row is None:
            return None
        role = await self.staff.current_role(row.tg_id)
        if role is None:
            await self.repo.delete_person(row.tg_id)
        return Person(row.tg_id, role, row.language, row.csrf, hashed, row.via)

    async def set_language(self, person: Person, language: str) -> None:
        await self.repo.set_language(person.session, language)

    async def close(self, person: Person) -> None:
        """Log out: this session ends."""
        await self.repo.delete_session(person.session)

    async def open_sessions(self) -> list[OpenSession]:
        """Who is signed in to the console now (for the owner)."""
        return await self.repo.open_sessions(self.clock.now())

    async def end_session(self, session: str, by: int) -> None:
        """End someone's session (the owner's "sign out there"); audited."""
        await self.repo.delete_session(session)
        await self.staff.repo.audit(by, "console_session_ended", None, self.clock.now())
