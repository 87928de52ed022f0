"""`python -m bench console`: the console's pages at 100,000 customers and 1,000,000 purchases, quiet and
while the bot is busy.

Goal (issue 12): a page under 100 KB with its files, first render under 200 ms on this machine. The data is
bench/dataset.py's (generated in SQL into a migrated database); the bot is built as `nurture-bot run` builds it
and polls the in-process emulator (rate limits off), the console is served on a free port and the owner
signs in through a one-time link, as in a browser. Every GET page without a path parameter is measured
(pages other work adds too; `--page /customers` names paths instead):

1. quiet: each page fetched once cold (its first render) and then `--rounds` times;
2. under load: the figures cache emptied (so pages that keep figures compute them again), then the same
   while a second task sends customers' messages through the emulator at `--rate` a second — existing
   customers asking the FAQ, so each is a whole update: the customer upsert, the FAQ, a reply.

The time is the whole HTTP round trip on this machine; the bot, the emulator and the console share one
process and event loop, as the bot and its console do in production (the emulator's own work is extra).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.common import bench_settings, load, table
from bench.dataset import NOW, fill_file
from bench.hotpath import unpaced
from bot.app import App, create_app
from bot.sandbox.emulator import Emulator
from flows.clock import FakeClock

OWNER = 4242
GOAL_MS = 200
GOAL_BYTES = 100 * 1024
FIRST_TG_ID = 10_000_000  # bench.stats: customer i has tg_id FIRST_TG_ID + i
TEXTS = ("do you have parking?", "hello", "what time do you open?", "thanks!")


@dataclass
class Load:
    """Customers' messages sent at a steady rate while pages are fetched."""

    emu: Emulator
    customers: int
    rate: float
    sent: int = 0
    began: float = 0.0
    ended: float = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        rng = random.Random(7)
        self.began = time.monotonic()
        while not stop.is_set():
            due = self.began + self.sent / self.rate
            if time.monotonic() >= due:
                self.emu.send_message(FIRST_TG_ID + rng.randint(1, self.customers), rng.choice(TEXTS))
                self.sent += 1
            else:
                await asyncio.sleep(min(0.005, due - time.monotonic()))
        self.ended = time.monotonic()

    def answered(self) -> int:
        return sum(1 for call in self.emu.calls if call.method == "sendMessage" and call.status is not None)

    async def settle(self, timeout: float = 30.0) -> float:
        """Seconds after the last message until every message had its reply (or the timeout)."""
        for _ in range(int(timeout / 0.01)):
            if self.answered() >= self.sent:
                break
            await asyncio.sleep(0.01)
        return time.monotonic() - self.ended


async def measure(path: Path, rounds: int, pages: list[str], customers: int, rate: float) -> None:
    with sqlite3.connect(path) as db:  # a kept database: the emulator numbers its updates from 1 again
        db.execute("DELETE FROM processed_updates")
    async with Emulator(rate_limits=False) as emu:
        settings = bench_settings(path, emu.api_base, owner_ids=str(OWNER), console_port=0)
        app = unpaced(await create_app(settings, clock=FakeClock(NOW)))
        polled = len(emu.calls)
        polling = asyncio.create_task(app.run_polling(handle_signals=False, scheduler=False))
        try:
            await emu.wait_for_call("getUpdates", after=polled)
            await _pages(app, emu, rounds, pages, customers, rate)
        finally:
            await app.stop()
            await polling
            await app.close()


async def _pages(app: App, emu: Emulator, rounds: int, pages: list[str], customers: int, rate: float) -> None:
    base = await app.start_console()
    assert app.console is not None
    pages = pages or sorted(
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
    headers = ["page", "status", "KB with its files", "first ms", "median ms", "max ms", "goal"]
    async with aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": base}) as client:
        async with client.post(link, allow_redirects=False) as response:
            assert response.status == 303, await response.text()
        print(f"### Quiet ({load()})\n")
        print(table(headers, [await _page(client, base, page, rounds) for page in pages]))
        app.services["stats_cache"].forget()
        busy = Load(emu, customers, rate)
        stop = asyncio.Event()
        sending = asyncio.create_task(busy.run(stop))
        await asyncio.sleep(1.0)  # the bot is up to speed before the first page
        try:
            rows = [await _page(client, base, page, rounds) for page in pages]
        finally:
            stop.set()
            await sending
        seconds, behind = busy.ended - busy.began, await busy.settle()
        print(
            f"\n### While customers write {rate:g} messages a second ({load()}): {busy.sent:,} sent in"
            f" {seconds:.1f} s; {busy.answered():,} replied to, the last {behind:.1f} s after the last message\n"
        )
        print(table(headers, rows))


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
    parser.add_argument("--rate", type=float, default=20.0, help="customers' messages a second under load")
    parser.add_argument("--page", action="append", default=[], help="a path to measure (default: every page)")
    parser.add_argument("--keep", type=Path, help="build (or reuse) the database at this path")
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPU · {load()}")
    with tempfile.TemporaryDirectory() as folder:
        path = args.keep or Path(folder) / "console.db"
        if not path.exists():
            began = time.perf_counter()
            fill_file(path, args.customers, args.purchases)
            print(
                f"{args.customers:,} customers, {args.purchases:,} purchases built in {time.perf_counter() - began:.0f} s"
            )
        asyncio.run(measure(path, args.rounds, args.page, args.customers, args.rate))
    print(f"\ndone · {load()}")


if __name__ == "__main__":
    main()
