"""The team: owners (from settings) invite managers and cashiers with one-time links, list and revoke them.

Roles are checked on every command and button. They are kept in memory, loaded once from the database and
changed only through this flow (accept, revoke), so a revoked cashier still loses access at once while a
customer's plain message costs no database read.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from flows.chat_actions import action_row, remove_member
from flows.clock import Clock
from storage.staff import StaffMember, StaffRepo

ROLES = ("manager", "cashier")
INVITE_TTL = timedelta(hours=48)
STAFF_PREFIX = "staff-"


@dataclass
class Staff:
    repo: StaffRepo
    owner_ids: frozenset[int]
    clock: Clock
    manager_chat_id: int | None = None  # revoked staff are removed from this group
    # Told (tg id, new role or None) after a hire or a revoke is committed: the wiring updates that
    # person's command menu there.
    role_changed: Callable[[int, str | None], Awaitable[None]] | None = field(default=None, repr=False)
    _roles: dict[int, str] | None = field(default=None, repr=False)

    async def role_of(self, tg_id: int) -> str | None:
        """`owner`, `manager`, `cashier`, or None for a customer."""
        if tg_id in self.owner_ids:
            return "owner"
        if self._roles is None:
            self._roles = {member.tg_id: member.role for member in await self.repo.active()}
        return self._roles.get(tg_id)

    async def current_role(self, tg_id: int) -> str | None:
        """The role as committed in the database right now (not the cached one): for an edge such as the
        console, where each request must see a revoke made by any process at once."""
        if tg_id in self.owner_ids:
            return "owner"
        return await self.repo.role(tg_id)

    async def is_staff(self, tg_id: int) -> bool:
        return await self.role_of(tg_id) is not None

    async def invite(self, owner_tg_id: int, role: str, bot_username: str) -> str:
        """A one-time link (valid 48 hours) that makes whoever opens it a member with this role."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        token = secrets.token_urlsafe(16)
        now = self.clock.now()
        await self.repo.create_invite(token, role, owner_tg_id, now, now + INVITE_TTL)
        return f"https://t.me/{bot_username}?start={STAFF_PREFIX}{token}"

    async def accept(self, token: str, tg_id: int, name: str) -> str | None:
        """Use an invite; the role, or None when the link is unknown, used or expired."""
        role = await self.repo.accept_invite(token, tg_id, name, self.clock.now())
        self._roles = None  # reload on the next check
        if role is not None and self.role_changed is not None:
            await self.role_changed(tg_id, role)
        return role

    async def members(self) -> list[StaffMember]:
        return await self.repo.active()

    async def revoke(self, tg_id: int, by: int) -> bool:
        """Take access away, and out of the managers' group with it (through the outbox, so it happens even
        after a crash; the ban is lifted at once, so they can be invited again); False when that person was
        not (or no longer) staff."""
        now = self.clock.now()
        removal = None
        if self.manager_chat_id is not None:
            key = f"staff-removed:{tg_id}:{now.isoformat()}"  # a later re-hire and revoke removes them again
            removal = action_row(key, self.manager_chat_id, remove_member(tg_id), now)
        revoked = await self.repo.revoke(tg_id, by, now, removal)
        self._roles = None
        if revoked and self.role_changed is not None:
            await self.role_changed(tg_id, None)
        return revoked
