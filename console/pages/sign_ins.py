"""Who is signed in to the console (owners): each session with how and since when; end any of them."""

from __future__ import annotations

from aiohttp import web

from console.app import CONSOLE
from console.auth import redirect, requires, signed_in
from console.render import Area, render
from flows.formatting import moment
from flows.i18n import N_

routes = web.RouteTableDef()
AREA = Area("/sign-ins", N_("Sign-ins"), "owner", 90)
VIA = {"link": N_("link from /console"), "mini_app": N_("Telegram")}
ROLE_NAMES = {"owner": N_("Owner"), "manager": N_("Manager"), "cashier": N_("Cashier")}


@routes.get("/sign-ins")
@requires("owner")
async def sign_ins(request: web.Request) -> web.StreamResponse:
    person = signed_in(request)
    console = request.app[CONSOLE]
    services = console.services
    zone = services["settings"].zone
    names = {member.tg_id: member.name for member in await services["staff"].members()}
    rows = [
        {
            "session": open_session.token_hash,
            "who": names.get(open_session.tg_id) or str(open_session.tg_id),
            "role": ROLE_NAMES.get(await services["staff"].current_role(open_session.tg_id) or "", "—"),
            "via": VIA.get(open_session.via, open_session.via),
            "since": moment(open_session.created_at, person.language, zone),
            "yours": open_session.token_hash == person.session,
        }
        for open_session in await console.access.open_sessions()
    ]
    return render(request, "sign_ins.html", rows=rows)


@routes.post("/sign-ins/end")
@requires("owner")
async def end(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE]
    session = str((await request.post()).get("session", ""))
    await console.access.end_session(session, by=signed_in(request).tg_id)
    if request.headers.get("HX-Request"):  # htmx replaces the session's row with nothing
        return web.Response(text="", content_type="text/html")
    return redirect(console.url("/sign-ins"))
