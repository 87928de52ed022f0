"""The bot's own HTTP servers (the webhook and the purchases API), with limits against slow or many clients.

aiohttp on its own waits for ever for a request head that never ends and takes every connection it is
offered: a few hundred clients that open a socket and send half a header hold the process's file
descriptors until the bot's own calls to Telegram fail. Here every server gets:

- a header (and idle) deadline: a connection must deliver a complete request head within
  `header_timeout` seconds of opening or of its previous answer, or it is closed (aiohttp's keep-alive
  timer, which also runs from the moment a connection opens);
- a body deadline: the body must arrive within `body_timeout` seconds (else 408), and at most `max_body`
  bytes (else 413);
- a connection limit: above `max_connections` open connections a new one is answered 503 and closed at
  once, so slow clients can never hold more than that many descriptors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware

log = logging.getLogger(__name__)
requests_log = logging.getLogger("bot.http_server.requests")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_BUSY = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
_WARN_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class HttpLimits:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 100
    max_body: int = 1024 * 1024


def limited_app(limits: HttpLimits) -> web.Application:
    """An aiohttp application that refuses bodies that are too big or too slow."""
    return web.Application(client_max_size=limits.max_body, middlewares=[_body_deadline(limits.body_timeout)])


def _body_deadline(seconds: float) -> Middleware:
    @web.middleware
    async def read_body_in_time(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.body_exists:
            try:
                async with asyncio.timeout(seconds):
                    if request.content_type == "multipart/form-data":
                        # read() would use up the stream that post() parses a multipart body from; post()
                        # reads it here instead, and the handler's post() gets the same parsed form.
                        await request.post()
                    else:
                        await request.read()  # cached: the handler's read() gets the same bytes
            except TimeoutError:
                raise web.HTTPRequestTimeout(headers={"Connection": "close"}) from None
        return await handler(request)

    return read_body_in_time


async def start_server(app: web.Application, host: str, port: int, limits: HttpLimits) -> web.AppRunner:
    """Serve `app` on host:port within `limits`; `cleanup()` the returned runner to stop."""
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=limits.header_timeout, logger=requests_log)
    await runner.setup()
    try:
        await LimitedSite(runner, host, port, limits.max_connections).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


class _ClientFaults(logging.Filter):
    """A request that is not valid HTTP is the client's fault: aiohttp answers it 400 itself, but logs it
    as an ERROR with a traceback. Anyone can send that to a public port, so it is kept at DEBUG, one line.
    Errors inside our own handlers stay errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        fault = record.exc_info[1] if record.exc_info else None
        if isinstance(fault, HttpProcessingError):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            record.msg, record.args, record.exc_info = "bad request from a client: %s", (fault.message,), None
            return requests_log.isEnabledFor(logging.DEBUG)
        return True


requests_log.addFilter(_ClientFaults())


class LimitedSite(web.TCPSite):
    """A TCP site that answers 503 and closes connections above `max_connections`."""

    __slots__ = ("_max_connections",)

    def __init__(self, runner: web.BaseRunner, host: str, port: int, max_connections: int) -> None:
        super().__init__(runner, host, port)
        self._max_connections = max_connections

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            _Gate(server, self._max_connections), self._host, self._port, backlog=self._backlog
        )
        self._bound_port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self._port


class _Gate:
    """The protocol factory: aiohttp's request handler while there is room, a refusal otherwise."""

    def __init__(self, server: web.Server, limit: int) -> None:
        self._server = server
        self._limit = limit
        # Handlers created but not yet in `server.connections` (it learns of them an iteration later):
        # counted here so that a burst of accepts cannot slip past the limit.
        self._fresh = 0
        self._warned_at: float | None = None

    def __call__(self) -> asyncio.BaseProtocol:
        loop = asyncio.get_running_loop()
        if len(self._server.connections) + self._fresh >= self._limit:
            self._warn(loop.time())
            return _Refuse()
        self._fresh += 1
        loop.call_soon(loop.call_soon, self._settle)
        return self._server()

    def _settle(self) -> None:
        self._fresh -= 1

    def _warn(self, now: float) -> None:
        if self._warned_at is None or now - self._warned_at > _WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning("too many open connections (%d): refusing new ones until some close", self._limit)


class _Refuse(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(_BUSY)
        transport.close()
