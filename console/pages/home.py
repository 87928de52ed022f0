"""The console's home: who you are, and a few live figures of the last 30 days for managers and owners.

The page itself renders at once; the figures (a few aggregate queries, tens of milliseconds at 100,000
customers) arrive right after through htmx, so the first render stays fast however big the business is.
"""

from __future__ import annotations

from aiohttp import web

from console.app import CONSOLE
from console.auth import requires, signed_in
from console.render import Area, render
from flows.console_access import allows
from flows.console_home import glance
from flows.formatting import money, number
from flows.i18n import N_

routes = web.RouteTableDef()
AREA = Area("/", N_("Home"), "cashier", 0)

ROLE_LINES = {
    "owner": N_("You are signed in as the owner."),
    "manager": N_("You are signed in as a manager."),
    "cashier": N_("You are signed in as a cashier."),
}


@routes.get("/")
@requires("cashier")
async def home(request: web.Request) -> web.StreamResponse:
    person = signed_in(request)
    return render(
        request,
        "home.html",
        business=request.app[CONSOLE].services["content"].business.name,
        role_line=ROLE_LINES[person.role or "cashier"],
        figures=allows(person.role, "manager"),
    )


@routes.get("/home/figures")
@requires("manager")
async def figures(request: web.Request) -> web.StreamResponse:
    """The last 30 days at a glance: the same queries and definitions as /stats."""
    language = signed_in(request).language
    analytics = request.app[CONSOLE].services["analytics"]
    seen = await glance(analytics, analytics.period("30d"))
    rows = [
        (N_("Customers"), number(seen.customers_total, language)),
        (N_("New customers"), number(seen.customers_new, language)),
        (N_("Purchases"), number(seen.purchases, language)),
        (N_("Revenue"), money(seen.revenue, seen.currency, language)),
        (N_("Unanswered questions"), number(seen.unanswered, language)),
    ]
    fragment = request.headers.get("HX-Request") is not None
    return render(request, "home_figures.html" if fragment else "home_figures_page.html", rows=rows)
