"""Customers: look someone up, list a segment with its audience live, open a customer's page and act on it.

Everything goes through `flows/people.py` and `flows/people_search.py` (the same flows the bot could
call): this module reads the request, calls one flow, and renders. Reading is for the whole team
(cashiers look customers up at the counter); changing — points, tags, handing to a manager — needs a
manager or the owner, checked here by `requires` and again by the flow when the change takes effect.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from console.app import CONSOLE
from console.auth import redirect, requires, signed_in
from console.customer_view import page_of
from console.render import Area, render, request_language
from flows.i18n import N_, translator
from flows.people import Invalid, NoSuchCustomer, NotAllowed, People
from flows.people_search import PeopleSearch
from flows.segments import SegmentError

routes = web.RouteTableDef()
AREA = Area("/customers", N_("Customers"), "cashier", 10)

# What went wrong with a field, in words (the flow names the field and a code).
PROBLEMS = {
    "tag_format": N_("A tag is one word of a–z, 0–9, _ and -, up to 24 characters, e.g. vip."),
    "points_format": N_(
        "Write a whole number of points, not zero, such as +50 or -20 (at most {maximum} at a time)."
    ),
    "not_enough_points": N_("The customer does not have that many points; the balance cannot go below zero."),
    "reason_missing": N_("Write the reason: the customer sees it with the change."),
    "reason_too_long": N_("At most {maximum} characters."),
    "request_format": N_("This form has expired. Reload the page and try again."),
}
# What happened, shown at the top of the customer's page after a change (`?done=`).
NOTICES = {
    "points": N_("Points corrected. The customer has been told."),
    "points_again": N_("This correction had already been made; nothing was changed twice."),
    "tag_added": N_("Tag added."),
    "tag_kept": N_("The customer already has this tag."),
    "tag_removed": N_("Tag removed."),
    "handed": N_("Handed to the managers: they have the customer's card in their chat."),
    "already": N_("A manager is already talking to this customer."),
    "unavailable": N_("No managers' chat is set up, so nobody could be handed this customer."),
}


def _people(request: web.Request) -> People:
    return request.app[CONSOLE].services["people"]  # type: ignore[no-any-return]


def _search(request: web.Request) -> PeopleSearch:
    return request.app[CONSOLE].services["people_search"]  # type: ignore[no-any-return]


def _customer_id(request: web.Request) -> int:
    raw = request.match_info["customer_id"]
    if not raw.isdecimal() or len(raw) > 12:
        raise web.HTTPNotFound
    return int(raw)


def _problem(request: web.Request, problem: Invalid) -> str:
    tr = translator(request_language(request))
    details: Mapping[str, Any] = problem.details
    return tr.gettext(PROBLEMS.get(problem.code, PROBLEMS["request_format"])).format(**details)


# ---- the list and the search box ----


@routes.get("/customers")
@requires("cashier")
async def customers(request: web.Request) -> web.StreamResponse:
    """The search box and the list filtered by a segment; both also work without script (plain GET)."""
    query = request.query.get("q", "")[:100]
    expression = request.query.get("segment", "")[:500]
    return render(
        request,
        "customers/index.html",
        q=query,
        found=await _search(request).search(query) if query.strip() else None,
        segment=expression,
        **await _listing(request, expression),
    )


@routes.get("/customers/search")
@requires("cashier")
async def search(request: web.Request) -> web.StreamResponse:
    """The search box's live results (htmx swaps them in as the person types)."""
    query = request.query.get("q", "")[:100]
    found = await _search(request).search(query) if query.strip() else None
    return render(request, "customers/results.html", q=query, found=found)


@routes.get("/customers/list")
@requires("cashier")
async def listing(request: web.Request) -> web.StreamResponse:
    """The list for a segment expression, with its count (htmx swaps it in as the filter is typed)."""
    expression = request.query.get("segment", "")[:500]
    return render(request, "customers/list.html", segment=expression, **await _listing(request, expression))


async def _listing(request: web.Request, expression: str) -> dict[str, Any]:
    before_raw = request.query.get("before", "")
    before = int(before_raw) if before_raw.isdecimal() and len(before_raw) <= 12 else None
    finder = _search(request)
    try:
        segment = finder.segment(expression)
    except SegmentError as problem:  # the parser's words in the reader's language
        said = problem.said.text(translator(request_language(request)))
        return {"segment_error": problem, "segment_problem": said}
    result = await finder.listing(segment, before)
    more = None
    if result.page.next_before is not None:
        more = "?" + urlencode({"segment": expression, "before": result.page.next_before})
    return {"count": result.count, "listed": result.page.customers, "more": more, "paged": before is not None}


# ---- one customer ----


@routes.get("/customers/{customer_id}")
@requires("cashier")
async def customer(request: web.Request) -> web.StreamResponse:
    """The customer's page: profile, standing, history, and (for managers and the owner) the actions."""
    return await _customer_page(request, _customer_id(request))


async def _customer_page(
    request: web.Request,
    customer_id: int,
    *,
    status: int = 200,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    person = signed_in(request)
    overview = await _people(request).overview(customer_id, person.tg_id)
    if overview is None:
        raise web.HTTPNotFound
    services = request.app[CONSOLE].services
    language = request_language(request)
    done = request.query.get("done", "")
    return render(
        request,
        "customers/customer.html",
        status=status,
        page=page_of(overview, services["content"], services["settings"].zone, language),
        notice=NOTICES.get(done),
        errors=errors or {},
        values=values or {},
        request_token=secrets.token_urlsafe(16),  # names this submission: a double submit lands once
    )


def _back(request: web.Request, customer_id: int, done: str) -> web.Response:
    return redirect(request.app[CONSOLE].url(f"/customers/{customer_id}?done={done}"))


@routes.post("/customers/{customer_id}/points")
@requires("manager")
async def correct_points(request: web.Request) -> web.StreamResponse:
    """A points correction with a reason; problems are shown next to their field."""
    customer_id = _customer_id(request)
    form = await request.post()
    values = {name: str(form.get(name, "")) for name in ("delta", "reason", "request")}
    try:
        result = await _people(request).correct_points(
            signed_in(request).tg_id, customer_id, values["delta"], values["reason"], values["request"]
        )
    except Invalid as problem:
        errors = {problem.field: _problem(request, problem)}
        return await _customer_page(request, customer_id, status=422, errors=errors, values=values)
    except NotAllowed:
        raise web.HTTPForbidden from None
    except NoSuchCustomer:
        raise web.HTTPNotFound from None
    return _back(request, customer_id, "points" if result.applied else "points_again")


@routes.post("/customers/{customer_id}/tags")
@requires("manager")
async def add_tag(request: web.Request) -> web.StreamResponse:
    customer_id = _customer_id(request)
    tag = str((await request.post()).get("tag", ""))
    try:
        added = await _people(request).add_tag(signed_in(request).tg_id, customer_id, tag)
    except Invalid as problem:
        errors = {"tag": _problem(request, problem)}
        return await _customer_page(request, customer_id, status=422, errors=errors, values={"tag": tag})
    except NotAllowed:
        raise web.HTTPForbidden from None
    except NoSuchCustomer:
        raise web.HTTPNotFound from None
    return _back(request, customer_id, "tag_added" if added else "tag_kept")


@routes.post("/customers/{customer_id}/tags/remove")
@requires("manager")
async def remove_tag(request: web.Request) -> web.StreamResponse:
    customer_id = _customer_id(request)
    tag = str((await request.post()).get("tag", ""))
    try:
        await _people(request).remove_tag(signed_in(request).tg_id, customer_id, tag)
    except Invalid:
        raise web.HTTPBadRequest from None  # the page's own button sends a tag it listed
    except NotAllowed:
        raise web.HTTPForbidden from None
    except NoSuchCustomer:
        raise web.HTTPNotFound from None
    return _back(request, customer_id, "tag_removed")


@routes.post("/customers/{customer_id}/handoff")
@requires("manager")
async def hand_to_manager(request: web.Request) -> web.StreamResponse:
    """Open a conversation: hand the customer to the managers, as /manager does."""
    customer_id = _customer_id(request)
    person = signed_in(request)
    try:
        outcome = await _people(request).hand_to_manager(person.tg_id, customer_id)
    except NotAllowed:
        raise web.HTTPForbidden from None
    except NoSuchCustomer:
        raise web.HTTPNotFound from None
    return _back(request, customer_id, {"opened": "handed"}.get(outcome.status, outcome.status))
