"""`python -m bench scale`: /stats, segment counts and broadcast queueing on SQLite and on PostgreSQL, on the
same generated data (bench/dataset.py), by default 1,000,000 customers and 10,000,000 purchases (issue 13).

For each engine: the database is migrated and filled once (or reused from `--keep DIR`), then /stats runs
for every period (bench/stats.py), every segment expression is counted and a broadcast to everyone is
queued and read back (bench/segments.py). The queueing writes outbox rows and a few purchases, so it runs
last. At the end, one table puts the engines side by side with the ratio PostgreSQL / SQLite.
PostgreSQL is `DATABASE_URL` when set, else a throw-away cluster (bench/engines.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from bench import dataset, engines, segments, stats
from bench.common import load, machine, table
from storage.db import Database

FIGURES = "figures.json"  # the last run's figures, in a kept engine's folder
NOW = dataset.NOW
SUMMARY = [  # the figures side by side: (key in the figures, label)
    ("stats 7d", "/stats 7d, ms"),
    ("stats 30d", "/stats 30d, ms"),
    ("stats 365d", "/stats 365d, ms"),
    ("stats all", "/stats all, ms"),
    ("win-back day", "win-back, one day, ms"),
    ("everyone", "count `everyone`, ms"),
    ("lang:ru,uk !tag:vip", "count `lang:ru,uk !tag:vip`, ms"),
    (segments.CROSS_SELL, "count cross-sell, ms"),
    ("slowest count", "slowest segment count, ms"),
    ("queue s", "queue a broadcast to everyone, s"),
    ("longest chunk", "longest queueing chunk, ms"),
    ("resume", "resume (re-spread every row), ms"),
    ("results", "/broadcasts results, ms"),
]


async def run(
    target: Path | str, customers: int, purchases: int, rounds: int, parts: set[str]
) -> dict[str, float]:
    db = await Database.open(target)
    try:
        have = int(await db.fetch_value("SELECT COUNT(*) FROM customers"))
        if have == 0:
            began = time.perf_counter()
            timings = await dataset.generate(db, customers, purchases, NOW)
            print(
                f"built in {time.perf_counter() - began:.0f} s: "
                + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
            )
        elif have != customers:
            raise SystemExit(f"the kept database has {have:,} customers, not {customers:,}: remove it first")
        else:  # a kept database: the last run's broadcast goes (its few attributed purchases stay)
            async with db.transaction() as tx:
                await tx.execute("DELETE FROM outbox")
                await tx.execute("DELETE FROM broadcasts")
        counts = {
            t: await db.fetch_value(f"SELECT COUNT(*) FROM {t}") for t in ("customers", "purchases", "outbox")
        }
        print("rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + f" · {load()}\n")
        figures: dict[str, float] = {}
        if "stats" in parts:
            figures.update(await stats.measure_db(db, rounds, NOW))
            print(f"· {load()}")
        if "segments" in parts:
            figures.update(await segments.measure_db(db, NOW))
            counted = [v for k, v in figures.items() if k in segments.EXPRESSIONS]
            figures["slowest count"] = max(counted)
            print(f"· {load()}")
        return figures
    finally:
        await db.close()


def summary(results: dict[str, dict[str, float]]) -> str:
    """The engines side by side, and PostgreSQL's figure over SQLite's where both ran."""
    names = list(results)
    rows = []
    for key, label in SUMMARY:
        values = [results[name].get(key) for name in names]
        if all(v is None for v in values):
            continue
        row: list[object] = [label, *("—" if v is None else v for v in values)]
        if len(names) == 2 and None not in values and values[0]:
            row.append(f"{values[1] / values[0]:.2f}")  # type: ignore[operator]
        rows.append(row)
    headers = ["figure", *names] + (["pg / sqlite"] if len(names) == 2 else [])
    return table(headers, rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench scale", description=__doc__)
    parser.add_argument("--engine", choices=[*engines.ENGINES, "both"], default="both")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--purchases", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="/stats: runs per period")
    parser.add_argument(
        "--only", default="stats,segments", help="stats, segments (counts and queueing), or build (nothing more)"
    )
    parser.add_argument("--keep", type=Path, help="keep (or reuse) the databases in this folder")
    args = parser.parse_args(argv)
    chosen = list(engines.ENGINES) if args.engine == "both" else [args.engine]
    parts = set(args.only.split(","))
    results: dict[str, dict[str, float]] = {}
    for engine in chosen:
        print(f"\n## {engine}: {args.customers:,} customers, {args.purchases:,} purchases · {load()}\n")
        keep = args.keep / engine if args.keep else None
        with engines.target(engine, keep) as where:
            results[engine] = asyncio.run(run(where, args.customers, args.purchases, args.rounds, parts))
        if keep is not None and results[engine]:
            (keep / FIGURES).write_text(json.dumps(results[engine], indent=1))
    if args.keep:  # an engine measured by an earlier run on the kept databases, for the side by side
        for engine in engines.ENGINES:
            saved = args.keep / engine / FIGURES
            if engine not in results and saved.exists():
                results[engine] = json.loads(saved.read_text())
    print(f"\n## Side by side · {load()}\n")
    print(summary({engine: results[engine] for engine in engines.ENGINES if results.get(engine)}))


if __name__ == "__main__":
    print(machine())
    main()
