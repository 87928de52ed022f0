"""The business's currency and catalogue edited in the console: the categories a cashier picks for a sale
(and sequences and segments name), and the currency every amount is shown in.

Owner only. One form, since the two are checked together with the rest of the content; every save goes
through `flows.content_catalog` → `flows.content_edits` (the content file's model, a new version, in effect
at once). The preview shows an amount in the chosen currency as each language writes it, and the category
buttons a cashier gets after typing a sale's amount.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from aiohttp import web
from babel.numbers import is_currency

from console import rules_forms as forms
from console.app import CONSOLE
from console.auth import requires, signed_in
from console.pages.content import PROBLEMS, content_of, editor_state, edits_of, refusal_notice, saved_notice
from console.render import Area, render
from flows.content_catalog import save_catalog
from flows.content_documents import Document, Problem
from flows.formatting import money
from flows.i18n import N_

routes = web.RouteTableDef()
AREA = Area("/content/catalog", N_("Catalogue"), "owner", 42)

SLOTS = 1  # empty rows offered for a new category; a row left blank is dropped
SAMPLE = Decimal("1250.50")  # the amount the preview writes in the chosen currency
IN_USE = N_("Not saved: %(places)s start on purchases in a category you took out. Change those triggers first.")


def _form_of(document: Document, languages: list[str]) -> dict[str, Any]:
    loyalty = document.get("loyalty") or {}
    rows = [
        {
            "key": str(entry.get("key") or ""),
            "title": {lang: str((entry.get("title") or {}).get(lang) or "") for lang in languages},
        }
        for entry in loyalty.get("catalog") or []
        if isinstance(entry, dict)
    ]
    return {"currency": str(loyalty.get("currency") or "UAH"), "rows": rows}  # UAH: the model's default


def _posted_form(posted: Mapping[str, Any], languages: list[str]) -> dict[str, Any]:
    rows = []
    for n in forms.rows(posted, "cat"):
        key = forms.text(posted, f"cat{n}.key").strip()
        title = forms.per_language(posted, f"cat{n}.title", languages)
        if key or any(text.strip() for text in title.values()):
            rows.append({"key": key, "title": title})
    return {"currency": forms.text(posted, "currency"), "rows": rows}


def _preview(form: dict[str, Any], languages: list[str], default: str) -> dict[str, Any]:
    """An amount in the typed currency per language, and the cashier's category buttons."""
    currency = form["currency"].strip().upper()
    amounts = {lang: money(SAMPLE, currency, lang) for lang in languages} if is_currency(currency) else {}
    buttons = [row["title"].get(default) or row["key"] for row in form["rows"]]
    return {"amounts": amounts, "buttons": buttons}


async def _page(
    request: web.Request,
    form: dict[str, Any],
    base: int | None,
    *,
    status: int = 200,
    notice: str | None = None,
    notice_values: Mapping[str, Any] | None = None,
    problems: tuple[Problem, ...] = (),
) -> web.Response:
    content = content_of(request)
    languages = [str(lang) for lang in content.business.languages]
    labels = [f"loyalty.catalog[{forms.label(row['key'], i)}]" for i, row in enumerate(form["rows"])]
    paths = ["loyalty.currency", "loyalty.catalog", *labels]
    paths += [f"{label}.{field}" for label in labels for field in ("key", "title")]
    errors, general = forms.place(problems, paths)
    blank = {"key": "", "title": {}}
    return render(
        request,
        "content_catalog.html",
        status=status,
        form=form,
        rows=list(zip(labels, form["rows"], strict=True)) + [("", blank)] * SLOTS,
        preview=_preview(form, languages, content.business.default_language),
        content_languages=languages,
        default_language=content.business.default_language,
        **editor_state(base, errors, general, notice, notice_values),
    )


@routes.get("/content/catalog")
@requires("owner")
async def catalog_form(request: web.Request) -> web.StreamResponse:
    """The currency and categories in effect, ready to change."""
    current = await edits_of(request).current()
    languages = [str(lang) for lang in content_of(request).business.languages]
    notice, values = saved_notice(request)
    form = _form_of(current.document, languages)
    return await _page(request, form, current.version, notice=notice, notice_values=values)


@routes.post("/content/catalog")
@requires("owner")
async def catalog_post(request: web.Request) -> web.StreamResponse:
    """Save as typed (or only preview); refused with each problem by its field, the typing kept."""
    posted = await request.post()
    languages = [str(lang) for lang in content_of(request).business.languages]
    form = _posted_form(posted, languages)
    base = forms.base_version(posted)
    if posted.get("action") == "preview":
        return await _page(request, form, base)
    done = await save_catalog(edits_of(request), form["currency"], form["rows"], signed_in(request).tg_id, base)
    if isinstance(done, list):
        return await _page(
            request, form, base, status=409, notice=IN_USE, notice_values={"places": ", ".join(done)}
        )
    if done.ok:
        raise web.HTTPSeeOther(request.app[CONSOLE].url(f"/content/catalog?saved={done.version}"))
    notice = refusal_notice(done) if not done.problems else PROBLEMS
    status = 409 if done.stale else 200 if done.unchanged else 422
    return await _page(request, form, base, status=status, notice=notice, problems=done.problems)
