"""`python -m bench console`: the console's pages at 100,000 customers and 1,000,000 purchases.

Goal (issue 12): a page under 100 KB, first render under 200 ms on this machine. The data is `bench.stats`'s
(generated in SQL into a migrated database); the bot is built as `nurture-bot run` builds it (no Telegram
calls are made: nothing polls), the console is served on a free port and the owner signs in through a
one-time link, as in a browser. Each page is fetched once cold (its first render) and then `--rounds`
times; the time is the whole HTTP round trip on this machine. Page modules that other work adds are
measured too: `--page /customers` (repeatable) names more paths; by default every GET page without a
path parameter is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.common import bench_settings, table
from bench.stats import NOW, _migrate, generate
from bot.app import create_app
from flows.clock import FakeClock

OWNER = 4242
GOAL_MS = 200
GOAL_BYTES = 100 * 1024


async def measure(path: Path, rounds: int, pages: list[str]) -> None:
    settings = bench_settings(path, "http://127.0.0.1:9", owner_ids=str(OWNER), console_port=0)
    app = await create_app(settings, clock=FakeClock(NOW))
    try:
        base = await app.start_console()
        assert app.console is not None
        if not pages:
            pages = sorted(
                {
                    str(route.resource.canonical)
                    for route in app.console.web_routes()
                    if route.method == "GET"
                    and getattr(route.handler, "required_role", None)
                    and "{" not in str(route.resource.canonical)
                }
            )
        link = await app.services["console_access"].login_link(OWNER)
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": base}) as client:
            async with client.post(link, allow_redirects=False) as response:
                assert response.status == 303, await response.text()
            rows = [await _page(client, base, page, rounds) for page in pages]
        print(table(["page", "status", "KB with its files", "first ms", "median ms", "max ms", "goal"], rows))
    finally:
        await app.close()


async def _page(client: aiohttp.ClientSession, base: str, page: str, rounds: int) -> list[object]:
    times = []
    status, body = 0, b""
    for _ in range(rounds + 1):
        began = time.perf_counter()
        async with client.get(f"{base}{page}", allow_redirects=False) as response:
            body = await response.read()
            status = response.status
        times.append(time.perf_counter() - began)
    size = len(body)
    for asset in set(re.findall(rb'(?:href|src)="(/static/[^"]+)"', body)):
        async with client.get(f"{base}{asset.decode()}") as response:
            size += len(await response.read())
    first, rest = times[0], times[1:]
    met = first * 1000 < GOAL_MS and size < GOAL_BYTES
    return [
        page,
        status,
        f"{size / 1024:.0f}",
        f"{first * 1000:.0f}",
        f"{statistics.median(rest) * 1000:.0f}",
        f"{max(rest) * 1000:.0f}",
        "met" if met else "NOT met",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench console", description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--page", action="append", default=[], help="a path to measure (default: every page)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "console.db"
        asyncio.run(_migrate(path))
        began = time.perf_counter()
        generate(path, args.customers, args.purchases)
        print(
            f"{args.customers:,} customers, {args.purchases:,} purchases built in {time.perf_counter() - began:.0f} s\n"
        )
        asyncio.run(measure(path, args.rounds, args.page))


if __name__ == "__main__":
    main()
