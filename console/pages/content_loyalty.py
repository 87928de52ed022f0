"""The loyalty rules edited in the console: tiers (the rule of four), points rules and gifts on the n-th purchase.

Owner only. One form for the whole of the rules, because they are checked together (tiers in order, a gift's
coupon must exist); every save goes through `flows.content_rules` → `flows.content_edits` (the content
file's model, a new version, in effect at once). Coupon campaigns, the catalog and the currency are not
changed here.
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
from flows.content_documents import Document, Problem
from flows.content_rules import save_loyalty

routes = web.RouteTableDef()

POINTS = ("welcome_points", "birthday_points", "expire_after_days", "max_points_share")
REFERRAL = ("referrer_points", "friend_points")
TIER_NUMBERS = ("min_purchases", "min_spend", "earn_percent")
TIER_SLOTS = 1  # empty rows offered for a new tier / gift; a row left blank is dropped


def _shown(value: object) -> str:
    return "" if value is None else str(value)


def _form_of(document: Document, languages: list[str]) -> dict[str, Any]:
    """The stored rules as the form shows them."""
    loyalty = document.get("loyalty") or {}
    referral = loyalty.get("referral") or {}
    points = {key: _shown(loyalty.get(key)) for key in POINTS}
    points.update({key: _shown(referral.get(key)) for key in REFERRAL})
    points["birthday_coupon"] = _shown(loyalty.get("birthday_coupon"))
    if "loyalty" not in document or "expire_after_days" not in loyalty:
        points["expire_after_days"] = "365"  # the model's default
    tiers = [
        {
            "key": _shown(tier.get("key")),
            "title": {lang: _shown((tier.get("title") or {}).get(lang)) for lang in languages},
            "perks": {lang: _shown((tier.get("perks") or {}).get(lang)) for lang in languages},
            **{key: _shown(tier.get(key)) for key in TIER_NUMBERS},
        }
        for tier in loyalty.get("tiers") or []
        if isinstance(tier, dict)
    ]
    gifts = [
        {"on_purchase": _shown(g.get("on_purchase")), "coupon": _shown(g.get("coupon"))}
        for g in loyalty.get("gifts") or []
        if isinstance(g, dict)
    ]
    return {"points": points, "tiers": tiers, "gifts": gifts}


def _posted_form(posted: Mapping[str, Any], languages: list[str]) -> dict[str, Any]:
    """What the owner typed, rows left wholly blank dropped."""
    points = {key: forms.text(posted, key) for key in (*POINTS, *REFERRAL, "birthday_coupon")}
    tiers = []
    for n in forms.rows(posted, "tier"):
        row: dict[str, Any] = {
            "key": forms.text(posted, f"tier{n}.key").strip(),
            "title": forms.per_language(posted, f"tier{n}.title", languages),
            "perks": forms.per_language(posted, f"tier{n}.perks", languages),
            **{key: forms.text(posted, f"tier{n}.{key}") for key in TIER_NUMBERS},
        }
        typed = [row["key"], *row["title"].values(), *row["perks"].values(), *(row[k] for k in TIER_NUMBERS)]
        if any(str(value).strip() for value in typed):
            tiers.append(row)
    gifts = [
        {
            "on_purchase": forms.text(posted, f"gift{n}.on_purchase"),
            "coupon": forms.text(posted, f"gift{n}.coupon"),
        }
        for n in forms.rows(posted, "gift")
        if forms.text(posted, f"gift{n}.on_purchase").strip() or forms.text(posted, f"gift{n}.coupon").strip()
    ]
    return {"points": points, "tiers": tiers, "gifts": gifts}


def _paths(form: dict[str, Any], languages: list[str]) -> list[str]:
    """Every place a problem can be shown: the problem paths of the form's fields."""
    paths = [f"loyalty.{key}" for key in (*POINTS, "birthday_coupon")]
    paths += [f"loyalty.referral.{key}" for key in REFERRAL]
    paths += ["loyalty.tiers", "loyalty.gifts"]
    for index, tier in enumerate(form["tiers"]):
        row = f"loyalty.tiers[{forms.label(tier['key'], index)}]"
        paths += [row, f"{row}.key", f"{row}.title", f"{row}.perks"]
        paths += [f"{row}.{key}" for key in TIER_NUMBERS]
    for index in range(len(form["gifts"])):
        paths += [f"loyalty.gifts[{index + 1}].on_purchase", f"loyalty.gifts[{index + 1}].coupon"]
    return paths


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
    errors, general = forms.place(problems, _paths(form, languages))
    blank_tier = {"key": "", "title": {}, "perks": {}, **{key: "" for key in TIER_NUMBERS}}
    return render(
        request,
        "content_loyalty.html",
        status=status,
        form=form,
        tiers=[(f"loyalty.tiers[{forms.label(t['key'], i)}]", t) for i, t in enumerate(form["tiers"])]
        + [("", blank_tier)] * TIER_SLOTS,
        gifts=[(f"loyalty.gifts[{i + 1}]", g) for i, g in enumerate(form["gifts"])]
        + [("", {"on_purchase": "", "coupon": ""})] * TIER_SLOTS,
        campaign_options=[(c.key, c.key) for c in content.loyalty.coupons],
        content_languages=languages,
        default_language=content.business.default_language,
        currency=content.loyalty.currency,
        **editor_state(base, errors, general, notice, notice_values),
    )


@routes.get("/content/loyalty")
@requires("owner")
async def loyalty_form(request: web.Request) -> web.StreamResponse:
    """The rules in effect, ready to change."""
    current = await edits_of(request).current()
    languages = [str(lang) for lang in content_of(request).business.languages]
    notice, values = saved_notice(request)
    return _page(
        request, _form_of(current.document, languages), current.version, notice=notice, notice_values=values
    )


@routes.post("/content/loyalty")
@requires("owner")
async def loyalty_post(request: web.Request) -> web.StreamResponse:
    """Save the rules as typed; refused with each problem by its field, the typing kept."""
    posted = await request.post()
    languages = [str(lang) for lang in content_of(request).business.languages]
    form = _posted_form(posted, languages)
    base = forms.base_version(posted)
    outcome = await save_loyalty(
        edits_of(request), form["points"], form["tiers"], form["gifts"], signed_in(request).tg_id, base
    )
    if outcome.ok:
        raise web.HTTPSeeOther(request.app[CONSOLE].url(f"/content/loyalty?saved={outcome.version}"))
    notice = refusal_notice(outcome) if not outcome.problems else PROBLEMS
    status = 409 if outcome.stale else 200 if outcome.unchanged else 422
    return _page(request, form, base, status=status, notice=notice, problems=outcome.problems)
