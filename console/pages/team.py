"""Team (owner only): invite a cashier or a manager with a one-time link, the team with a role to change
and access to revoke, and the audit log filtered by who, what and which days.

Everything goes through `flows/staff.py`, as /staff does: a new role is in effect at the member's next
request or command, and revoking also takes them out of the managers' group.
"""

from __future__ import annotations

import json
from datetime import tzinfo
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from console.app import CONSOLE
from console.auth import redirect, requires
from console.render import Area, render
from console.session import signed_in
from flows.formatting import date
from flows.formatting import datetime as moment
from flows.i18n import N_
from flows.parsing import ParseError, parse_telegram_id
from flows.staff import INVITE_TTL, ROLES, AuditFilterError, Staff, audit_query
from storage.staff import AuditEntry

routes = web.RouteTableDef()
AREA = Area("/team", N_("Team"), "owner", 60)

ROLE_NAMES = {"owner": N_("owner"), "manager": N_("manager"), "cashier": N_("cashier")}
NOTICES = {
    "role": N_("The new role is in effect from their next step."),
    "same": N_("Nothing changed: they already have that role, or are no longer on the team."),
    "revoked": N_("Access revoked."),
    "revoked_group": N_("Access revoked. They are also removed from the managers' group."),
    "gone": N_("Already revoked."),
}
FILTER_PROBLEMS = {
    "actor": N_("Choose someone from the list, or leave it empty."),
    "since": N_("The first day is not a date. Write it as 2026-01-05 or 05.01.2026."),
    "until": N_("The last day is not a date, or it is before the first."),
    "before": N_("That page of the log does not exist."),
}
# The actions the audit log names most often, in words; any other is shown as it is stored.
ACTIONS = {
    "staff_invite": N_("invited someone to the team"),
    "staff_joined": N_("joined the team"),
    "staff_revoked": N_("revoked access"),
    "staff_role_changed": N_("changed a role"),
    "stats": N_("viewed the numbers"),
    "sale": N_("recorded a sale"),
    "points_adjusted": N_("corrected points"),
    "coupon_redeemed": N_("redeemed a coupon"),
}


def _staff(request: web.Request) -> Staff:
    return request.app[CONSOLE].services["staff"]  # type: ignore[no-any-return]


def _zone(request: web.Request) -> tzinfo:
    return request.app[CONSOLE].services["settings"].zone  # type: ignore[no-any-return]


@routes.get("/team")
@requires("owner")
async def team_page(request: web.Request) -> web.StreamResponse:
    """The team, the invite buttons and the audit log (with the filters from the address)."""
    return await _page(request, notice=NOTICES.get(request.query.get("done", "")))


async def _page(
    request: web.Request, *, notice: str | None = None, invite: tuple[str, str] | None = None
) -> web.Response:
    person = signed_in(request)
    staff, zone, query = _staff(request), _zone(request), request.query
    language = person.language
    members = await staff.members()
    fields = {key: query.get(key, "").strip() for key in ("actor", "action", "since", "until", "before")}
    problem_field, log, older = None, [], None
    try:
        page = await staff.audit_log(audit_query(zone, **fields))
        log, older = [_row(entry, language, zone, staff.owner_ids) for entry in page.entries], page.older
    except AuditFilterError as error:
        problem_field = error.field
    people = [(str(tg_id), N_("owner"), None) for tg_id in sorted(staff.owner_ids)] + [
        (str(m.tg_id), ROLE_NAMES[m.role], m.name) for m in members
    ]
    filters = {k: v for k, v in fields.items() if k != "before" and v}
    return render(
        request,
        "team.html",
        members=[
            {
                "tg_id": m.tg_id,
                "name": m.name or str(m.tg_id),
                "role": m.role,
                "since": date(m.added_at, language, zone),
            }
            for m in members
        ],
        roles=ROLES,
        role_names=ROLE_NAMES,
        invite=invite,
        invite_hours=int(INVITE_TTL.total_seconds() // 3600),
        notice=notice,
        people=people,
        actions=await staff.audit_actions(),
        action_names=ACTIONS,
        fields=fields,
        problem_field=problem_field,
        problem=FILTER_PROBLEMS.get(problem_field or ""),
        log=log,
        older=urlencode({**filters, "before": older}) if older is not None else None,
        newest=urlencode(filters) if fields["before"] else None,  # "" is the unfiltered newest page
    )


def _row(entry: AuditEntry, language: str, zone: tzinfo, owners: frozenset[int]) -> dict[str, Any]:
    details = ", ".join(f"{key}: {_plain(value)}" for key, value in entry.details.items())
    return {
        "when": moment(entry.created_at, language, zone),
        "who": entry.actor_name or (str(entry.actor_tg_id) if entry.actor_tg_id is not None else "—"),
        "owner": entry.actor_tg_id in owners,
        "action": entry.action,
        "subject": entry.subject or "",
        "details": details,
    }


def _plain(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@routes.post("/team/invite")
@requires("owner")
async def invite(request: web.Request) -> web.StreamResponse:
    """A one-time invite link for a cashier or a manager, shown on the page to pass on."""
    person = signed_in(request)
    role = str((await request.post()).get("role", ""))
    if role not in ROLES:
        raise web.HTTPBadRequest()
    me = await request.app[CONSOLE].services["telegram_bot"].me()
    link = await _staff(request).invite(person.tg_id, role, me.username or "")
    return await _page(request, invite=(role, link))


@routes.post("/team/role")
@requires("owner")
async def change_role(request: web.Request) -> web.StreamResponse:
    """Make a member a manager or a cashier (in effect at their next request or command)."""
    person = signed_in(request)
    form = await request.post()
    member, role = _member(form.get("tg_id")), str(form.get("role", ""))
    if role not in ROLES:
        raise web.HTTPBadRequest()
    changed = await _staff(request).change_role(member, role, person.tg_id)
    return redirect(request.app[CONSOLE].url(f"/team?done={'role' if changed else 'same'}"))


@routes.post("/team/revoke")
@requires("owner")
async def revoke(request: web.Request) -> web.StreamResponse:
    """Take a member's access away (and them out of the managers' group)."""
    person = signed_in(request)
    staff = _staff(request)
    revoked = await staff.revoke(_member((await request.post()).get("tg_id")), person.tg_id)
    done = ("revoked_group" if staff.manager_chat_id is not None else "revoked") if revoked else "gone"
    return redirect(request.app[CONSOLE].url(f"/team?done={done}"))


def _member(value: object) -> int:
    try:
        return parse_telegram_id(str(value or ""))
    except ParseError:
        raise web.HTTPBadRequest() from None
