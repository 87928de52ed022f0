"""`python -m bench hotpath|longtext|drip|sender|segments|stats|console|numbers|retention|people|pacing|migrate|all [options]`: run named benchmarks, print result tables.

`python -m bench scale|processes|failover [options]`: benchmarks with options of their own, run on their own
(`python -m bench processes --help`).
"""

from __future__ import annotations

import argparse
import logging
import sys

from bench import (
    console,
    drip,
    faq,
    hotpath,
    longtext,
    migrate,
    numbers,
    pacing,
    people,
    retention,
    scale,
    segments,
    sender,
    stats,
)
from bench.common import load, machine


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "name",
        choices=[
            "hotpath",
            "faq",
            "longtext",
            "drip",
            "sender",
            "segments",
            "stats",
            "console",
            "numbers",
            "retention",
            "people",
            "pacing",
            "migrate",
            "scale",
            "all",
        ],
    )
    parser.add_argument("--updates", type=int, default=1000, help="hotpath: updates per round")
    parser.add_argument("--users", type=int, default=200, help="hotpath: distinct users")
    parser.add_argument("--rounds", type=int, default=5, help="hotpath, longtext: measured rounds")
    parser.add_argument("--question", action="store_true", help="hotpath: also time a text the FAQ answers")
    parser.add_argument("--no-pin", action="store_true", help="hotpath: leave aiogram's Response[T] unpinned")
    parser.add_argument("--profile", action="store_true", help="hotpath: cProfile one nurture-bot round")
    parser.add_argument("--months", type=int, default=12, help="retention: months of business to simulate")
    parser.add_argument("--scale", type=float, default=1.0, help="retention: 1.0 = 100,000 customers")
    parser.add_argument(
        "--failures",
        dest="faq_options",
        action="append_const",
        const="--failures",
        default=[],
        help="faq: list the tuning part's misses (never the held-out ones)",
    )
    parser.add_argument(
        "--accuracy-only",
        dest="faq_options",
        action="append_const",
        const="--accuracy-only",
        help="faq: skip the latency measurement",
    )
    parser.add_argument(
        "--search",
        dest="faq_options",
        action="append_const",
        const="--search",
        help="faq: search the matcher's dials on the tuning part",
    )
    parser.add_argument(
        "--unseen",
        dest="faq_options",
        action="append_const",
        const="--unseen",
        help="faq: the tuning part with the lexicon items each question uses taken out (no held-out)",
    )
    return parser.parse_args(argv)


# Benchmarks with options of their own, run on their own (not part of `all`: they start processes).
SEPARATE = ("processes", "failover")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SEPARATE:
        logging.basicConfig(level=logging.WARNING)
        print(machine())
        if argv[0] == "processes":
            from bench import processes

            processes.main(argv[1:])
        else:
            from bench import failover

            failover.main(argv[1:])
        return
    logging.basicConfig(level=logging.WARNING)
    print(f"{machine()} · {load()}")
    if argv[:1] == ["scale"]:  # its own options (--engine, --customers …): see bench/scale.py
        scale.main(argv[1:])
        print(f"done · {load()}")
        return
    args = parse(argv)
    if args.name in ("hotpath", "all"):
        hotpath.main(args.updates, args.users, args.rounds, args.question, args.profile, not args.no_pin)
    if args.name in ("faq", "all"):
        faq.main(args.faq_options)
    if args.name in ("longtext", "all"):
        longtext.main(args.rounds)
    if args.name in ("drip", "all"):
        drip.main()
    if args.name in ("sender", "all"):
        sender.main()
    if args.name in ("segments", "all"):
        segments.main([])
    if args.name in ("stats", "all"):
        stats.main([])
    if args.name in ("console", "all"):
        console.main([])
    if args.name in ("numbers", "all"):
        numbers.main([])
    if args.name in ("people", "all"):
        people.main([])
    if args.name in ("pacing", "all"):
        pacing.main()
    if args.name in ("migrate", "all"):
        migrate.main([])
    if args.name in ("retention", "all"):
        retention.main(["--months", str(args.months), "--scale", str(args.scale)])
    print(f"done · {load()}")


if __name__ == "__main__":
    main()
