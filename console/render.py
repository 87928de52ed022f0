"""Pages: the Jinja2 environment (autoescape on), the request's translations and the layout's context."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from console.session import person_of
from flows.console_access import allows
from flows.i18n import LANGUAGES, Translator, translator
from flows.team_text import TeamText

LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "uk": "Українська"}


@dataclass(frozen=True)
class Area:
    """A page of the console in the navigation: shown to the roles that may open it (and above)."""

    path: str
    label: str  # marked with N_, translated when shown
    role: str  # the least role that may open it: cashier, manager or owner
    order: int


@pass_context
def _shown(context: Context, value: Any) -> Any:
    """What `{{ … }}` prints: a flow's text for the team (a content problem, a refusal) in the page's
    language, as plain text (autoescaped like any value); anything else as it is."""
    if isinstance(value, TeamText):
        return value.text(translator(context.get("language")))
    return value


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_shown,
    )
    # The i18n extension's callables come from each request's context (`template_callables`).
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return env


def template_callables(tr: Translator) -> dict[str, Callable[..., str]]:
    """gettext/ngettext/pgettext for templates, new style: `{{ gettext("Hi %(name)s", name=x) }}`; the
    translation is trusted, the values are escaped."""

    def gettext(message: str, **values: Any) -> str:
        return Markup(tr.gettext(message)) % values

    def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
        return Markup(tr.ngettext(singular, plural, n)) % {"num": n, **values}

    def pgettext(context: str, message: str, **values: Any) -> str:
        return Markup(tr.pgettext(context, message)) % values

    return {"gettext": gettext, "_": gettext, "ngettext": ngettext, "pgettext": pgettext}


def request_language(request: web.Request) -> str:
    """The signed-in person's language, else the browser's first console language, else English."""
    person = person_of(request)
    if person is not None and person.language in LANGUAGES:
        return person.language
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def render(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    """A page of the console, in the request's language, with the layout's navigation for its person."""
    from console.app import CONSOLE

    console = request.app[CONSOLE]
    language = request_language(request)
    tr = translator(language)
    person = person_of(request)
    nav = [area for area in console.areas if person is not None and person.role and allows(person.role, area.role)]
    values = {
        **template_callables(tr),
        "language": language,
        "languages": LANGUAGE_NAMES,
        "person": person,
        "csrf": person.csrf if person is not None else "",
        "nav": nav,
        "current": request.path,
        "base": console.base_path,
        "static": console.static_url,
        **context,
    }
    body = environment().get_template(template).render(values)
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
