"""The business's texts (what the bot says to customers: greeting, help, profile…) edited in the console.

The same shape as the FAQ editor (`console/pages/content.py`): owner only, every language side by side,
checked by the content model (placeholders a text may use, Telegram's HTML), problems by their field, a
preview as a chat shows it, and each save a version that takes effect at once. "Send to me" queues the
text as typed for the owner's own chat (`console/trying.py`), rendered by the content's own texts with
each placeholder left as `{name}` (there is no customer to fill it in for) and without the keyboard a
handler may put under it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from markupsafe import Markup

from console.app import CONSOLE
from console.auth import requires, signed_in
from console.pages.content import PROBLEMS, content_of, edits_of, refusal_notice, saved_notice, snippet
from console.render import render
from console.trying import FORM_KEY, new_form_key, send_to_me
from flows.content import TEXT_KEYS
from flows.content_documents import Problem
from flows.content_edits import with_text
from flows.messenger import Outgoing
from flows.team_text import TeamText
from flows.telegram_html import render as render_telegram

routes = web.RouteTableDef()


@routes.get("/content/texts")
@requires("owner")
async def texts_list(request: web.Request) -> web.StreamResponse:
    """Every text the bot uses, in the owner's language (or the default one where that is missing)."""
    content = content_of(request)
    language = content.pick_language(signed_in(request).language)
    t = content.texts_for(language)
    rows = [
        (key, snippet(t(key, **{name: "{" + name + "}" for name in fields}))) for key, fields in TEXT_KEYS.items()
    ]
    return render(request, "content_texts.html", rows=rows)


def _page(
    request: web.Request,
    key: str,
    values: dict[str, str],
    base: int | None,
    *,
    status: int = 200,
    notice: str | None = None,
    notice_values: dict[str, Any] | None = None,
    problems: tuple[Problem, ...] | list[Problem] = (),
) -> web.Response:
    content = content_of(request)
    fields: dict[str, list[TeamText]] = {}
    general: list[TeamText] = []
    for problem in problems:
        language = next((lang for lang in values if problem.within(f"texts.{lang}")), None)
        if language is None:
            general.append(problem.placed())
        else:
            fields.setdefault(language, []).append(problem.said)
    previews = {lang: Markup(render_telegram(text).html) for lang, text in values.items() if text.strip()}
    return render(
        request,
        "content_text_edit.html",
        status=status,
        key=key,
        values=values,
        placeholders=sorted(TEXT_KEYS[key]),
        default_language=content.business.default_language,
        base_version="" if base is None else str(base),
        fields=fields,
        general=general,
        previews=previews,
        send_key=new_form_key(),
        notice=notice,
        notice_values=notice_values or {},
    )


@routes.get("/content/texts/{key:[^/]+}")
@requires("owner")
async def text_form(request: web.Request) -> web.StreamResponse:
    key = request.match_info["key"]
    if key not in TEXT_KEYS:
        raise web.HTTPNotFound()
    current = await edits_of(request).current()
    texts = current.document.get("texts") or {}
    languages = content_of(request).business.languages
    values: dict[str, str] = {lang: str((texts.get(lang) or {}).get(key, "")) for lang in languages}
    notice, notice_values = saved_notice(request)
    return _page(request, key, values, current.version, notice=notice, notice_values=notice_values)


@routes.post("/content/texts/{key:[^/]+}")
@requires("owner")
async def text_post(request: web.Request) -> web.StreamResponse:
    """Save the text in every language, or only show its preview."""
    key = request.match_info["key"]
    if key not in TEXT_KEYS:
        raise web.HTTPNotFound()
    posted = await request.post()
    values: dict[str, str] = {
        lang: str(posted.get(f"text.{lang}", "")) for lang in content_of(request).business.languages
    }
    base_text = str(posted.get("base", ""))
    base = int(base_text) if base_text.isdecimal() else None
    if posted.get("action") == "preview":
        return _page(request, key, values, base)
    if posted.get("action") == "send":
        return await _send(request, key, values, base, str(posted.get(FORM_KEY, "")))
    outcome = await edits_of(request).save_text(key, values, signed_in(request).tg_id, base)
    if outcome.ok:
        raise web.HTTPSeeOther(request.app[CONSOLE].url(f"/content/texts/{key}?saved={outcome.version}"))
    status = 409 if outcome.stale else 422
    notice = refusal_notice(outcome) if not outcome.problems else PROBLEMS
    return _page(request, key, values, base, status=status, notice=notice, problems=outcome.problems)


async def _send(
    request: web.Request, key: str, values: dict[str, str], base: int | None, form_key: str
) -> web.Response:
    """Check the texts as a save would; if they pass, queue the one in the owner's language for their chat."""
    edits = edits_of(request)
    tried = await edits.try_document(with_text((await edits.current()).document, key, values))
    if isinstance(tried, list):
        return _page(request, key, values, base, status=422, notice=PROBLEMS, problems=tried)
    texts = tried.texts_for(tried.pick_language(signed_in(request).language))
    text = texts(key, **{name: "{" + name + "}" for name in TEXT_KEYS[key] if name != "business"})
    notice = await send_to_me(request, Outgoing(text=text), form_key)
    return _page(request, key, values, base, notice=notice)
