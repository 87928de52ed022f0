"""Staff members, one-time invites and the audit log of what staff did."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database, Row, Tx
from storage.outbox import NewMessage, enqueue
from storage.signals import STAFF
from storage.timefmt import from_db, to_db


@dataclass(frozen=True)
class AuditEntry:
    id: int
    created_at: datetime
    actor_tg_id: int | None
    actor_name: str | None  # the staff member's name when the actor is (or was) on the team
    action: str
    subject: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class AuditQuery:
    """Which audit rows to list: every given condition holds; `before_id` pages to older rows."""

    actor_tg_id: int | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    before_id: int | None = None
    limit: int = 50


@dataclass(frozen=True)
class StaffMember:
    tg_id: int
    role: str
    name: str | None
    added_at: datetime


async def active_role_in(tx: Tx, tg_id: int) -> str | None:
    """The member's role as committed now (inside the caller's transaction); None if revoked or never staff."""
    row = await tx.fetch_one("SELECT role FROM staff WHERE tg_id = ? AND revoked_at IS NULL", (tg_id,))
    return None if row is None else str(row[0])


async def audit(
    tx: Tx, actor_tg_id: int | None, action: str, subject: str | None, now: datetime, **details: Any
) -> None:
    """Record a staff action inside the transaction that performs it."""
    await tx.execute(
        "INSERT INTO audit_log (actor_tg_id, action, subject, details, created_at) VALUES (?, ?, ?, ?, ?)",
        (
            actor_tg_id,
            action,
            subject,
            json.dumps(details, ensure_ascii=False, sort_keys=True, default=str) if details else None,
            to_db(now),
        ),
    )


def _audit_entry(row: Row) -> AuditEntry:
    when = from_db(row[1])
    assert when is not None  # created_at is NOT NULL
    details = json.loads(row[6]) if row[6] else {}
    return AuditEntry(row[0], when, row[2], row[3], row[4], row[5], details)


class StaffRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def role(self, tg_id: int) -> str | None:
        value = await self._db.fetch_value(
            "SELECT role FROM staff WHERE tg_id = ? AND revoked_at IS NULL", (tg_id,)
        )
        return None if value is None else str(value)

    async def active(self) -> list[StaffMember]:
        rows = await self._db.fetch_all(
            "SELECT tg_id, role, name, added_at FROM staff WHERE revoked_at IS NULL ORDER BY added_at, tg_id"
        )
        return [StaffMember(r["tg_id"], r["role"], r["name"], from_db(r["added_at"])) for r in rows]  # type: ignore[arg-type]

    async def create_invite(
        self, token: str, role: str, created_by: int, now: datetime, expires: datetime
    ) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO staff_invites (token, role, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                (token, role, created_by, to_db(now), to_db(expires)),
            )
            await audit(tx, created_by, "staff_invite", role, now)

    async def accept_invite(self, token: str, tg_id: int, name: str, now: datetime) -> str | None:
        """Use a one-time invite atomically; returns the role, or None if it is unknown, used or expired."""
        async with self._db.transaction() as tx:
            row = await tx.fetch_one(
                "UPDATE staff_invites SET used_by = ?, used_at = ? WHERE token = ? AND used_at IS NULL"
                " AND expires_at > ? RETURNING role, created_by",
                (tg_id, to_db(now), token, to_db(now)),
            )
            if row is None:
                return None
            await tx.execute(
                "INSERT INTO staff (tg_id, role, name, added_by, added_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (tg_id) DO UPDATE SET role = excluded.role, name = excluded.name,"
                " added_by = excluded.added_by, added_at = excluded.added_at, revoked_at = NULL",
                (tg_id, row["role"], name, row["created_by"], to_db(now)),
            )
            await audit(tx, tg_id, "staff_joined", str(tg_id), now, role=row["role"], invited_by=row["created_by"])
            await tx.notify(STAFF)
            return str(row["role"])

    async def revoke(self, tg_id: int, by: int, now: datetime, follow_up: NewMessage | None = None) -> bool:
        """Revoke access; `follow_up` (removing them from the managers' group) is queued with it, once."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE staff SET revoked_at = ? WHERE tg_id = ? AND revoked_at IS NULL", (to_db(now), tg_id)
            )
            if changed:
                await audit(tx, by, "staff_revoked", str(tg_id), now)
                await tx.notify(STAFF)
                if follow_up is not None:
                    await enqueue(tx, follow_up, now)
        return changed == 1

    async def change_role(self, tg_id: int, role: str, by: int, now: datetime) -> str | None:
        """Give an active member another role; the role they had, or None when they are not staff or
        already have it."""
        async with self._db.transaction() as tx:
            row = await tx.fetch_one(
                "SELECT role FROM staff WHERE tg_id = ? AND revoked_at IS NULL AND role != ?", (tg_id, role)
            )
            if row is None:
                return None
            await tx.execute("UPDATE staff SET role = ? WHERE tg_id = ?", (role, tg_id))
            await audit(tx, by, "staff_role_changed", str(tg_id), now, role=role, was=row["role"])
            await tx.notify(STAFF)
            return str(row["role"])

    async def audit_entries(self, query: AuditQuery) -> list[AuditEntry]:
        """Audit rows matching `query`, newest first (each condition reads an index: actor, action, time)."""
        where, params = [], []
        for column, op, value in (
            ("a.actor_tg_id", "=", query.actor_tg_id),
            ("a.action", "=", query.action),
            ("a.created_at", ">=", None if query.since is None else to_db(query.since)),
            ("a.created_at", "<", None if query.until is None else to_db(query.until)),
            ("a.id", "<", query.before_id),
        ):
            if value is not None:
                where.append(f"{column} {op} ?")
                params.append(value)
        rows = await self._db.fetch_all(
            "SELECT a.id, a.created_at, a.actor_tg_id, s.name, a.action, a.subject, a.details"
            " FROM audit_log a LEFT JOIN staff s ON s.tg_id = a.actor_tg_id"
            f"{' WHERE ' + ' AND '.join(where) if where else ''} ORDER BY a.id DESC LIMIT ?",
            (*params, query.limit),
        )
        return [_audit_entry(row) for row in rows]

    async def audit_action_names(self) -> list[str]:
        """Every distinct action in the log, one index probe each (a skip scan of `audit_log_action`)."""
        rows = await self._db.fetch_all(
            "WITH RECURSIVE names(action) AS (SELECT MIN(action) FROM audit_log"
            " UNION ALL SELECT (SELECT MIN(action) FROM audit_log WHERE action > names.action)"
            " FROM names WHERE names.action IS NOT NULL)"
            " SELECT action FROM names WHERE action IS NOT NULL"
        )
        return [str(row[0]) for row in rows]

    async def audit(
        self, actor_tg_id: int | None, action: str, subject: str | None, now: datetime, **details: Any
    ) -> None:
        async with self._db.transaction() as tx:
            await audit(tx, actor_tg_id, action, subject, now, **details)

    async def audit_actions(self, actor_tg_id: int | None = None) -> list[str]:
        """Actions in the audit log, oldest first (for tests and reports)."""
        if actor_tg_id is None:
            rows = await self._db.fetch_all("SELECT action FROM audit_log ORDER BY id")
        else:
            rows = await self._db.fetch_all(
                "SELECT action FROM audit_log WHERE actor_tg_id = ? ORDER BY id", (actor_tg_id,)
            )
        return [row[0] for row in rows]
