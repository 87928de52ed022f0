"""The console's home: who you are, and a few live figures of the last 30 days for managers and owners."""

from __future__ import annotations

from aiohttp import web

from console.app import CONSOLE
from console.auth import requires, signed_in
from console.render import Area, render
from console.translation import N_
from flows.console_access import allows
from flows.formatting import money, number

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
    services = request.app[CONSOLE].services
    figures: list[tuple[str, str]] = []
    if allows(person.role, "manager"):
        analytics = services["analytics"]
        stats = await analytics.stats(analytics.period("30d"), charts=False)
        language = person.language
        figures = [
            (N_("Customers"), number(stats.customers_total, language)),
            (N_("New customers"), number(stats.customers_new, language)),
            (N_("Purchases"), number(stats.purchases, language)),
            (N_("Revenue"), money(stats.revenue, stats.currency, language)),
            (N_("Unanswered questions"), number(stats.unanswered, language)),
        ]
    return render(
        request,
        "home.html",
        business=services["content"].business.name,
        role_line=ROLE_LINES[person.role or "cashier"],
        figures=figures,
    )
