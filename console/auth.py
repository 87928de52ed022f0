"""Signing in to the console, sessions, the role guard and the CSRF guard.

Two ways in, both ending in the same session cookie:
- inside Telegram, the Mini App posts Telegram's signed `initData`; it is checked here with the bot token
  (HMAC-SHA256 with the key HMAC("WebAppData", token), as the Bot API specifies) and refused when older
  than `INIT_DATA_MAX_AGE`;
- in a browser, the one-time link the bot sends on /console (`flows/console_access.py`). Opening it shows
  a page that signs in with a POST (our script submits it at once), so a link previewer that fetches the
  address does not use up the link.

Every request reads the person's role from the database; every state-changing request must come from
the console's own origin and carry the session's CSRF token.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web

from console.render import render
from console.session import PERSON, person_of, signed_in
from flows.console_access import SESSION_TTL, allows
from flows.i18n import LANGUAGES, N_, language_of

if TYPE_CHECKING:
    from console.app import Console

COOKIE = "nb_console"
INIT_DATA_MAX_AGE = timedelta(days=1)
CLOCK_SKEW = timedelta(minutes=5)
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
routes = web.RouteTableDef()

# Why a request was refused, in words for the person (translated when shown).
REASONS = {
    "owner": N_("This page is for the owner."),
    "manager": N_("This page is for managers and the owner."),
    "cashier": N_("This page is for the team."),
    "ended": N_("Your access to the console has ended. Ask the owner if this is a mistake."),
    "link": N_("This login link has expired or was already used. Send /console to the bot for a new one."),
    "mini_app": N_(
        "Telegram's sign-in could not be confirmed, or it is too old. Close the console and open it again from the bot's menu."
    ),
    "not_team": N_("The console is for the owner and the team only."),
    "cross_site": N_("This request came from another site and was refused. Open the console and try again."),
    "csrf": N_("This form has expired. Reload the page and try again."),
    400: N_("That request was not understood. Go back and try again."),
    403: N_("You cannot open this page."),
    404: N_("There is no such page."),
    405: N_("This page cannot be used that way."),
    408: N_("The request took too long. Try again."),
    413: N_("What you sent is too big."),
    500: N_("Something went wrong on our side. Try again; if it keeps happening, tell whoever runs the bot."),
}


def _console(request: web.Request) -> Console:
    from console.app import CONSOLE

    return request.app[CONSOLE]


# --- Telegram Mini App initData ---------------------------------------------------------------


@dataclass(frozen=True)
class MiniAppUser:
    tg_id: int
    first_name: str
    language: str | None


def check_init_data(
    init_data: str, bot_token: str, now: datetime, max_age: timedelta = INIT_DATA_MAX_AGE
) -> MiniAppUser | None:
    """The Telegram user a Mini App's initData names, if Telegram signed it for this bot's token within
    `max_age`; None for anything else (forged, altered, expired, malformed)."""
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    fields = dict(pairs)
    given = fields.pop("hash", "")
    if not given or len(fields) + 1 != len(pairs):  # no signature, or a field given twice
        return None
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    expected = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given.lower()):
        return None
    try:
        signed_at = datetime.fromtimestamp(int(fields["auth_date"]), UTC)
        user = json.loads(fields["user"])
        tg_id = int(user["id"])
    except (KeyError, ValueError, TypeError, OverflowError, OSError):
        return None
    if not now - max_age <= signed_at <= now + CLOCK_SKEW:
        return None
    language = user.get("language_code")
    return MiniAppUser(tg_id, str(user.get("first_name") or ""), language if isinstance(language, str) else None)


def sign_init_data(fields: dict[str, str], bot_token: str) -> str:
    """initData as Telegram would sign it for this token (for tests and the sandbox's own checks)."""
    from urllib.parse import urlencode

    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    signature = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": signature})


# --- refusals -----------------------------------------------------------------------------------


def refusal(request: web.Request, status: int, reason: str | int | None = None) -> web.Response:
    """A short page saying why, in the person's language, with the right status."""
    message = REASONS.get(reason if reason is not None else status) or REASONS[403 if status < 500 else 500]
    return render(request, "refused.html", status=status, reason=message)


def requires(role: str) -> Callable[[Handler], Handler]:
    """Guard a page handler: signed in, with at least `role` (owner ⊃ manager ⊃ cashier), checked on every
    request against the role in the database (the session middleware read it)."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            person = person_of(request)
            if person is None:
                return redirect(_console(request).url("/welcome"))
            if not allows(person.role, role):
                return refusal(request, 403, role)
            return await handler(request)

        guarded.required_role = role  # type: ignore[attr-defined]
        return guarded

    return wrap


# --- middlewares --------------------------------------------------------------------------------


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Put the signed-in person (role as in the database now) into the request (`person_of`)."""
    token = request.cookies.get(COOKIE)
    if token:
        person = await _console(request).access.person(token)
        if person is not None and person.role is None:  # revoked: this is where it ends
            response = refusal(request, 403, "ended")
            _forget_cookie(request, response)
            return response
        if person is not None:
            request[PERSON] = person
    return await handler(request)


ANONYMOUS_MAX_BODY = 64 * 1024  # a sign-in's form; only a signed-in person may post more (uploads)


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A state-changing request must come from the console's own pages: same origin, and (when signed in)
    the session's token in the form or the htmx header."""
    if request.method in SAFE_METHODS:
        return await handler(request)
    if not _same_origin(request):
        return refusal(request, 403, "cross_site")
    person = person_of(request)
    if person is None and (request.content_length or 0) > ANONYMOUS_MAX_BODY:
        return refusal(request, 413)  # uploads are for signed-in people; a stranger's body stays small
    if person is not None:
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            sent = str((await request.post()).get(CSRF_FIELD, ""))
        if not sent or not hmac.compare_digest(sent.encode(), person.csrf.encode()):
            return refusal(request, 403, "csrf")
    return await handler(request)


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:  # some browsers leave Origin out of same-origin requests; Referer then says it
        referer = request.headers.get("Referer")
        if not referer:
            return False
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    return origin == _console(request).origin


# --- cookies ------------------------------------------------------------------------------------


def _set_cookie(request: web.Request, response: web.StreamResponse, token: str, via: str) -> None:
    console = _console(request)
    # Telegram's web client opens a Mini App in an iframe on its own site, where a Lax cookie is not sent:
    # a Mini App session over https is SameSite=None (the CSRF guard above does not rely on SameSite).
    same_site = "None" if via == "mini_app" and console.secure else "Lax"
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_TTL.total_seconds()),
        path=console.base_path or "/",
        httponly=True,
        secure=console.secure,
        samesite=same_site,
    )


def _forget_cookie(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path=_console(request).base_path or "/")


async def _start_session(
    request: web.Request, tg_id: int, telegram_language: str | None, via: str
) -> web.Response:
    console = _console(request)
    language = await _language_of(console, tg_id, telegram_language)
    opened = await console.access.open_session(tg_id, language, via)
    if opened is None:
        return refusal(request, 403, "not_team")
    token, _ = opened
    response = redirect(console.url("/"))
    _set_cookie(request, response, token, via)
    return response


async def _language_of(console: Console, tg_id: int, telegram_language: str | None) -> str:
    """The language the person chose in the bot, else their Telegram app's, else English."""
    customer = await console.services["customers"].repo.by_tg_id(tg_id)
    return language_of(customer.preferred_language if customer else None, telegram_language)


# --- routes -------------------------------------------------------------------------------------


@routes.get("/welcome")
async def welcome(request: web.Request) -> web.StreamResponse:
    """Not signed in: how to get in (and, inside Telegram, our script signs in with initData)."""
    if person_of(request) is not None:
        return redirect(_console(request).url("/"))
    return render(request, "welcome.html")


@routes.get("/login/{token}")
async def login_page(request: web.Request) -> web.StreamResponse:
    return render(request, "login.html", action=_console(request).url(f"/login/{request.match_info['token']}"))


@routes.post("/login/{token}")
async def login(request: web.Request) -> web.StreamResponse:
    """Use a one-time link: a session for the person it was made for."""
    tg_id = await _console(request).access.redeem(request.match_info["token"])
    if tg_id is None:
        return refusal(request, 403, "link")
    return await _start_session(request, tg_id, None, "link")


@routes.post("/auth/mini-app")
async def mini_app_login(request: web.Request) -> web.StreamResponse:
    """Sign in with the initData Telegram gave the Mini App."""
    console = _console(request)
    form = await request.post()
    now = console.access.clock.now()
    user = check_init_data(str(form.get("init_data", "")), console.bot_token, now)
    if user is None:
        return refusal(request, 403, "mini_app")
    return await _start_session(request, user.tg_id, user.language, "mini_app")


@routes.post("/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    person = person_of(request)
    console = _console(request)
    if person is not None:
        await console.access.close(person)
    response = redirect(console.url("/welcome"))
    _forget_cookie(request, response)
    return response


@routes.post("/language")
@requires("cashier")
async def choose_language(request: web.Request) -> web.StreamResponse:
    """Switch the console's language; the bot speaks it to this person too."""
    person = signed_in(request)
    console = _console(request)
    language = str((await request.post()).get("language", ""))
    if language not in LANGUAGES:
        return refusal(request, 400)
    await console.access.set_language(person, language)
    customers = console.services["customers"]
    customer = await customers.repo.by_tg_id(person.tg_id)
    if customer is not None:  # the team may speak any team language, as /language allows them
        await customers.choose_language(customer, language)
        await console.services["menus"].refresh(person.tg_id, person.role)
    return redirect(local_path(console, str((await request.post()).get("next", ""))))


def local_path(console: Console, path: str) -> str:
    """`path` if it is a page of this console, else its home (never a redirect to another site)."""
    if path.startswith(f"{console.base_path}/") and not path.startswith("//") and "\\" not in path:
        return path
    return console.url("/")


def redirect(location: str) -> web.Response:
    """303 See Other: after a POST, the browser GETs `location`."""
    return web.Response(status=303, headers={"Location": location})


__all__ = [
    "check_init_data",
    "person_of",
    "redirect",
    "refusal",
    "requires",
    "routes",
    "sign_init_data",
    "signed_in",
]
