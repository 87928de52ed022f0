"""A small round-robin reverse proxy: one webhook address in front of N bot processes (nginx's job in production).

Each POST goes to the next backend in turn. A backend that refuses the connection (stopped, restarting) is
skipped and the next one tried, as nginx's `proxy_next_upstream error` does; a backend that fails after the
request went out (killed mid-update) yields a 502 and is not retried here, since a POST is not idempotent:
Telegram sends the update again, and the bot's processed-updates check skips what was already done.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence

import aiohttp
from aiohttp import web

# The headers a webhook POST needs on the way in, and its answer on the way out.
FORWARDED_IN = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token")
FORWARDED_OUT = ("Content-Type",)


class RoundRobinProxy:
    """Serve on ``host:port``; forward every request path to ``backends`` (base URLs) in turn."""

    def __init__(self, backends: Sequence[str], timeout: float = 60.0) -> None:
        self.backends = list(backends)
        self._turn = itertools.count()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._http: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.forwarded: Counter[str] = Counter()  # backend -> requests it answered
        self.refused = 0  # connections a backend refused (the next one was tried)
        self.failed = 0  # requests answered 502 (no backend reachable, or one died mid-request)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving; return the proxy's base URL."""
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        # many short requests at once: no per-host connection cap below the bots' own
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        bound_host, bound_port = self._runner.addresses[0][:2]
        return f"http://{bound_host}:{bound_port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._http is not None
        body = await request.read()
        headers = {name: request.headers[name] for name in FORWARDED_IN if name in request.headers}
        first = next(self._turn)
        for step in range(len(self.backends)):
            backend = self.backends[(first + step) % len(self.backends)]
            try:
                async with self._http.request(
                    request.method,
                    backend + request.rel_url.path_qs,
                    data=body,
                    headers=headers,
                    timeout=self._timeout,
                ) as resp:
                    answer = await resp.read()
                    out = {name: resp.headers[name] for name in FORWARDED_OUT if name in resp.headers}
                    self.forwarded[backend] += 1
                    return web.Response(status=resp.status, body=answer, headers=out)
            except aiohttp.ClientConnectorError:
                self.refused += 1  # nothing was sent: safe to try the next backend
            except (aiohttp.ClientError, TimeoutError):
                break  # sent, then lost: only the sender may repeat a POST
        self.failed += 1
        return web.Response(status=502, text="bad gateway")
