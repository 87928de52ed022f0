"""Broadcasts: the /broadcast wizard as one form, a confirmation, live progress with pause/resume/cancel,
and the list with results — for owners and managers, through the wizard's flows.

The form's checks, the audience count, the coupon stock, the schedule and the sending are all
flows/broadcast_form.py over flows/broadcasts.py (the same code the Telegram wizard runs); this module
reads the request, calls one flow and renders. Every request re-checks the role (`requires`), and every
control re-checks the broadcast's state in the flow when it takes effect (a cancelled broadcast cannot be
resumed, a finished one cannot be paused). The form carries a one-time key: sending it twice makes one
broadcast.
"""

from __future__ import annotations

import dataclasses
import secrets
from decimal import Decimal
from typing import Any

from aiohttp import web
from markupsafe import Markup

from console.app import CONSOLE
from console.auth import requires
from console.render import Area, render, request_language
from console.session import signed_in
from console.trying import UploadRefused, media_of, send_to_me, shown_media, upload_media
from flows.broadcast_form import BroadcastForm, BroadcastRequest, Invalid, Preview, Problem
from flows.broadcasts import STATE_NAMES, Broadcasts
from flows.formatting import datetime as datetime_text
from flows.formatting import duration, money, number
from flows.i18n import N_, Translator, translator
from flows.markup import Html, visible_text
from flows.parsing import shorten
from flows.team_text import TeamError
from flows.telegram_html import sanitize
from storage.broadcasts import Broadcast, Results

routes = web.RouteTableDef()
AREA = Area("/broadcasts", N_("Broadcasts"), "manager", 30)
LISTED = 30
POLL_SECONDS = 2.0  # how often the live page asks for fresh figures while the broadcast is live
CONTROLS = {
    # action → (what happened, what to say when the state did not allow it)
    "pause": (
        N_("Paused: nothing more goes out until you resume."),
        N_("Only a broadcast that is going out can be paused."),
    ),
    "resume": (N_("Resumed."), N_("Only a paused broadcast can be resumed; a cancelled or finished one cannot.")),
    "cancel": (N_("Cancelled: what had not gone out will not go out."), N_("This broadcast has already ended.")),
}


def _flows(request: web.Request) -> tuple[Broadcasts, BroadcastForm]:
    broadcasts: Broadcasts = request.app[CONSOLE].services["broadcasts"]
    return broadcasts, BroadcastForm(broadcasts, media_of(request))


def _tr(request: web.Request) -> Translator:
    return translator(request_language(request))


def _url(request: web.Request, path: str) -> str:
    return request.app[CONSOLE].url(path)


def _request_of(form: Any) -> BroadcastRequest:
    fields = {name: str(form.get(name, ""))[:20_000] for name in BroadcastRequest.__dataclass_fields__}
    return BroadcastRequest(**fields)


def _problems(tr: Translator, problems: list[Problem]) -> dict[str, dict[str, Any]]:
    """Each field's problem in the reader's language: a sentence (escaped when shown) and the parser's own
    explanation (our markup, rebuilt safe)."""
    return {
        p.field: {
            "message": tr.gettext(p.message).format(**p.values),
            "detail": Markup(sanitize(_detail(tr, p.detail))) if p.detail else None,
        }
        for p in problems
    }


def _detail(tr: Translator, detail: Html | TeamError) -> Html:
    return detail.html(tr) if isinstance(detail, TeamError) else detail


def _preview(request: web.Request, preview: Preview | None) -> dict[str, Any] | None:
    if preview is None:
        return None
    return {
        "markup": Markup(sanitize(preview.markup)),  # as a chat shows it: only its tags, all else escaped
        "photo": preview.photo or preview.video,
        "media": shown_media(request, preview.video or preview.photo),
        "media_kind": "video" if preview.video else "photo",
        "buttons": preview.buttons,
        "length": preview.length,
        "limit": preview.limit,
    }


def _state(broadcast: Broadcast) -> str:
    return "paused" if broadcast.paused and broadcast.live else broadcast.state


# ---- the list ------------------------------------------------------------------------------------------


@routes.get("/broadcasts")
@requires("manager")
async def list_page(request: web.Request) -> web.StreamResponse:
    """The latest broadcasts with their results."""
    broadcasts, _ = _flows(request)
    language = request_language(request)
    rows = [_row(broadcasts, b, r, language) for b, r in await broadcasts.results(LISTED)]
    return render(request, "broadcasts/list.html", rows=rows, days=broadcasts.attribution_days, states=STATE_NAMES)


def _row(broadcasts: Broadcasts, broadcast: Broadcast, results: Results, language: str) -> dict[str, Any]:
    when = broadcast.started_at or broadcast.send_at or broadcast.confirmed_at or broadcast.created_at
    counts = results.counts
    currency = broadcasts.content.loyalty.currency
    return {
        "id": broadcast.id,
        "state": _state(broadcast),
        "when": datetime_text(when, language, broadcasts.zone),
        "segment": broadcast.segment or "everyone",
        "text": shorten(visible_text((broadcast.message or {}).get("text") or ""), 120),
        "delivered": number(counts.delivered, language),
        "blocked": number(counts.blocked, language),
        "clicks": number(results.clicks, language),
        "leads": number(results.leads, language),
        "purchases": number(results.purchases, language),
        "revenue": money(Decimal(results.revenue_cents) / 100, currency, language),
    }


# ---- the form --------------------------------------------------------------------------------------------


@routes.get("/broadcasts/new")
@requires("manager")
async def new_form(request: web.Request) -> web.StreamResponse:
    """An empty form with its one-time key (a segment may come from the address: ?segment=…)."""
    request_ = BroadcastRequest(segment=request.query.get("segment", "")[:500], key=secrets.token_urlsafe(24))
    return await _form(request, request_, [])


async def _form(
    request: web.Request,
    values: BroadcastRequest,
    problems: list[Problem],
    status: int = 200,
    *,
    notice: str | None = None,
    upload_problem: str | None = None,
) -> web.Response:
    broadcasts, form = _flows(request)
    tr = _tr(request)
    shown_problems = _problems(tr, problems)
    if upload_problem:
        shown_problems["photo"] = {"message": upload_problem, "detail": None}
    audience = await form.audience(values.segment) if values.segment.strip() else None
    preview = form.preview(values) if values.text.strip() or values.photo.strip() else None
    return render(
        request,
        "broadcasts/form.html",
        status=status,
        values=values,
        problems=shown_problems,
        notice=notice,
        audience=_audience(tr, audience) if audience else None,
        preview=_preview(request, preview) if isinstance(preview, Preview) else None,
        coupons=await form.coupons(),
        saved=sorted(broadcasts.content.segments.saved),
        zone=str(broadcasts.zone),
        min_when=broadcasts.clock.now().astimezone(broadcasts.zone).strftime("%Y-%m-%dT%H:%M"),
    )


def _audience(tr: Translator, audience: Any) -> dict[str, Any]:
    if audience.view is None:
        return {"problem": _problems(tr, [audience.problem])["segment"]}
    view = audience.view
    return {"count": view.count, "reachable": view.reachable, "sample": view.sample, "label": view.segment.label}


@routes.get("/broadcasts/audience")
@requires("manager")
async def audience_fragment(request: web.Request) -> web.StreamResponse:
    """The live count under the segment field (htmx, as the owner types)."""
    _, form = _flows(request)
    expression = request.query.get("segment", "")[:600]
    audience = await form.audience(expression) if expression.strip() else None
    return render(
        request, "broadcasts/_audience.html", audience=_audience(_tr(request), audience) if audience else None
    )


@routes.post("/broadcasts/preview")
@requires("manager")
async def preview_fragment(request: web.Request) -> web.StreamResponse:
    """The message as Telegram will show it, or what is wrong with it (htmx, as the owner types)."""
    _, form = _flows(request)
    values = _request_of(await request.post())
    preview = form.preview(values)
    problems = _problems(_tr(request), preview.problems) if isinstance(preview, Invalid) else {}
    return render(
        request,
        "broadcasts/_preview.html",
        preview=_preview(request, preview) if isinstance(preview, Preview) else None,
        preview_problems=problems,
    )


@routes.post("/broadcasts/new")
@requires("manager")
async def submit(request: web.Request) -> web.StreamResponse:
    """Check the form: problems → the form again, each next to its field; fine → the confirmation; the
    confirmation's "Send" → the broadcast (once per form key) and its progress page."""
    broadcasts, form = _flows(request)
    posted = await request.post()
    values = _request_of(posted)
    try:
        uploaded = await upload_media(request, posted, "media_file", ("photo", "video"))
    except UploadRefused as refused:  # nothing is checked further with a file we cannot send
        return await _form(request, values, [], 422, upload_problem=refused.text(request_language(request)))
    if uploaded is not None:  # the bytes say what it is, whatever was picked
        values = dataclasses.replace(values, photo=uploaded[0], media_type=uploaded[1])
    if "send_to_me" in posted:
        return await _send_to_me(request, form, values)
    if "edit" in posted or (uploaded is not None and "confirm" in posted):
        return await _form(request, values, [])
    try:
        if "confirm" in posted:
            broadcast, _ = await form.submit(signed_in(request).tg_id, values)
            raise web.HTTPSeeOther(_url(request, f"/broadcasts/{broadcast.id}"))
        ready = await form.check(values)
    except Invalid as invalid:
        return await _form(request, values, invalid.problems, status=422)
    language = request_language(request)
    plan = ready.plan
    send_at = ready.fields["send_at"]
    return render(
        request,
        "broadcasts/confirm.html",
        values=values,
        audience=number(ready.audience, language),
        count=ready.audience,
        label=ready.segment.label,
        preview=_preview(request, ready.preview),
        coupon=next((c for c in await form.coupons() if c.key == ready.fields["coupon"]), None),
        limit=ready.fields["coupon_limit"],
        when=datetime_text(send_at, language, broadcasts.zone) if send_at else None,
        zone=str(broadcasts.zone),
        quiet=plan.quiet_until.astimezone(broadcasts.zone).strftime("%H:%M") if plan.quiet_until else None,
        minutes=duration(plan.minutes * 60, language),
    )


async def _send_to_me(request: web.Request, form: BroadcastForm, values: BroadcastRequest) -> web.Response:
    """The message as customers would get it, to the person's own chat; the form stays as it was."""
    trial = await form.trial(values)
    if isinstance(trial, Invalid):
        return await _form(request, values, trial.problems, 422)
    return await _form(request, values, [], notice=await send_to_me(request, trial, values.key))


# ---- one broadcast: progress, controls, results ------------------------------------------------------------


async def _broadcast(request: web.Request) -> Broadcast:
    broadcasts, _ = _flows(request)
    try:
        broadcast_id = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    found = await broadcasts.get(broadcast_id) if 0 < broadcast_id < 2**53 else None
    if found is None or found.state in ("draft", "discarded"):  # drafts are their author's wizard's
        raise web.HTTPNotFound()
    return found


async def _progress_context(
    request: web.Request, broadcast: Broadcast, notice: str | None = None
) -> dict[str, Any]:
    broadcasts, _ = _flows(request)
    language = request_language(request)
    progress = await broadcasts.progress(broadcast)
    results = await broadcasts.results_of(broadcast)
    counts = progress.counts
    n = lambda value: number(value, language)  # noqa: E731 — a short local formatter
    return {
        "broadcast": broadcast,
        "state": _state(broadcast),
        "states": STATE_NAMES,
        "live": broadcast.live,
        "poll": POLL_SECONDS if broadcast.live else None,
        "notice": notice,
        "send_at": datetime_text(broadcast.send_at, language, broadcasts.zone) if broadcast.send_at else None,
        "counts": {
            "delivered": n(counts.delivered),
            "blocked": n(counts.blocked),
            "failed": n(counts.failed),
            "skipped": n(counts.skipped),
            "cancelled": n(counts.cancelled),
            "remaining": n(counts.remaining),
        },
        "total": counts.total,
        "done_share": round(100 * (counts.total - counts.remaining) / counts.total) if counts.total else 0,
        "left": duration(progress.seconds_left, language) if progress.seconds_left else None,
        "held": [
            {
                "count": n(group.count),
                "quiet": group.reason == "quiet hours",
                "until": datetime_text(group.until, language, broadcasts.zone),
            }
            for group in progress.held
        ],
        "results": {
            "clicks": n(results.clicks),
            "clickers": n(results.clickers),
            "leads": n(results.leads),
            "purchases": n(results.purchases),
            "revenue": money(Decimal(results.revenue_cents) / 100, broadcasts.content.loyalty.currency, language),
            "coupons_issued": n(results.coupons_issued),
            "coupons_redeemed": n(results.coupons_redeemed),
        },
        "days": broadcasts.attribution_days,
    }


# `[^/]+` rather than digits: any id reaches the role check first; `_broadcast` answers 404 to a non-number.
@routes.get(r"/broadcasts/{id:[^/]+}")
@requires("manager")
async def broadcast_page(request: web.Request) -> web.StreamResponse:
    """One broadcast: its message, live progress (polled while it is live), controls and results."""
    broadcast = await _broadcast(request)
    message = broadcast.message or {}
    notice = None  # after a control without htmx: which one, and whether it acted (never free text)
    if request.query.get("action") in CONTROLS:
        done, refused = CONTROLS[request.query["action"]]
        said = done if request.query.get("acted") == "1" else refused
        notice = _tr(request).gettext(said)
    context = await _progress_context(request, broadcast, notice)
    return render(
        request,
        "broadcasts/broadcast.html",
        markup=Markup(sanitize(message.get("text") or "")),
        photo=message.get("photo") or message.get("video"),
        buttons=broadcast.buttons,
        segment=broadcast.segment or "everyone",
        **context,
    )


@routes.get(r"/broadcasts/{id:[^/]+}/progress")
@requires("manager")
async def progress_fragment(request: web.Request) -> web.StreamResponse:
    """The live part of the page, polled by htmx every few seconds while the broadcast is live."""
    broadcast = await _broadcast(request)
    return render(request, "broadcasts/_progress.html", **await _progress_context(request, broadcast))


@routes.post(r"/broadcasts/{id:[^/]+}/{action:pause|resume|cancel}")
@requires("manager")
async def control(request: web.Request) -> web.StreamResponse:
    """Pause, resume or cancel; the flow re-checks the state as it acts (a cancelled broadcast stays so)."""
    broadcasts, _ = _flows(request)
    broadcast = await _broadcast(request)
    action, who = request.match_info["action"], signed_in(request).tg_id
    if action == "pause":
        acted = await broadcasts.pause(broadcast.id, who)
    elif action == "resume":
        acted = await broadcasts.resume(broadcast.id, who)
    else:
        acted = await broadcasts.cancel(broadcast.id, who) is not None
    done, refused = CONTROLS[action]
    said = done if acted else refused
    notice = _tr(request).gettext(said)
    fresh = await broadcasts.get(broadcast.id)
    assert fresh is not None
    if request.headers.get("HX-Request"):
        return render(request, "broadcasts/_progress.html", **await _progress_context(request, fresh, notice))
    raise web.HTTPSeeOther(_url(request, f"/broadcasts/{broadcast.id}?action={action}&acted={int(acted)}"))
