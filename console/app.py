"""The console's aiohttp application, served by the bot's own process on CONSOLE_HOST:CONSOLE_PORT.

Every page module in `console/pages/` exposes `routes` (and, to appear in the navigation, `AREA`); they
are found and registered here, so adding a page touches no shared file. Middlewares, outermost first:
error pages (never a traceback), security headers, the session (who is asking, their role read from the
database), and the CSRF guard on every state-changing request.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute

from bot.http_server import HttpLimits, limited_app, start_server
from console import auth
from console.render import Area, render
from flows.console_access import ConsoleAccess

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
# Forms and uploads (a photo up to Telegram's 10 MB, a video up to 20 MB: flows/media.py); a bigger body
# is refused (413). Bodies are read only for a signed-in person (the session is checked first).
CONSOLE_MAX_BODY = 20 * 1024 * 1024 + 256 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Console:
    """What the console's handlers share: the bot's services, sign-in, and where the console is."""

    services: dict[str, Any]
    access: ConsoleAccess
    bot_token: str
    base_url: str = ""  # the public address, without a trailing slash
    areas: list[Area] = field(default_factory=list)
    web_app: web.Application | None = None  # the console's own application (inside a prefix, if any)
    _versions: dict[str, str] = field(default_factory=dict)

    @property
    def base_path(self) -> str:
        return urlsplit(self.base_url).path.rstrip("/")

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def secure(self) -> bool:
        return self.base_url.startswith("https://")

    def url(self, path: str) -> str:
        """A path of the console as the browser sees it (behind CONSOLE_URL's own path, if it has one)."""
        return f"{self.base_path}{path}"

    def static_url(self, name: str) -> str:
        """A static file's address with its content's fingerprint, so browsers may cache it for long."""
        if name not in self._versions:
            self._versions[name] = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]
        return self.url(f"/static/{name}?v={self._versions[name]}")


CONSOLE = web.AppKey("console", Console)


def page_modules() -> list[Any]:
    """Every module of `console.pages`, imported."""
    from console import pages

    return [importlib.import_module(f"console.pages.{info.name}") for info in pkgutil.iter_modules(pages.__path__)]


def build_web_app(console: Console, limits: HttpLimits) -> web.Application:
    """The console's routes (auth, static files, every page) with its middlewares."""
    app = limited_app(limits)
    app.middlewares.extend([_error_pages, _security_headers, auth.session_middleware, auth.csrf_middleware])
    app[CONSOLE] = console
    app.add_routes(auth.routes)
    app.router.add_static("/static", STATIC, append_version=False)
    areas = []
    for module in page_modules():
        app.add_routes(module.routes)
        if getattr(module, "AREA", None) is not None:
            areas.append(module.AREA)
    console.areas = sorted(areas, key=lambda area: area.order)
    console.web_app = app
    if not console.base_path:
        return app
    root = limited_app(limits)
    root.add_subapp(console.base_path, app)
    return root


class ConsoleServer:
    """The console's HTTP server; `base_url` is its public address once started."""

    def __init__(self, console: Console, limits: HttpLimits, public_url: str | None) -> None:
        self.console = console
        self._limits = limits
        self._public_url = public_url
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> str:
        web_app = build_web_app(self.console, self._limits)
        self._runner = await start_server(web_app, host, port, self._limits)
        bound_host, bound_port = self._runner.addresses[0][:2]
        shown = "127.0.0.1" if bound_host in ("0.0.0.0", "::") else bound_host
        self.console.base_url = (self._public_url or f"http://{shown}:{bound_port}").rstrip("/")
        self.console.access.base_url = self.console.base_url
        log.info("console listening on %s:%s (%s)", bound_host, bound_port, self.console.base_url)
        return self.console.base_url

    def web_routes(self) -> list[AbstractRoute]:
        """Every route of the console (tests check each page's guard)."""
        return list(self.console.web_app.router.routes()) if self.console.web_app else []

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@web.middleware
async def _error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refusals and failures as short pages in the person's language — never a traceback."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return auth.refusal(request, error.status)
    except Exception:
        log.exception("console: %s %s failed", request.method, request.path)
        return auth.refusal(request, 500)


@web.middleware
async def _security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    headers = response.headers
    # Scripts and styles only from our own files (no inline script), and framed only by Telegram's web
    # clients, which open Mini Apps in an iframe.
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'self' https://web.telegram.org; form-action 'self'; base-uri 'none'",
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    static = request.path.startswith(f"{request.app[CONSOLE].base_path}/static/")
    # Pages hold personal data: never cached. Static files carry their fingerprint in the address.
    headers.setdefault("Cache-Control", "public, max-age=86400" if static else "no-store")
    return response


__all__ = ["CONSOLE", "Console", "ConsoleServer", "build_web_app", "render"]
