"""The team: owners (from settings) invite managers and cashiers with one-time links, list and revoke them.

Roles are checked on every command and button. They are kept in memory, loaded from the database when
first asked for, so a customer's plain message costs no database read. Across processes (several bots on
one PostgreSQL): a hire, role change or revoke signals `storage.signals.STAFF` in the transaction that
commits it; the process that made it drops its roles at once, every other one when it hears the signal
(`forget`, milliseconds later), and after a lost listening connection all of them read the roles again.
The console does not rely on that: each request reads the role as committed (`current_role`), so a revoke
ends a console session at once on whichever process serves it.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from flows.chat_actions import action_row, remove_member
from flows.clock import Clock
from flows.i18n import N_
from flows.parsing import ParseError, parse_moment, parse_telegram_id
from storage.staff import AuditEntry, AuditQuery, StaffMember, StaffRepo

ROLES = ("manager", "cashier")
INVITE_TTL = timedelta(hours=48)
STAFF_PREFIX = "staff-"
AUDIT_PAGE = 50


class AuditFilterError(ValueError):
    """A filter of the audit log that cannot be read; `field` names it (`actor`, `since`, `until`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    older: int | None  # the `before` id of the next (older) page, None when this is the last


def audit_query(
    zone: tzinfo,
    actor: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
    before: str | None = None,
) -> AuditQuery:
    """The audit filter from what a form sent: an actor's Telegram id, an action name, the first and last
    local day (both included, in the business zone). Empty means "any"; AuditFilterError names the field."""
    actor_id = _optional_id("actor", actor)
    first = _optional_day("since", since, zone)
    last = _optional_day("until", until, zone)
    if first is not None and last is not None and last < first:
        raise AuditFilterError("until", N_("The last day is before the first."))
    return AuditQuery(
        actor_tg_id=actor_id,
        action=(action or "").strip() or None,
        since=None if first is None else datetime.combine(first, time(0), tzinfo=zone),
        until=None if last is None else datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone),
        before_id=_optional_id("before", before),
        limit=AUDIT_PAGE + 1,  # one more tells whether there is an older page
    )


def _optional_id(field: str, text: str | None) -> int | None:
    if not (text or "").strip():
        return None
    try:
        return parse_telegram_id(text)
    except ParseError as exc:
        raise AuditFilterError(field, str(exc)) from None


def _optional_day(field: str, text: str | None, zone: tzinfo) -> date | None:
    if not (text or "").strip():
        return None
    try:
        return parse_moment(text, zone).astimezone(zone).date()
    except ParseError as exc:
        raise AuditFilterError(field, str(exc)) from None


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
    _forgotten: int = field(default=0, repr=False)  # how many times the roles were dropped

    async def role_of(self, tg_id: int) -> str | None:
        """`owner`, `manager`, `cashier`, or None for a customer."""
        if tg_id in self.owner_ids:
            return "owner"
        roles = self._roles
        if roles is None:
            before = self._forgotten
            roles = {member.tg_id: member.role for member in await self.repo.active()}
            if self._forgotten == before:  # else a change came while reading: this read may predate it
                self._roles = roles
        return roles.get(tg_id)

    async def forget(self) -> None:
        """Drop the roles kept in memory; the next check reads them again (another process changed them)."""
        self._drop()

    def _drop(self) -> None:
        self._roles = None
        self._forgotten += 1

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
        self._drop()  # read again on the next check
        if role is not None and self.role_changed is not None:
            await self.role_changed(tg_id, role)
        return role

    async def members(self) -> list[StaffMember]:
        """The active team, longest-serving first (owners are not members: they come from settings)."""
        return await self.repo.active()

    async def change_role(self, tg_id: int, role: str, by: int) -> bool:
        """Make an active member a manager or a cashier; in effect for their very next command or page
        (the roles in memory are reloaded, their command menu follows). False when they are not staff or
        already have that role."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        previous = await self.repo.change_role(tg_id, role, by, self.clock.now())
        self._drop()
        if previous is not None and self.role_changed is not None:
            await self.role_changed(tg_id, role)
        return previous is not None

    async def audit_log(self, query: AuditQuery) -> AuditPage:
        """One page of the audit log, newest first, filtered by `query` (see `audit_query`)."""
        rows = await self.repo.audit_entries(query)
        page = rows[: max(query.limit - 1, 1)] if len(rows) >= query.limit else rows
        return AuditPage(page, page[-1].id if len(rows) > len(page) else None)

    async def audit_actions(self) -> list[str]:
        """The actions the log holds, for a filter's choices."""
        return await self.repo.audit_action_names()

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
        self._drop()
        if revoked and self.role_changed is not None:
            await self.role_changed(tg_id, None)
        return revoked
