"""Warm-up sequences made, re-keyed and removed in the console, and their steps put in order.

Owner only. Every change goes through `flows.content_sequences` → `flows.content_edits` (the content file's
model, a new version, in effect at once). The sequence's page says how many customers are on it now and
what a removal or a new key does to them (their remaining steps stop); a sequence another sequence's
button starts is not removed or re-keyed, and the page names that button.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from console import rules_forms as forms
from console.app import CONSOLE
from console.auth import requires, signed_in
from console.pages.content import PROBLEMS, content_of, editor_state, edits_of, refusal_notice
from console.pages.content_sequences import (
    EVENTS,
    TRIGGER_FIELDS,
    sequence_page,
    settings_of,
    stored,
)
from console.render import render
from flows.content_documents import Problem
from flows.content_edits import Outcome
from flows.content_rules import step_document
from flows.content_sequences import add_sequence, move_step, rekey_sequence, remove_sequence
from flows.i18n import N_

routes = web.RouteTableDef()

NEW = "/content/sequences-new"  # not under /content/sequences/, where any segment is a sequence's key
STARTED_BY = N_("Not changed: %(places)s still start this sequence. Change or remove those buttons first.")


def _typed_settings(posted: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "title": forms.text(posted, "title"),
        "trigger": {key: forms.text(posted, f"trigger.{key}") for key in TRIGGER_FIELDS},
        "on_purchase": bool(posted.get("exit.on_purchase")),
        "on_tags": forms.text(posted, "exit.on_tags"),
        "reentry": forms.text(posted, "reentry"),
    }


def _new_page(
    request: web.Request,
    key: str,
    settings: dict[str, Any],
    step: dict[str, Any],
    base: int | None,
    *,
    status: int = 200,
    notice: str | None = None,
    problems: tuple[Problem, ...] = (),
) -> web.Response:
    content = content_of(request)
    languages = [str(lang) for lang in content.business.languages]
    prefix = f"sequences[{forms.label(key, len(content.sequences))}]"
    paths = [prefix, f"{prefix}.name", f"{prefix}.title", f"{prefix}.trigger", f"{prefix}.exit"]
    paths += [f"{prefix}.reentry", f"{prefix}.exit.on_tags"]
    paths += [f"{prefix}.trigger.{field}" for field in TRIGGER_FIELDS]
    step_prefix = f"{prefix}.steps[1]"
    paths += [f"{step_prefix}.delay", f"{step_prefix}.at", f"{step_prefix}.text"]
    paths += [f"{step_prefix}.text.{lang}" for lang in languages]
    errors, general = forms.place(problems, paths)
    return render(
        request,
        "content_sequence_new.html",
        status=status,
        key=key,
        prefix=prefix,
        step_prefix=step_prefix,
        settings=settings,
        step=step,
        events=[(event, event) for event in EVENTS],
        categories=[(c.key, c.key) for c in content.loyalty.catalog],
        holidays=[(d.name, d.name) for d in content.dates],
        content_languages=languages,
        default_language=content.business.default_language,
        **editor_state(base, errors, general, notice, None),
    )


@routes.get(NEW)
@requires("owner")
async def new_sequence_form(request: web.Request) -> web.StreamResponse:
    """An empty sequence: started by hand, stopped by a purchase, never twice, one step right away."""
    current = await edits_of(request).current()
    settings = settings_of({"trigger": {"event": "manual"}})
    step = {"delay": "0s", "at": "", "text": {}}
    return _new_page(request, "", settings, step, current.version)


@routes.post(NEW)
@requires("owner")
async def new_sequence_post(request: web.Request) -> web.StreamResponse:
    """Add the sequence as typed, with its first step; refused with each problem by its field."""
    posted = await request.post()
    languages = [str(lang) for lang in content_of(request).business.languages]
    key = forms.text(posted, "key").strip()
    settings = _typed_settings(posted)
    delay, at = forms.text(posted, "delay"), forms.text(posted, "at")
    texts = forms.per_language(posted, "text", languages)
    step = {"delay": delay, "at": at, "text": texts}
    base = forms.base_version(posted)
    exit_ = {"on_purchase": settings["on_purchase"], "on_tags": settings["on_tags"]}
    first = step_document(delay, at, texts, "", [])
    outcome = await add_sequence(
        edits_of(request),
        key,
        settings["title"],
        settings["trigger"],
        exit_,
        settings["reentry"],
        first,
        signed_in(request).tg_id,
        base,
    )
    if outcome.ok:
        raise web.HTTPSeeOther(request.app[CONSOLE].url(f"/content/sequences/{key}?saved={outcome.version}"))
    notice, status = _refused(outcome)
    return _new_page(request, key, settings, step, base, status=status, notice=notice, problems=outcome.problems)


def _refused(outcome: Outcome) -> tuple[str, int]:
    notice = refusal_notice(outcome) if not outcome.problems else PROBLEMS
    return notice, 409 if outcome.stale else 200 if outcome.unchanged else 422


@routes.post("/content/sequences/{name:[^/]+}/key")
@requires("owner")
async def key_post(request: web.Request) -> web.StreamResponse:
    """Change the sequence's key (action `rename`) or remove it (`remove`)."""
    name = request.match_info["name"]
    if content_of(request).sequence(name) is None:
        raise web.HTTPNotFound()
    posted = await request.post()
    base = forms.base_version(posted)
    edits, by = edits_of(request), signed_in(request).tg_id
    removing = posted.get("action") == "remove"
    new_key = forms.text(posted, "key").strip()
    done = await (
        remove_sequence(edits, name, by, base) if removing else rekey_sequence(edits, name, new_key, by, base)
    )
    if done is None:
        raise web.HTTPNotFound()  # removed meanwhile
    if isinstance(done, Outcome) and done.ok:
        where = f"/content/sequences?removed={done.version}" if removing else f"/content/sequences/{new_key}"
        where += "" if removing else f"?saved={done.version}"
        raise web.HTTPSeeOther(request.app[CONSOLE].url(where))
    current = await edits.current()
    settings = settings_of(stored(current.document, name))
    if isinstance(done, list):  # other sequences' buttons start it
        values = {"places": ", ".join(done)}
        return await sequence_page(
            request, name, settings, base, status=409, notice=STARTED_BY, notice_values=values, new_key=new_key
        )
    notice, status = _refused(done)
    return await sequence_page(
        request, name, settings, base, status=status, notice=notice, problems=done.problems, new_key=new_key
    )


@routes.post("/content/sequences/{name:[^/]+}/steps/{n:[^/]+}/move")
@requires("owner")
async def move_post(request: web.Request) -> web.StreamResponse:
    """Move a step one place earlier (`to=up`) or later (`to=down`)."""
    name, typed = request.match_info["name"], request.match_info["n"]
    posted = await request.post()
    direction = {"up": -1, "down": 1}.get(str(posted.get("to")))
    if direction is None or not typed.isdecimal() or len(typed) > 3:
        raise web.HTTPNotFound()
    outcome = await move_step(
        edits_of(request), name, int(typed), direction, signed_in(request).tg_id, forms.base_version(posted)
    )
    if outcome is None:
        raise web.HTTPNotFound()
    if outcome.ok:
        raise web.HTTPSeeOther(request.app[CONSOLE].url(f"/content/sequences/{name}?saved={outcome.version}"))
    current = await edits_of(request).current()
    notice, status = _refused(outcome)
    return await sequence_page(
        request,
        name,
        settings_of(stored(current.document, name)),
        forms.base_version(posted),
        status=status,
        notice=notice,
        problems=outcome.problems,
    )
