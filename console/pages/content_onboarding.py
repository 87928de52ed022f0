"""The onboarding questions edited in the console: which are asked (phone, birthday, interests) and the
interests offered. Owner only; saved through `flows.content_rules` → `flows.content_edits`, in effect for
every customer who starts from then on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from console import rules_forms as forms
from console.app import CONSOLE
from console.auth import requires, signed_in
from console.pages.content import PROBLEMS, content_of, editor_state, edits_of, refusal_notice, saved_notice
from console.render import render
from flows.content_documents import Document, Problem
from flows.content_rules import save_onboarding
from flows.i18n import N_

routes = web.RouteTableDef()

STEPS = {
    "phone": N_("Phone number"),
    "birthday": N_("Birthday"),
    "interests": N_("Interests"),
}
SLOTS = 1


def _form_of(document: Document, languages: list[str]) -> dict[str, Any]:
    onboarding = document.get("onboarding") or {}
    steps = onboarding.get("steps", list(STEPS))
    interests = [
        {
            "tag": str(i.get("tag", "")),
            "title": {lang: str((i.get("title") or {}).get(lang, "")) for lang in languages},
        }
        for i in onboarding.get("interests") or []
        if isinstance(i, dict)
    ]
    return {"steps": [str(s) for s in steps or []], "interests": interests}


def _posted_form(posted: Mapping[str, Any], languages: list[str]) -> dict[str, Any]:
    # Steps keep the order they had; a newly ticked one goes at the end, as the model asks them in order.
    order = [s for s in forms.text(posted, "order").split(",") if s in STEPS]
    order += [s for s in STEPS if s not in order]
    steps = [s for s in order if posted.get(f"step.{s}")]
    interests = []
    for n in forms.rows(posted, "interest"):
        row: dict[str, Any] = {
            "tag": forms.text(posted, f"interest{n}.tag").strip(),
            "title": forms.per_language(posted, f"interest{n}.title", languages),
        }
        if row["tag"] or any(v.strip() for v in row["title"].values()):
            interests.append(row)
    return {"steps": steps, "interests": interests}


def _page(
    request: web.Request,
    form: dict[str, Any],
    base: int | None,
    *,
    status: int = 200,
    notice: str | None = None,
    notice_values: dict[str, Any] | None = None,
    problems: tuple[Problem, ...] = (),
) -> web.Response:
    content = content_of(request)
    languages = [str(lang) for lang in content.business.languages]
    rows = [(f"onboarding.interests[{forms.label(i['tag'], n)}]", i) for n, i in enumerate(form["interests"])]
    paths = ["onboarding", "onboarding.steps", "onboarding.interests"]
    paths += [p for path, _ in rows for p in (path, f"{path}.tag", f"{path}.title")]
    errors, general = forms.place(problems, paths)
    shown = form["steps"] + [s for s in STEPS if s not in form["steps"]]
    return render(
        request,
        "content_onboarding.html",
        status=status,
        steps=[(s, STEPS[s], s in form["steps"]) for s in shown],
        order=",".join(shown),
        interests=rows + [("", {"tag": "", "title": {}})] * SLOTS,
        content_languages=languages,
        **editor_state(base, errors, general, notice, notice_values),
    )


@routes.get("/content/onboarding")
@requires("owner")
async def onboarding_form(request: web.Request) -> web.StreamResponse:
    current = await edits_of(request).current()
    languages = [str(lang) for lang in content_of(request).business.languages]
    notice, values = saved_notice(request)
    return _page(
        request, _form_of(current.document, languages), current.version, notice=notice, notice_values=values
    )


@routes.post("/content/onboarding")
@requires("owner")
async def onboarding_post(request: web.Request) -> web.StreamResponse:
    """Save the questions as ticked and typed."""
    posted = await request.post()
    form = _posted_form(posted, [str(lang) for lang in content_of(request).business.languages])
    base = forms.base_version(posted)
    outcome = await save_onboarding(
        edits_of(request), form["steps"], form["interests"], signed_in(request).tg_id, base
    )
    if outcome.ok:
        raise web.HTTPSeeOther(request.app[CONSOLE].url(f"/content/onboarding?saved={outcome.version}"))
    notice = refusal_notice(outcome) if not outcome.problems else PROBLEMS
    status = 409 if outcome.stale else 200 if outcome.unchanged else 422
    return _page(request, form, base, status=status, notice=notice, problems=outcome.problems)
