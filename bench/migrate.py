"""`python -m bench migrate`: `migrate-to-postgres` at 100,000 customers and 1,000,000 purchases.

The SQLite file is filled with bench/dataset.py's data (customers, purchases, the points ledger, coupons,
enrolments, leads, FAQ questions: SQL, the product's own schema), then moved into an empty database of a
throw-away PostgreSQL server (tests/pg_server.py, Debian's binaries). Goals: the comparison finds no
difference, and the process's memory stays flat (rows are streamed in batches, whatever the file's size).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from pathlib import Path

from bench.common import load, machine, table
from bench.dataset import fill_file, rows_line
from storage.to_postgres.move import move


def _rss_mb() -> int:
    """The process's peak resident memory so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.migrate", description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    from tests.pg_server import server

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bot.db"
        fill_file(path, args.customers, args.purchases)
        print(f"{rows_line(path)}; file {path.stat().st_size // 2**20} MB\n")
        url = server().empty_database()
        rows: list[list[object]] = []
        began = time.perf_counter()
        before = _rss_mb()

        def copied(name: str, count: int) -> None:
            if count:
                rows.append([name, f"{count:,}", f"{time.perf_counter() - began:.0f} s", f"{_rss_mb()} MB"])

        moved = asyncio.run(move(path, url, on_table=copied))
        total = time.perf_counter() - began
        print(table(["table", "rows", "done after", "peak memory"], rows))
        print(
            f"\nmoved and compared in {total:.0f} s; the same on both sides: {moved.ok}; "
            f"peak memory {before} MB before, {_rss_mb()} MB after · {load()}"
        )
        server().drop_made()


if __name__ == "__main__":
    print(f"{machine()} · {load()}")
    main()
