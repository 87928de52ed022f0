"""The business's dates edited in the console: holidays (every year, or once) that start holiday sequences.

Owner only. One form for the whole list (a name must be used once and stay while a sequence names it);
every save goes through `flows.content_dates` → `flows.content_edits` (a new version, in effect at once).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from console import rules_forms as forms
from console.app import CONSOLE
from console.auth import requires, signed_in
from console.pages.content import PROBLEMS, editor_state, edits_of, refusal_notice, saved_notice
from console.render import render
from flows.content_dates import NUMBERS, save_dates
from flows.content_documents import Document, Problem

routes = web.RouteTableDef()

FIELDS = ("name", "title", *NUMBERS, "date")
SLOTS = 1  # empty rows offered for a new date; a row left blank is dropped


def _form_of(document: Document) -> list[dict[str, str]]:
    return [
        {key: "" if row.get(key) is None else str(row.get(key)) for key in FIELDS}
        for row in document.get("dates") or []
        if isinstance(row, dict)
    ]


def _posted_form(posted: Mapping[str, Any]) -> list[dict[str, str]]:
    rows = [{key: forms.text(posted, f"date{n}.{key}") for key in FIELDS} for n in forms.rows(posted, "date")]
    return [row for row in rows if any(value.strip() for value in row.values())]


def _page(
    request: web.Request,
    form: list[dict[str, str]],
    base: int | None,
    *,
    status: int = 200,
    notice: str | None = None,
    notice_values: dict[str, Any] | None = None,
    problems: tuple[Problem, ...] = (),
) -> web.Response:
    rows = [(f"dates[{forms.label(row['name'], i)}]", row) for i, row in enumerate(form)]
    paths = ["dates", *(p for path, _ in rows for p in (path, *(f"{path}.{key}" for key in FIELDS)))]
    errors, general = forms.place(problems, paths)
    return render(
        request,
        "content_dates.html",
        status=status,
        dates=rows + [("", dict.fromkeys(FIELDS, ""))] * SLOTS,
        **editor_state(base, errors, general, notice, notice_values),
    )


@routes.get("/content/dates")
@requires("owner")
async def dates_form(request: web.Request) -> web.StreamResponse:
    """The dates in effect, ready to change."""
    current = await edits_of(request).current()
    notice, values = saved_notice(request)
    return _page(request, _form_of(current.document), current.version, notice=notice, notice_values=values)


@routes.post("/content/dates")
@requires("owner")
async def dates_post(request: web.Request) -> web.StreamResponse:
    """Save the dates as typed; refused with each problem by its field, the typing kept."""
    posted = await request.post()
    form = _posted_form(posted)
    base = forms.base_version(posted)
    outcome = await save_dates(edits_of(request), form, signed_in(request).tg_id, base)
    if outcome.ok:
        raise web.HTTPSeeOther(request.app[CONSOLE].url(f"/content/dates?saved={outcome.version}"))
    notice = refusal_notice(outcome) if not outcome.problems else PROBLEMS
    status = 409 if outcome.stale else 200 if outcome.unchanged else 422
    return _page(request, form, base, status=status, notice=notice, problems=outcome.problems)
