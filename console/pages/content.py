"""Content without YAML: the FAQ's entries edited in the console, their preview, versions and import/export.

Owner-only: the content is the business's rules and words, and a save changes what every customer gets
at once. Every page calls `flows.content_edits` (the same validated model as the content file); a save
takes effect without a restart (`flows.content_live`). "Send to me" renders the answer exactly as the
bot's FAQ handler does (`flows.faq_answer.answer_message`) and queues it in the outbox for the owner's own
chat (`console/trying.py`); the answer's photo may be uploaded in the same form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from markupsafe import Markup

from console.app import CONSOLE
from console.auth import requires, signed_in
from console.render import Area, render, request_language
from console.trying import FORM_KEY, UploadRefused, new_form_key, send_to_me, shown_media, upload
from flows.content import Content, FaqEntry
from flows.content_documents import Document, Problem
from flows.content_edits import ContentEdits, Outcome, faq_entry_document
from flows.content_summaries import shown as shown_summary
from flows.content_summaries import summary
from flows.faq_answer import FaqButtons, answer_message
from flows.formatting import moment
from flows.i18n import N_
from flows.markup import visible_text
from flows.messenger import Outgoing
from flows.team_text import TeamText
from flows.telegram_html import render as render_telegram

routes = web.RouteTableDef()
AREA = Area("/content/faq", N_("FAQ"), "owner", 40)

BUTTON_TYPES = ("link", "manager", "faq")
MAX_BUTTON_ROWS = 20  # what a form may post; Telegram shows far fewer buttons under a message anyway
BUTTON_SLOTS = 1  # empty button rows offered under the entry's own (a row left without a type is dropped)
_ENTRY_ID = re.compile(r"^[a-z0-9_-]{1,32}$")
_MISSING_IN = re.compile(r"^the ([a-z]{2}) text is missing")  # flows.content.completeness's wording
_FIELD_KEYS = ("photo",)
# Path parameters take any segment (`[^/]+`), checked inside the handler: the role guard answers first,
# so a person without the role learns nothing from a 404 (and every route's guard can be tested).

SAVED = N_("Saved as version %(n)s. Customers get it from now on.")
STALE = N_(
    "Someone saved the content after you opened this page. Your changes are below: open the page again to see theirs, then redo yours."
)
UNCHANGED = N_("Nothing changed: nothing was saved.")
PROBLEMS = N_("Not saved: fix what is marked below.")
REVERTED = N_("Version %(n)s brought back as version %(m)s.")
IMPORTED = N_("Imported as version %(n)s.")
REMOVED = N_("The entry was removed (version %(n)s). Versions can bring it back.")
NO_FILE = N_("Choose a YAML file to import.")
NOT_TEXT = N_("The file is not UTF-8 text.")


def saved_notice(request: web.Request) -> tuple[str | None, dict[str, Any] | None]:
    """The "saved as version N" notice, when a save redirected back to its form (`?saved=N`)."""
    saved = request.query.get("saved", "")
    return (SAVED, {"n": saved}) if saved.isdecimal() else (None, None)


def editor_state(
    base: int | None,
    errors: Mapping[str, Any],
    general: Any,
    notice: str | None,
    notice_values: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """What every editor's template gets besides its fields: the version the form was opened on (a save
    on top of a newer one is refused), the problems, and the notice above the form."""
    base_version = "" if base is None else str(base)
    values = notice_values or {}
    return {
        "base_version": base_version,
        "errors": errors,
        "general": general,
        "notice": notice,
        "notice_values": values,
    }


def edits_of(request: web.Request) -> ContentEdits:
    edits: ContentEdits = request.app[CONSOLE].services["content_edits"]
    return edits


def content_of(request: web.Request) -> Content:
    content: Content = request.app[CONSOLE].services["live_content"].current
    return content


# --- the FAQ list ---------------------------------------------------------------------------------


@routes.get("/content/faq")
@requires("owner")
async def faq_list(request: web.Request) -> web.StreamResponse:
    """Every entry of the FAQ with its label and the start of its answer."""
    content = content_of(request)
    language = content.pick_language(signed_in(request).language)
    default = content.business.default_language
    entries = [
        (entry.id, entry.label(language, default), snippet(entry.answer.get(language) or entry.answer[default]))
        for entry in content.faq
    ]
    new_id = request.query.get("new", "")
    problem = (
        N_("Use 1–32 small Latin letters, digits, - or _.") if new_id and not _ENTRY_ID.match(new_id) else None
    )
    if new_id and problem is None:
        raise web.HTTPSeeOther(request.app[CONSOLE].url(f"/content/faq/{new_id}"))
    removed = request.query.get("removed", "")
    notice, values = (REMOVED, {"n": removed}) if removed.isdecimal() else (None, None)
    return render(
        request,
        "content_faq_list.html",
        entries=entries,
        new_id=new_id,
        new_problem=problem,
        notice=notice,
        notice_values=values,
    )


def snippet(markup: str, limit: int = 90) -> str:
    text = " ".join(visible_text(markup).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- one entry ------------------------------------------------------------------------------------


@dataclass
class EntryForm:
    """What the edit form shows: the entry's texts per language and its buttons, as typed."""

    title: dict[str, str] = field(default_factory=dict)
    questions: dict[str, str] = field(default_factory=dict)
    answer: dict[str, str] = field(default_factory=dict)
    buttons: list[dict[str, Any]] = field(default_factory=list)
    photo: str = ""

    @classmethod
    def of(cls, entry: Mapping[str, Any] | None) -> EntryForm:
        """The form for a stored entry (its document, as the content file writes it)."""
        if entry is None:
            return cls()
        return cls(
            title=dict(entry.get("title") or {}),
            questions={lang: "\n".join(items) for lang, items in (entry.get("questions") or {}).items()},
            answer=dict(entry.get("answer") or {}),
            buttons=[dict(button) for button in entry.get("buttons") or []],
            photo=str(entry.get("photo") or ""),
        )

    @classmethod
    def posted(cls, form: Mapping[str, Any], languages: list[str]) -> EntryForm:
        def texts(name: str) -> dict[str, str]:
            return {lang: str(form.get(f"{name}.{lang}", "")) for lang in languages}

        buttons = []
        rows = str(form.get("button_rows", ""))
        for index in range(min(int(rows), MAX_BUTTON_ROWS) if rows.isdecimal() and len(rows) < 4 else 0):
            kind = str(form.get(f"button{index}.type", ""))
            if kind not in BUTTON_TYPES:
                continue  # "no button": the row is dropped
            buttons.append(
                {
                    "type": kind,
                    "text": texts(f"button{index}.text"),
                    "url": str(form.get(f"button{index}.url", "")),
                    "faq": str(form.get(f"button{index}.faq", "")),
                }
            )
        return cls(texts("title"), texts("questions"), texts("answer"), buttons, str(form.get("photo", "")))

    def document(self) -> Document:
        return faq_entry_document(self.title, self.questions, self.answer, self.buttons, self.photo or None)


def _stored_entry(document: Document, entry_id: str) -> Mapping[str, Any] | None:
    return next((e for e in document.get("faq") or [] if isinstance(e, dict) and e.get("id") == entry_id), None)


def _by_field(
    problems: list[Problem] | tuple[Problem, ...], entry_id: str
) -> tuple[dict[str, list[TeamText]], list[TeamText]]:
    """Problems next to the field they are about (`answer.en`, `buttons[2]`); the rest for the top."""
    prefix = f"faq[{entry_id}]"
    fields: dict[str, list[TeamText]] = {}
    general: list[TeamText] = []
    for problem in problems:
        if not problem.within(prefix) or problem.path == prefix:
            general.append(problem.placed())
            continue
        key = problem.path[len(prefix) :].lstrip(".")
        key = re.sub(r"^buttons\[(\d+)\].*$", r"buttons[\1]", key)  # a button's problems sit by its row
        key = re.sub(r"^(title|answer|questions)\.([a-z]{2}).*$", r"\1.\2", key)
        missing = _MISSING_IN.match(problem.message)
        if key in ("title", "answer", "questions") and missing:  # a language's text is missing
            key = f"{key}.{missing.group(1)}"
        if (
            key in _FIELD_KEYS
            or key.startswith("buttons[")
            or re.fullmatch(r"(title|answer|questions)\.\w\w", key)
        ):
            fields.setdefault(key, []).append(problem.said)
        else:  # about the entry as a whole (its id, its photo): above the form
            general.append(Problem(key, problem.said).placed())
    return fields, general


async def _entry_page(
    request: web.Request,
    entry_id: str,
    form: EntryForm,
    *,
    base: int | None,
    status: int = 200,
    notice: str | None = None,
    notice_values: Mapping[str, Any] | None = None,
    problems: list[Problem] | tuple[Problem, ...] = (),
    preview: FaqEntry | None = None,
    upload_problem: str | None = None,
) -> web.Response:
    content = content_of(request)
    languages = list(content.business.languages)
    person = signed_in(request)
    chosen = (await request.post()).get("preview_language") if request.method == "POST" else None
    preview_language = content.pick_language(str(chosen or person.language))
    fields, general = _by_field(problems, entry_id)
    if upload_problem:
        fields.setdefault("photo", []).append(TeamText.raw(upload_problem))
    shown = preview or content.faq_entry(entry_id)
    previews = _previews(request, shown, content) if shown is not None else {}
    buttons = form.buttons + [{"type": "", "text": {}, "url": "", "faq": ""}] * BUTTON_SLOTS
    return render(
        request,
        "content_faq_edit.html",
        status=status,
        entry_id=entry_id,
        exists=content.faq_entry(entry_id) is not None,
        form=form,
        buttons=buttons,
        button_types=BUTTON_TYPES,
        other_entries=[e.id for e in content.faq if e.id != entry_id],
        content_languages=languages,
        default_language=content.business.default_language,
        base_version="" if base is None else str(base),
        notice=notice,
        notice_values=notice_values or {},
        fields=fields,
        general=general,
        previews=previews,
        preview_language=preview_language,
        send_key=new_form_key(),
    )


def faq_buttons(request: web.Request) -> FaqButtons:
    buttons: FaqButtons = request.app[CONSOLE].services["faq_buttons"]  # packed as the bot's handlers do
    return buttons


def _previews(request: web.Request, entry: FaqEntry, content: Content) -> dict[str, dict[str, Any]]:
    """The answer in each language as a chat shows it: formatted text (safe HTML) and button labels."""
    default = content.business.default_language
    shown: dict[str, dict[str, Any]] = {}
    for language in content.business.languages:
        message = answer_message(entry, content.texts_for(language), default, faq_buttons(request))
        shown[language] = {
            "html": Markup(render_telegram(message.text).html),  # every text escaped, only chat tags kept
            "buttons": [button.text for row in message.buttons for button in row],
            "media": shown_media(request, message.photo),
        }
    return shown


@routes.get("/content/faq/{entry_id:[^/]+}")
@requires("owner")
async def faq_entry(request: web.Request) -> web.StreamResponse:
    """The form for one entry (a new one when the id is not in the FAQ yet)."""
    entry_id = request.match_info["entry_id"]
    if not _ENTRY_ID.match(entry_id):
        raise web.HTTPNotFound()
    current = await edits_of(request).current()
    form = EntryForm.of(_stored_entry(current.document, entry_id))
    notice, values = saved_notice(request)
    return await _entry_page(request, entry_id, form, base=current.version, notice=notice, notice_values=values)


@routes.post("/content/faq/{entry_id:[^/]+}")
@requires("owner")
async def faq_entry_post(request: web.Request) -> web.StreamResponse:
    """Save the entry, preview it unsaved, or send that preview to the owner in the bot."""
    entry_id = request.match_info["entry_id"]
    if not _ENTRY_ID.match(entry_id):
        raise web.HTTPNotFound()
    posted = await request.post()
    content = content_of(request)
    form = EntryForm.posted(posted, list(content.business.languages))
    base_text = str(posted.get("base", ""))
    base = int(base_text) if base_text.isdecimal() else None
    action = str(posted.get("action", "save"))
    edits = edits_of(request)
    try:
        form.photo = await upload(request, posted, "photo_file") or form.photo
    except UploadRefused as refused:  # nothing is saved or sent with a file we cannot send
        problem = refused.text(request_language(request))
        return await _entry_page(
            request, entry_id, form, base=base, status=422, notice=PROBLEMS, upload_problem=problem
        )
    if action in ("preview", "send"):
        tried = await edits.try_faq_entry(entry_id, form.document())
        if isinstance(tried, list):
            return await _entry_page(
                request, entry_id, form, base=base, status=422, notice=PROBLEMS, problems=tried
            )
        notice = None
        if action == "send":
            notice = await send_to_me(
                request, await _owner_copy(request, tried, content), str(posted.get(FORM_KEY, ""))
            )
        return await _entry_page(request, entry_id, form, base=base, notice=notice, preview=tried)
    person = signed_in(request)
    if action == "remove":
        outcome = await edits.remove_faq_entry(entry_id, person.tg_id, base)
        if outcome.ok:
            raise web.HTTPSeeOther(request.app[CONSOLE].url(f"/content/faq?removed={outcome.version}"))
    else:
        outcome = await edits.save_faq_entry(entry_id, form.document(), person.tg_id, base)
    if outcome.ok:
        raise web.HTTPSeeOther(request.app[CONSOLE].url(f"/content/faq/{entry_id}?saved={outcome.version}"))
    notice = refusal_notice(outcome)
    return await _entry_page(
        request,
        entry_id,
        form,
        base=base,
        status=409 if outcome.stale else 422,
        notice=notice,
        problems=outcome.problems,
    )


def refusal_notice(outcome: Outcome) -> str:
    if outcome.stale:
        return STALE
    return UNCHANGED if outcome.unchanged else PROBLEMS


async def _owner_copy(request: web.Request, entry: FaqEntry, content: Content) -> Outgoing:
    """The answer in the language chosen for the preview, as a customer would get it."""
    person = signed_in(request)
    language = content.pick_language(str((await request.post()).get("preview_language", "")) or person.language)
    texts = content.texts_for(language)
    return answer_message(entry, texts, content.business.default_language, faq_buttons(request))


# --- versions ---------------------------------------------------------------------------------------


@routes.get("/content/versions")
@requires("owner")
async def versions(request: web.Request) -> web.StreamResponse:
    """Who changed the content when, newest first, each with what it changed."""
    edits = edits_of(request)
    person = signed_in(request)
    zone = request.app[CONSOLE].services["settings"].zone
    listed = await edits.versions(limit=50)
    rows = [
        {
            "version": version,
            "when": moment(version.created_at, person.language, zone),
            "summary": shown_summary(version.summary),  # in the owner's language where it is one of ours
            "keys": version.changed[:8],
            "more": max(0, len(version.changed) - 8),
            "current": index == 0,
        }
        for index, version in enumerate(listed)
    ]
    notice_values = {"n": request.query.get("from", ""), "m": request.query.get("to", "")}
    notice = REVERTED if notice_values["m"].isdecimal() else STALE if "stale" in request.query else None
    return render(
        request,
        "content_versions.html",
        rows=rows,
        current=listed[0].id if listed else "",
        names=await _names(request, {v.created_by for v in listed if v.created_by}),
        notice=notice,
        notice_values=notice_values,
    )


async def _names(request: web.Request, tg_ids: set[int]) -> dict[int, str]:
    """Who saved: their name as the bot knows them, else their Telegram id."""
    customers = request.app[CONSOLE].services["customers"].repo
    names = {}
    for tg_id in tg_ids:
        person = await customers.by_tg_id(tg_id)
        names[tg_id] = (person.first_name if person else None) or str(tg_id)
    return names


@routes.get("/content/versions/{version_id:[^/]+}")
@requires("owner")
async def version_diff(request: web.Request) -> web.StreamResponse:
    """What one version changed against the one before it, line by line."""
    version_id = _version_id(request)
    diff = await edits_of(request).diff(version_id)
    if diff is None:
        raise web.HTTPNotFound()
    latest = await edits_of(request).versions(limit=1)
    return render(
        request,
        "content_version.html",
        version_id=version_id,
        diff=diff,
        current=latest[0].id if latest else None,
    )


@routes.post("/content/versions/{version_id:[^/]+}/revert")
@requires("owner")
async def revert(request: web.Request) -> web.StreamResponse:
    """Make an earlier version current again (a new version; nothing is lost)."""
    version_id = _version_id(request)
    posted = await request.post()
    base_text = str(posted.get("base", ""))
    base = int(base_text) if base_text.isdecimal() else None
    outcome = await edits_of(request).revert(version_id, signed_in(request).tg_id, base)
    if outcome.ok:
        raise web.HTTPSeeOther(
            request.app[CONSOLE].url(f"/content/versions?from={version_id}&to={outcome.version}")
        )
    if outcome.problems:  # an old version the model no longer accepts (e.g. its photo file is gone)
        return render(request, "content_import.html", status=422, problems=outcome.problems, notice=PROBLEMS)
    query = "?stale=1" if outcome.stale else ""  # unchanged: it is the current content already
    raise web.HTTPSeeOther(request.app[CONSOLE].url(f"/content/versions{query}"))


def _version_id(request: web.Request) -> int:
    text = request.match_info["version_id"]
    if not text.isdecimal() or len(text) > 12:
        raise web.HTTPNotFound()
    return int(text)


# --- import and export ----------------------------------------------------------------------------


@routes.get("/content/export")
@requires("owner")
async def export(request: web.Request) -> web.StreamResponse:
    """The current content as a YAML file to download."""
    edits = edits_of(request)
    latest = await edits.versions(limit=1)
    name = f"content-v{latest[0].id}.yaml" if latest else "content.yaml"
    return web.Response(
        text=await edits.export_yaml(),
        content_type="application/yaml",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@routes.get("/content/import")
@requires("owner")
async def import_form(request: web.Request) -> web.StreamResponse:
    return render(request, "content_import.html", problems=[], notice=None)


@routes.post("/content/import")
@requires("owner")
async def import_post(request: web.Request) -> web.StreamResponse:
    """A whole content file made current, if it validates; else every problem at its key."""
    posted = await request.post()
    upload = posted.get("file")
    if not isinstance(upload, web.FileField):
        return render(request, "content_import.html", status=422, problems=[], notice=NO_FILE)
    try:
        text = upload.file.read().decode("utf-8")
    except UnicodeDecodeError:
        return render(request, "content_import.html", status=422, problems=[], notice=NOT_TEXT)
    edits = edits_of(request)
    base = (await edits.current()).version
    outcome = await edits.import_yaml(
        text, signed_in(request).tg_id, base, summary(N_("imported {file}"), file=upload.filename)
    )
    if outcome.ok:
        return render(
            request, "content_import.html", problems=[], notice=IMPORTED, notice_values={"n": outcome.version}
        )
    return render(
        request, "content_import.html", status=422, problems=outcome.problems, notice=refusal_notice(outcome)
    )
