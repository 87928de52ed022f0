"""`python -m bench numbers`: the console's Numbers and Team pages at 100,000 customers, cold and warm (goal:
first render under 200 ms, a page under 100 KB; `bench console` measures every page once cold).

The database is `bench stats`'s (100,000 customers, 1,000,000 purchases, leads, FAQ questions), plus
100,000 audit rows from a cashier. The real bot (`create_app`) serves its console on a free port against
the local emulator; an owner signs in with a one-time link and each page is fetched over HTTP `--rounds`
times: what a browser waits for before it can draw, measured from the request to the last byte.

"Cold" numbers are fetched right after the figures cache was emptied (what the first owner of the minute
sees), "warm" ones when it holds the period.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from bench.common import bench_settings, load, machine, table
from bench.dataset import NOW, fill_file, rows_line
from bot.app import create_app
from bot.sandbox.emulator import Emulator
from flows.clock import FakeClock

OWNER = 900
CASHIER = 901


def add_audit_rows(path: Path, rows: int) -> None:
    """A cashier's sales in the audit log, spread over the last year (what the Team page filters)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO staff (tg_id, role, name, added_by, added_at) VALUES (?, 'cashier', 'Olena', ?, ?)",
            (CASHIER, OWNER, "2025-01-01 00:00:00"),
        )
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT INTO audit_log (actor_tg_id, action, subject, details, created_at)"
            " SELECT ?, 'sale', i, '{\"amount\": \"100.00\"}', datetime(?, '-' || (i * 365 / ?) || ' days') FROM n",
            (rows, CASHIER, NOW.strftime("%Y-%m-%d %H:%M:%S"), rows),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


async def measure(path: Path, rounds: int) -> None:
    emulator = Emulator()
    await emulator.start()
    settings = bench_settings(
        path, emulator.api_base, owner_ids=str(OWNER), timezone="Europe/Kyiv", console_port=0
    )
    app = await create_app(settings, clock=FakeClock(NOW))
    try:
        base = await app.start_console()
        link = await app.services["console_access"].login_link(OWNER)
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": base}) as client:
            async with client.post(link, allow_redirects=False) as response:
                assert response.status == 303, await response.text()
            cache = app.services["stats_cache"]

            async def fetch(page: str) -> tuple[float, int]:
                began = time.perf_counter()
                async with client.get(f"{base}{page}") as response:
                    body = await response.read()
                    assert response.status == 200, (page, response.status, body[:300])
                return time.perf_counter() - began, len(body)

            async def cold() -> None:
                cache.forget()

            async def warm_figures() -> None:
                await cache.stats(cache.period("30d"))

            async def nothing() -> None:
                return None

            cases: list[tuple[str, str, Callable[[], Awaitable[None]]]] = [
                ("home `/` (core: the 30 days' figures, computed)", "/", nothing),
                ("numbers, cold: the page (figures follow by htmx)", "/numbers", cold),
                ("numbers, cold: the figures fragment", "/numbers/figures?period=30d", cold),
                ("numbers, warm: the page with its figures", "/numbers", warm_figures),
                (
                    "numbers, a custom range not yet computed: the page",
                    "/numbers?from=2026-10-01&to=2026-10-31",
                    nothing,
                ),
                ("revenue chart, warm figures", "/numbers/chart/revenue.png?period=30d", nothing),
                ("questions the FAQ missed", "/numbers/questions", nothing),
                ("team with the audit log (100,000 rows)", "/team", nothing),
                ("team, audit filtered by who and what", f"/team?actor={CASHIER}&action=sale", nothing),
                ("team, audit filtered by days", "/team?since=2026-06-01&until=2026-06-30", nothing),
            ]
            await fetch("/numbers/questions")  # imports and first-use costs out of the figures
            rows = []
            for label, page, before in cases:
                times, size = [], 0
                for _ in range(rounds):
                    await before()
                    elapsed, size = await fetch(page)
                    times.append(elapsed)
                rows.append([label, *(f"{t * 1000:.0f}" for t in _spread(times)), f"{size / 1024:.1f}"])
        print(table(["page", "median ms", "min ms", "max ms", "KB"], rows))
    finally:
        await app.close()
        await emulator.stop()


def _spread(times: list[float]) -> tuple[float, float, float]:
    return statistics.median(times), min(times), max(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench numbers", description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--audit", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "console.db"
        began = time.perf_counter()
        fill_file(path, args.customers, args.purchases)
        add_audit_rows(path, args.audit)
        print(f"built in {time.perf_counter() - began:.0f} s")
        print(rows_line(path) + "\n")
        asyncio.run(measure(path, args.rounds))


if __name__ == "__main__":
    print(f"{machine()} · {load()}")
    main()
    print(f"done · {load()}")
