"""Coupon campaigns edited in the console: the list, one campaign's form (discount, validity, stock and
limits, who may get it, its name per language) and a new campaign.

Owner only. Every save goes through `flows.content_coupons` → `flows.content_edits` (the content file's
model, a new version, in effect at once). A campaign is removed or re-keyed only while nothing hands it
out — no sequence step, gift, birthday coupon or broadcast not over yet (`flows.content_coupons.uses`
names each); coupons already issued stay valid either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from console import rules_forms as forms
from console.app import CONSOLE
from console.auth import requires, signed_in
from console.pages.content import PROBLEMS, content_of, editor_state, edits_of, refusal_notice, saved_notice
from console.render import render
from flows.content_coupons import DATES, NUMBERS, rekey_campaign, remove_campaign, save_campaign
from flows.content_documents import Document, Problem
from flows.content_edits import Outcome
from flows.i18n import N_

routes = web.RouteTableDef()

KINDS = {"percent": N_("Percent off"), "amount": N_("Amount off"), "gift": N_("A gift")}
DEFAULTS = {"valid_days": 30, "per_customer": 1}  # the model's, shown when the content file leaves them out
NEW = "/content/coupons-new"  # not under /content/coupons/, where any key is a campaign
REMOVED = N_(
    "The campaign was removed (version %(n)s). Coupons already issued stay valid until their own date; "
    "versions can bring the campaign back."
)
IN_USE = N_("Not changed: %(places)s still hand out this campaign's coupons. Change those first.")


def _shown(value: object) -> str:
    return "" if value is None else str(value)


def _stored(document: Document, key: str) -> Mapping[str, Any] | None:
    loyalty = document.get("loyalty") or {}
    return next((c for c in loyalty.get("coupons") or [] if isinstance(c, dict) and c.get("key") == key), None)


def _form_of(campaign: Mapping[str, Any], languages: list[str]) -> dict[str, Any]:
    """A stored campaign as the form shows it."""
    tags = campaign.get("only_tags") or []
    return {
        "key": _shown(campaign.get("key")),
        "title": {lang: _shown((campaign.get("title") or {}).get(lang)) for lang in languages},
        "kind": _shown(campaign.get("kind") or "gift"),
        **{key: _shown(campaign.get(key)) for key in (*NUMBERS, *DATES)},
        **{key: _shown(campaign.get(key, default)) for key, default in DEFAULTS.items()},
        "only_tags": ", ".join(str(t) for t in tags) if isinstance(tags, list) else _shown(tags),
        "claimable": bool(campaign.get("claimable")),
    }


def _posted_form(posted: Mapping[str, Any], languages: list[str]) -> dict[str, Any]:
    return {
        "key": forms.text(posted, "key").strip(),
        "title": forms.per_language(posted, "title", languages),
        "kind": forms.text(posted, "kind"),
        **{key: forms.text(posted, key) for key in (*NUMBERS, *DATES, "only_tags")},
        "claimable": bool(posted.get("claimable")),
    }


async def _page(
    request: web.Request,
    form: dict[str, Any],
    key: str | None,
    base: int | None,
    *,
    status: int = 200,
    notice: str | None = None,
    notice_values: dict[str, Any] | None = None,
    problems: tuple[Problem, ...] = (),
    new_key: str | None = None,
) -> web.Response:
    content = content_of(request)
    issued = await request.app[CONSOLE].services["coupons"].repo.count(key) if key else 0
    row = f"loyalty.coupons[{forms.label(form['key'], len(content.loyalty.coupons) if key is None else 0)}]"
    fields = ("key", "title", "kind", *NUMBERS, *DATES, "only_tags", "claimable")
    places = ["loyalty", "loyalty.coupons", row, *(f"{row}.{f}" for f in fields)]
    places.append(f"loyalty.coupons[{new_key if new_key is not None else key}].key")  # the new key's field
    errors, general = forms.place(problems, places)
    return render(
        request,
        "content_coupon.html",
        status=status,
        form=form,
        key=key,
        row=row,
        kinds=KINDS,
        content_languages=[str(lang) for lang in content.business.languages],
        currency=content.loyalty.currency,
        issued=issued,
        new_key=key if new_key is None else new_key,
        **editor_state(base, errors, general, notice, notice_values),
    )


@routes.get("/content/coupons")
@requires("owner")
async def coupon_list(request: web.Request) -> web.StreamResponse:
    """The campaigns in effect, each with what it gives and its limits."""
    content = content_of(request)
    removed = request.query.get("removed", "")
    notice, values = (REMOVED, {"n": removed}) if removed.isdecimal() else (None, None)
    return render(
        request,
        "content_coupons.html",
        notice=notice,
        notice_values=values,
        campaigns=content.loyalty.coupons,
        kinds=KINDS,
        language=content.business.default_language,
        currency=content.loyalty.currency,
    )


@routes.get("/content/coupons/{key:[^/]+}")
@requires("owner")
async def coupon_form(request: web.Request) -> web.StreamResponse:
    """One campaign as stored, ready to change."""
    current = await edits_of(request).current()
    key = request.match_info["key"]
    campaign = _stored(current.document, key)
    if campaign is None:
        raise web.HTTPNotFound()
    languages = [str(lang) for lang in content_of(request).business.languages]
    notice, values = saved_notice(request)
    return await _page(
        request, _form_of(campaign, languages), key, current.version, notice=notice, notice_values=values
    )


@routes.get(NEW)
@requires("owner")
async def new_coupon_form(request: web.Request) -> web.StreamResponse:
    """An empty campaign: a gift valid 30 days, one per customer."""
    current = await edits_of(request).current()
    languages = [str(lang) for lang in content_of(request).business.languages]
    blank = _form_of({"kind": "gift"}, languages)
    return await _page(request, blank, None, current.version)


@routes.post("/content/coupons/{key:[^/]+}")
@requires("owner")
async def coupon_post(request: web.Request) -> web.StreamResponse:
    """Save one campaign as typed; refused with each problem by its field, the typing kept."""
    return await _save(request, request.match_info["key"])


@routes.post(NEW)
@requires("owner")
async def new_coupon_post(request: web.Request) -> web.StreamResponse:
    """Add a campaign as typed."""
    return await _save(request, None)


async def _save(request: web.Request, key: str | None) -> web.StreamResponse:
    posted = await request.post()
    languages = [str(lang) for lang in content_of(request).business.languages]
    form = _posted_form(posted, languages)
    if key is not None:
        form["key"] = key
    base = forms.base_version(posted)
    outcome = await save_campaign(edits_of(request), key, form, signed_in(request).tg_id, base)
    if outcome is None:
        raise web.HTTPNotFound()
    if outcome.ok:
        url = f"/content/coupons/{form['key']}?saved={outcome.version}"
        raise web.HTTPSeeOther(request.app[CONSOLE].url(url))
    notice = refusal_notice(outcome) if not outcome.problems else PROBLEMS
    status = 409 if outcome.stale else 200 if outcome.unchanged else 422
    return await _page(request, form, key, base, status=status, notice=notice, problems=outcome.problems)


@routes.post("/content/coupons/{key:[^/]+}/key")
@requires("owner")
async def key_post(request: web.Request) -> web.StreamResponse:
    """Change the campaign's key (action `rename`) or remove it (`remove`) — refused, naming where, while a
    sequence step, a gift, the birthday coupon or a broadcast not over yet hands it out."""
    key = request.match_info["key"]
    if content_of(request).loyalty.campaign(key) is None:
        raise web.HTTPNotFound()
    posted = await request.post()
    base = forms.base_version(posted)
    services = request.app[CONSOLE].services
    edits, broadcasts, by = edits_of(request), services["broadcasts"].repo, signed_in(request).tg_id
    removing = posted.get("action") == "remove"
    new_key = forms.text(posted, "new_key").strip()
    done = await (
        remove_campaign(edits, broadcasts, key, by, base)
        if removing
        else rekey_campaign(edits, broadcasts, key, new_key, by, base)
    )
    if done is None:
        raise web.HTTPNotFound()  # removed meanwhile
    if isinstance(done, Outcome) and done.ok:
        where = f"/content/coupons?removed={done.version}" if removing else f"/content/coupons/{new_key}"
        raise web.HTTPSeeOther(request.app[CONSOLE].url(where + ("" if removing else f"?saved={done.version}")))
    current = await edits.current()
    campaign = _stored(current.document, key) or {}
    form = _form_of(campaign, [str(lang) for lang in content_of(request).business.languages])
    if isinstance(done, list):
        values = {"places": ", ".join(done)}
        return await _page(
            request, form, key, base, status=409, notice=IN_USE, notice_values=values, new_key=new_key
        )
    notice = refusal_notice(done) if not done.problems else PROBLEMS
    status = 409 if done.stale else 200 if done.unchanged else 422
    return await _page(
        request, form, key, base, status=status, notice=notice, problems=done.problems, new_key=new_key
    )
