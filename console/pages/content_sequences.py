"""Warm-up sequences edited in the console: their steps (delay, time of day, texts, buttons, coupon), their
trigger, exits and re-entry.

Owner only. Every save goes through `flows.content_rules` → `flows.content_edits`: the content file's
model checks it, it becomes a new version and the running bot follows it at once. Customers already on a
sequence get the changed step when it falls due (see `flows.content_live` on enrollments). A step's photo
is a link, a file next to the content file, or an upload (`console/trying.py`); "Send to me" queues the
step as typed, rendered by `flows.sequences` as customers get it, for the owner's own chat. Adding,
re-keying and removing sequences and reordering their steps are in `console.pages.content_sequence_shape`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from markupsafe import Markup

from console import rules_forms as forms
from console.app import CONSOLE
from console.auth import requires, signed_in
from console.pages.content import (
    PROBLEMS,
    SAVED,
    content_of,
    editor_state,
    edits_of,
    refusal_notice,
    snippet,
)
from console.render import render, request_language
from console.trying import FORM_KEY, UploadRefused, new_form_key, send_to_me, shown_media, upload
from flows.content import Content
from flows.content.sequences import SequenceDef
from flows.content_documents import Document, Problem
from flows.content_edits import Outcome
from flows.content_rules import save_settings, save_step, step_document, try_step
from flows.i18n import N_
from flows.media import ref_id
from flows.sequences import Sequences
from flows.team_text import TeamText
from flows.telegram_html import render as render_telegram

routes = web.RouteTableDef()

EVENTS = ("start", "tag", "purchase", "inactivity", "birthday", "holiday", "manual")
BUTTON_TYPES = {
    "more": N_("tell me more (the next step at once)"),
    "interested": N_("I'm interested (tells a manager)"),
    "stop": N_("stop these messages"),
    "link": N_("opens a link"),
    "tag": N_("adds a tag"),
    "sequence": N_("starts another sequence"),
}
BUTTON_SLOTS = 1
TRIGGER_FIELDS = ("event", "tag", "category", "min_purchases", "max_purchases", "days", "holiday")
REMOVED = N_("The step was removed (version %(n)s).")
SEQUENCE_REMOVED = N_(
    "The sequence was removed (version %(n)s). Customers who were on it get none of its remaining steps; "
    "versions can bring it back."
)


def _sequence_or_404(content: Content, name: str) -> SequenceDef:
    found = content.sequence(name)
    if found is None:
        raise web.HTTPNotFound()
    return found


def stored(document: Document, name: str) -> dict[str, Any]:
    """Sequence `name` as the document holds it ({} when there is none)."""
    found = next(
        (s for s in document.get("sequences") or [] if isinstance(s, dict) and s.get("name") == name), None
    )
    return found or {}


def _shown(value: object) -> str:
    return "" if value is None else str(value)


# --- the list and one sequence's settings ---------------------------------------------------------


@routes.get("/content/sequences")
@requires("owner")
async def sequences_list(request: web.Request) -> web.StreamResponse:
    """Every sequence with what starts it and how many steps it has."""
    content = content_of(request)
    rows = [(s.name, s.title or "", s.trigger.event, len(s.steps)) for s in content.sequences]
    removed = request.query.get("removed", "")
    notice, values = (SEQUENCE_REMOVED, {"n": removed}) if removed.isdecimal() else (None, None)
    return render(request, "content_sequences.html", rows=rows, notice=notice, notice_values=values)


def settings_of(sequence: Mapping[str, Any]) -> dict[str, Any]:
    """A stored sequence's title, trigger, exits and re-entry as the form shows them."""
    trigger = sequence.get("trigger") or {}
    exit_ = sequence.get("exit") or {}
    return {
        "title": _shown(sequence.get("title")),
        "trigger": {key: _shown(trigger.get(key)) for key in TRIGGER_FIELDS},
        "on_purchase": bool(exit_.get("on_purchase", True)),
        "on_tags": ", ".join(str(t) for t in exit_.get("on_tags") or []),
        "reentry": _shown(sequence.get("reentry") or "never"),
    }


async def sequence_page(
    request: web.Request,
    name: str,
    settings: dict[str, Any],
    base: int | None,
    *,
    status: int = 200,
    notice: str | None = None,
    notice_values: dict[str, Any] | None = None,
    problems: tuple[Problem, ...] | list[Problem] = (),
    new_key: str | None = None,
) -> web.Response:
    """One sequence: its steps, its settings form (as given), and its key with the removal."""
    content = content_of(request)
    sequence = _sequence_or_404(content, name)
    prefix = f"sequences[{name}]"
    paths = [f"{prefix}.title", f"{prefix}.trigger", f"{prefix}.exit", f"{prefix}.reentry"]
    paths += [f"{prefix}.trigger.{key}" for key in TRIGGER_FIELDS] + [f"{prefix}.exit.on_tags"]
    paths.append(f"sequences[{name if new_key is None else new_key}].name")
    errors, general = forms.place(problems, paths)
    language = content.pick_language(signed_in(request).language)
    default = content.business.default_language
    steps = [
        (index, step.delay, step.at, snippet(step.text.get(language) or step.text[default]))
        for index, step in enumerate(sequence.steps, 1)
    ]
    return render(
        request,
        "content_sequence.html",
        status=status,
        name=name,
        prefix=prefix,
        settings=settings,
        steps=steps,
        events=[(event, event) for event in EVENTS],
        categories=[(c.key, c.key) for c in content.loyalty.catalog],
        holidays=[(d.name, d.name) for d in content.dates],
        enrolled=await request.app[CONSOLE].services["sequences"].enrollments.open_count(name),
        new_key=name if new_key is None else new_key,
        **editor_state(base, errors, general, notice, notice_values),
    )


@routes.get("/content/sequences/{name:[^/]+}")
@requires("owner")
async def sequence_form(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    current = await edits_of(request).current()
    notice, values = _saved_notice(request)
    settings = settings_of(stored(current.document, name))
    return await sequence_page(request, name, settings, current.version, notice=notice, notice_values=values)


@routes.post("/content/sequences/{name:[^/]+}")
@requires("owner")
async def sequence_post(request: web.Request) -> web.StreamResponse:
    """Save the trigger, exits and re-entry as typed."""
    name = request.match_info["name"]
    _sequence_or_404(content_of(request), name)
    posted = await request.post()
    title, reentry = forms.text(posted, "title"), forms.text(posted, "reentry")
    trigger = {key: forms.text(posted, f"trigger.{key}") for key in TRIGGER_FIELDS}
    exit_ = {"on_purchase": bool(posted.get("exit.on_purchase")), "on_tags": forms.text(posted, "exit.on_tags")}
    settings = {"title": title, "trigger": trigger, **exit_, "reentry": reentry}
    base = forms.base_version(posted)
    outcome = await save_settings(
        edits_of(request),
        name,
        title,
        trigger,
        exit_,
        reentry,
        signed_in(request).tg_id,
        base,
    )
    assert outcome is not None  # the sequence exists (checked above, and nothing awaits a removal here)
    if outcome.ok:
        raise web.HTTPSeeOther(request.app[CONSOLE].url(f"/content/sequences/{name}?saved={outcome.version}"))
    notice, status = _refused(outcome)
    return await sequence_page(
        request, name, settings, base, status=status, notice=notice, problems=outcome.problems
    )


def _saved_notice(request: web.Request) -> tuple[str | None, dict[str, Any] | None]:
    saved, removed = request.query.get("saved", ""), request.query.get("removed", "")
    if saved.isdecimal():
        return SAVED, {"n": saved}
    if removed.isdecimal():
        return REMOVED, {"n": removed}
    return None, None


def _refused(outcome: Outcome) -> tuple[str, int]:
    notice = refusal_notice(outcome) if not outcome.problems else PROBLEMS
    return notice, 409 if outcome.stale else 200 if outcome.unchanged else 422


# --- one step -------------------------------------------------------------------------------------


def _step_of(step: Mapping[str, Any], languages: list[str]) -> dict[str, Any]:
    buttons = [
        {
            "type": _shown(b.get("type")),
            "text": {lang: _shown((b.get("text") or {}).get(lang)) for lang in languages},
            **{key: _shown(b.get(key)) for key in ("url", "tag", "sequence")},
        }
        for b in step.get("buttons") or []
        if isinstance(b, dict)
    ]
    return {
        "delay": _shown(step.get("delay", "0s")),
        "at": _shown(step.get("at")),
        "text": {lang: _shown((step.get("text") or {}).get(lang)) for lang in languages},
        "coupon": _shown(step.get("coupon")),
        "buttons": buttons,
        "photo": _shown(step.get("photo")),
    }


def _posted_step(posted: Mapping[str, Any], languages: list[str]) -> dict[str, Any]:
    buttons = [
        {
            "type": forms.text(posted, f"button{n}.type"),
            "text": forms.per_language(posted, f"button{n}.text", languages),
            **{key: forms.text(posted, f"button{n}.{key}") for key in ("url", "tag", "sequence")},
        }
        for n in forms.rows(posted, "button")
    ]
    return {
        "delay": forms.text(posted, "delay"),
        "at": forms.text(posted, "at"),
        "text": forms.per_language(posted, "text", languages),
        "coupon": forms.text(posted, "coupon"),
        "buttons": [b for b in buttons if b["type"]],
        "photo": forms.text(posted, "photo"),
    }


def _step_index(request: web.Request, sequence: SequenceDef) -> int:
    """The step's number from 1; one past the last is a new step."""
    typed = request.match_info["n"]
    index = int(typed) if typed.isdecimal() and len(typed) < 4 else 0
    if not 1 <= index <= len(sequence.steps) + 1:
        raise web.HTTPNotFound()
    return index


async def _step_page(
    request: web.Request,
    name: str,
    index: int,
    step: dict[str, Any],
    base: int | None,
    *,
    status: int = 200,
    notice: str | None = None,
    notice_values: dict[str, Any] | None = None,
    problems: tuple[Problem, ...] | list[Problem] = (),
    upload_problem: str | None = None,
    tried: SequenceDef | None = None,
) -> web.Response:
    content = content_of(request)
    sequence = _sequence_or_404(content, name)
    languages = [str(lang) for lang in content.business.languages]
    prefix = f"sequences[{name}].steps[{index}]"
    buttons = step["buttons"] + [{"type": "", "text": {}, "url": "", "tag": "", "sequence": ""}] * BUTTON_SLOTS
    paths = [prefix, f"{prefix}.delay", f"{prefix}.at", f"{prefix}.text", f"{prefix}.coupon", f"{prefix}.buttons"]
    paths.append(f"{prefix}.photo")
    paths += [f"{prefix}.text.{lang}" for lang in languages]
    paths += [f"{prefix}.buttons[{k}]" for k in range(1, len(buttons) + 1)]
    errors, general = forms.place(problems, paths)
    if upload_problem:
        errors.setdefault(f"{prefix}.photo", []).append(TeamText.raw(upload_problem))
    previews = {lang: Markup(render_telegram(text).html) for lang, text in step["text"].items() if text.strip()}
    shown = tried.steps[index - 1].photo if tried is not None else step["photo"]
    chosen = str((await request.post()).get("preview_language", "")) if request.method == "POST" else ""
    return render(
        request,
        "content_sequence_step.html",
        status=status,
        name=name,
        index=index,
        exists=index <= len(sequence.steps),
        prefix=prefix,
        step=step,
        buttons=buttons,
        button_types=list(BUTTON_TYPES.items()),
        campaigns=[(c.key, c.key) for c in content.loyalty.coupons],
        sequences=[(s.name, s.name) for s in content.sequences],
        content_languages=languages,
        default_language=content.business.default_language,
        previews=previews,
        media=shown_media(request, shown) if ref_id(shown) is not None else None,
        preview_language=content.pick_language(chosen or signed_in(request).language),
        send_key=new_form_key(),
        **editor_state(base, errors, general, notice, notice_values),
    )


@routes.get("/content/sequences/{name:[^/]+}/steps/{n:[^/]+}")
@requires("owner")
async def step_form(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    index = _step_index(request, _sequence_or_404(content_of(request), name))
    current = await edits_of(request).current()
    steps = stored(current.document, name).get("steps") or []
    found = steps[index - 1] if index <= len(steps) and isinstance(steps[index - 1], dict) else {}
    step = _step_of(found, [str(lang) for lang in content_of(request).business.languages])
    notice, values = _saved_notice(request)
    return await _step_page(request, name, index, step, current.version, notice=notice, notice_values=values)


@routes.post("/content/sequences/{name:[^/]+}/steps/{n:[^/]+}")
@requires("owner")
async def step_post(request: web.Request) -> web.StreamResponse:
    """Save the step as typed (or remove it, or only preview its texts)."""
    name = request.match_info["name"]
    index = _step_index(request, _sequence_or_404(content_of(request), name))
    posted = await request.post()
    step = _posted_step(posted, [str(lang) for lang in content_of(request).business.languages])
    base = forms.base_version(posted)
    action = posted.get("action")
    try:
        step["photo"] = await upload(request, posted, "photo_file") or step["photo"]
    except UploadRefused as refused:  # nothing is saved or sent with a file we cannot send
        problem = refused.text(request_language(request))
        return await _step_page(
            request, name, index, step, base, status=422, notice=PROBLEMS, upload_problem=problem
        )
    made = (
        None
        if action == "remove"
        else step_document(step["delay"], step["at"], step["text"], step["coupon"], step["buttons"], step["photo"])
    )
    if action in ("preview", "send") and made is not None:
        return await _try_step(request, name, index, step, made, base, send=action == "send")
    edits = edits_of(request)
    outcome = await save_step(edits, name, index, made, signed_in(request).tg_id, base, keep_photo=False)
    if outcome is None:  # the step went away meanwhile
        raise web.HTTPNotFound()
    if outcome.ok:
        where = (
            f"/content/sequences/{name}?removed={outcome.version}"
            if made is None
            else (f"/content/sequences/{name}/steps/{index}?saved={outcome.version}")
        )
        raise web.HTTPSeeOther(request.app[CONSOLE].url(where))
    notice, status = _refused(outcome)
    return await _step_page(
        request, name, index, step, base, status=status, notice=notice, problems=outcome.problems
    )


async def _try_step(
    request: web.Request,
    name: str,
    index: int,
    step: dict[str, Any],
    made: Document,
    base: int | None,
    *,
    send: bool,
) -> web.Response:
    """Preview the step as typed; with `send`, also queue it for the owner's own chat as a customer gets it."""
    tried = await try_step(edits_of(request), name, index, made, keep_photo=False)
    if tried is None:
        raise web.HTTPNotFound()
    if isinstance(tried, list):
        return await _step_page(request, name, index, step, base, status=422, notice=PROBLEMS, problems=tried)
    notice = None
    if send:
        posted = await request.post()
        sequences: Sequences = request.app[CONSOLE].services["sequences"]
        language = content_of(request).pick_language(str(posted.get("preview_language", "")) or None)
        message = sequences.render(tried, index - 1, None, 0, language=language)
        notice = await send_to_me(request, message, str(posted.get(FORM_KEY, "")))
    return await _step_page(request, name, index, step, base, notice=notice, tried=tried)
