"""The `nurture-bot` command: run | sandbox | check-config | import | export | report | content |
migrate-to-postgres."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from bot.settings import Settings, SettingsError, load_settings
from flows.content import Content, ContentError, load_content
from flows.liveness import AnotherPoller
from flows.redaction import install_log_redaction, register_secret
from storage.audience import set_owners
from storage.db import (
    Database,
    DatabaseUnreachable,
    SchemaTooNewError,
    open_database,
    postgres_url_problem,
    url_secrets,
)

if TYPE_CHECKING:
    from storage.to_postgres.move import Moved

EXIT_CONFIG = 2
EXIT_ANOTHER_POLLER = 3  # long polling refused: another process polls this bot's database


def _fail(message: str) -> int:
    print(f"nurture-bot: {message}", file=sys.stderr)
    return EXIT_CONFIG


def _configure_logging(level: str, *, sends: bool = False) -> None:
    install_log_redaction()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiogram logs every handled update at INFO; that is noise for an owner.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    if sends:
        from bot.outbound import sends as sends_log

        sends_log.setLevel(logging.INFO)


def cmd_check_config(_: argparse.Namespace) -> int:
    settings = load_settings()
    content = load_content(settings.content_file)
    width = max(len(name) for name in settings.masked())
    for name, value in settings.masked().items():
        print(f"{name.ljust(width)}  {value}")
    business = content.business
    fallback = (
        f"; {', '.join(business.fallback_to_default)} may fall back to {business.default_language}"
        if business.fallback_to_default
        else ""
    )
    print(
        f"\ncontent: {settings.content_file} is valid ({business.name}, "
        f"languages: {', '.join(business.languages)}{fallback})"
    )
    return 0


async def _run(settings: Settings, content: Content) -> None:
    from bot.app import create_app, run_webhook

    app = await create_app(settings, content=content)
    try:
        await app.start_console()
        if settings.webhook_url:
            await run_webhook(app)
        else:
            await app.run_polling()
    finally:
        await app.close()


def cmd_run(_: argparse.Namespace) -> int:
    settings = load_settings()
    content = load_content(settings.content_file)  # fail on bad content before anything else is printed
    _configure_logging(settings.log_level, sends=settings.log_sends)
    logging.getLogger(__name__).info("starting with %s", settings.masked())
    asyncio.run(_run(settings, content))
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from bot.sandbox.chat import run_sandbox

    return run_sandbox(database=args.database, fresh=args.fresh, language=args.lang)


DEFAULT_IMPORT_MAX_MB = 50


async def _import(kind: str, path: str, dry_run: bool) -> int:
    from bot.app import build_imports
    from flows.clock import SystemClock
    from flows.i18n import translator
    from flows.imports import open_path

    settings = load_settings()
    content = load_content(settings.content_file)
    db = await open_database(settings)
    try:
        await set_owners(db, settings.owner_ids)
        imports = build_imports(settings, content, SystemClock(), db)
        run = imports.purchases_csv if kind == "purchases" else imports.customers_csv
        report = await run(open_path(path), dry_run=dry_run)
    finally:
        await db.close()
    # The owner runs it: the report is in the business's own language (flows/i18n.py).
    told = report.describe(kind, path, translator(content.business.default_language), dry_run=dry_run)
    for line in told.problems:
        print(line, file=sys.stderr)
    if told.failed:
        return 1
    print(told.summary)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    try:
        size = os.stat(args.file).st_size
        with open(args.file, "rb"):
            pass
    except OSError as exc:
        return _fail(f"{args.file}: cannot read it ({exc.strerror or exc})")
    if not Path(args.file).is_file():
        return _fail(f"{args.file}: is not a file")
    if size > args.max_mb * 1024 * 1024:
        return _fail(
            f"{args.file}: {size / 1024 / 1024:.1f} MB is over the {args.max_mb} MB limit; "
            "split the file, or raise the limit with --max-mb"
        )
    return asyncio.run(_import(args.kind, args.file, args.dry_run))


class OutputError(Exception):
    """The output file cannot be written; the message says where and why."""


@contextlib.contextmanager
def _atomic_output(out: str) -> Iterator[IO[str]]:
    """Write next to `out` and move into place only when everything was written (no half files)."""
    target = Path(out)
    if target.is_dir():
        raise OutputError(f"{out}: is a folder; give a file name, e.g. {Path(out) / 'export.csv'}")
    try:
        handle: IO[str] = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, renamed on success
            "w",
            encoding="utf-8",
            newline="",
            dir=target.parent if str(target.parent) else ".",
            prefix=f".{target.name}.",
            suffix=".tmp",
            delete=False,
        )
    except OSError as exc:
        raise OutputError(f"{out}: cannot write there ({exc.strerror or exc})") from None
    try:
        yield handle
        handle.close()
        os.replace(handle.name, target)
    except BaseException:
        handle.close()
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
        raise


Work = Callable[[Settings, Content, Database], Awaitable[int]]


def _with_database(work: Work) -> int:
    """Run `work` on the configured database, which must exist (a typo in DATABASE_PATH makes no empty one)."""
    settings = load_settings()
    content = load_content(settings.content_file)
    if settings.database_url is None and not Path(settings.database_path).is_file():
        return _fail(f"no database at {settings.database_path} (check DATABASE_PATH)")

    async def run() -> int:
        db = await open_database(settings)
        try:
            await set_owners(db, settings.owner_ids)  # figures and exports leave the team out
            return await work(settings, content, db)
        finally:
            await db.close()

    return asyncio.run(run())


def cmd_export(args: argparse.Namespace) -> int:
    from flows.exports import KINDS, export_csv

    if args.kind not in KINDS:
        return _fail(f"cannot export {args.kind!r}: choose customers or purchases")

    async def work(settings: Settings, content: Content, db: Database) -> int:
        from flows.analytics import Analytics
        from flows.clock import SystemClock
        from storage.analytics import AnalyticsRepo

        try:
            with _atomic_output(args.out) as handle:
                done = await export_csv(db, args.kind, handle, settings.zone, content.loyalty.currency)
        except OutputError as exc:
            return _fail(str(exc))
        analytics = Analytics(AnalyticsRepo(db), content, SystemClock(), settings.zone)
        await analytics.record_access(None, "export", kind=args.kind, rows=done.rows, out=str(args.out))
        print(f"{done.rows} {args.kind} written to {args.out}")
        return 0

    return _with_database(work)


def cmd_report(args: argparse.Namespace) -> int:
    async def work(settings: Settings, content: Content, db: Database) -> int:
        from flows.analytics import Analytics, PeriodError
        from flows.charts import cohort_chart, revenue_chart
        from flows.clock import SystemClock
        from flows.report_html import render_report
        from storage.analytics import AnalyticsRepo

        clock = SystemClock()
        analytics = Analytics(
            AnalyticsRepo(db),
            content,
            clock,
            settings.zone,
            broadcast_days=settings.broadcast_attribution_days,
        )
        try:
            period = analytics.period(args.period)
        except PeriodError as exc:
            return _fail(str(exc))
        language = content.business.default_language
        try:
            with _atomic_output(args.out) as handle:
                stats = await analytics.stats(period)
                revenue = revenue_chart(stats.months, stats.currency, language)
                cohorts = cohort_chart(stats.cohorts, language)
                page = render_report(
                    stats, content.business.name, settings.zone, language, revenue, cohorts, clock.now()
                )
                handle.write(page)
        except OutputError as exc:
            return _fail(str(exc))
        await analytics.record_access(None, "report", period=period.key, out=str(args.out))
        print(f"report for {period.label} written to {args.out}")
        return 0

    return _with_database(work)


def cmd_content(args: argparse.Namespace) -> int:
    """The content as YAML: `export` writes the current version, `import` makes a file the current one."""
    text = ""
    if args.action == "import":
        try:
            text = Path(args.file).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return _fail(f"cannot read {args.file}: {exc}")

    async def work(settings: Settings, content: Content, db: Database) -> int:
        from flows.clock import SystemClock
        from flows.content_edits import ContentEdits
        from flows.content_live import LiveContent
        from flows.media import Media
        from storage.content_versions import ContentVersionsRepo
        from storage.media import MediaRepo

        clock = SystemClock()
        media = Media(MediaRepo(db), clock)  # an imported file may name only uploads the database holds
        edits = ContentEdits(
            ContentVersionsRepo(db), LiveContent(content), settings.content_file, clock, media.kinds
        )
        if args.action == "export":
            try:
                with _atomic_output(args.file) as handle:
                    handle.write(await edits.export_yaml())
            except OutputError as exc:
                return _fail(str(exc))
            print(f"content written to {args.file}")
            return 0
        outcome = await edits.import_yaml(text, None, (await edits.current()).version, f"imported {args.file}")
        for problem in outcome.problems:
            print(f"{args.file}: {problem.path + ': ' if problem.path else ''}{problem.message}", file=sys.stderr)
        if outcome.unchanged:
            print("the file is the current content already: nothing stored")
            return 0
        if not outcome.ok:
            return 1
        # On PostgreSQL the save signalled every running bot (storage/signals.py); a SQLite bot reads it at start.
        running = (
            "running bots use it now" if db.engine == "postgresql" else "a running bot uses it from its next start"
        )
        print(f"content version {outcome.version} stored; {running}")
        return 0

    return _with_database(work)


MIGRATE_HELP = """\
Copy the bot's SQLite file into an empty PostgreSQL database, then compare the two (row counts per
table, every customer's points and purchases) and exit non-zero on any difference.

The safe order for a running business:
  1. stop the bot (nothing may change the file while it is copied)
  2. nurture-bot migrate-to-postgres --from data/bot.db --to postgresql://user:password@host:5432/db
  3. set DATABASE_URL=postgresql://… in .env (DATABASE_PATH is then not used)
  4. start the bot again

The SQLite file is only read (keep it as your way back). The target must be empty: a new database
(createdb); its schema is made by this command. Without --to, the DATABASE_URL environment variable is
used (so the password need not appear in the command line)."""


def cmd_migrate_to_postgres(args: argparse.Namespace) -> int:
    from storage.to_postgres.move import move
    from storage.to_postgres.refusals import MoveRefused

    url = (args.to or os.environ.get("DATABASE_URL", "")).strip()
    if not url:
        return _fail("give the target as --to postgresql://user:password@host:5432/db (or set DATABASE_URL)")
    problem = postgres_url_problem(url)
    if problem is not None:
        return _fail(f"{'--to' if args.to else 'DATABASE_URL'}: {problem}")
    for secret in url_secrets(url):  # in case anything logs the URL
        register_secret(secret)

    started: list[str] = []

    def copied(table: str, rows: int) -> None:
        if not started:  # said once the checks passed and the copy runs
            started.append(table)
            print(f"copying {args.source} into PostgreSQL (one transaction: all or nothing)", flush=True)
        if rows:
            print(f"  {table}: {rows}", flush=True)

    try:
        moved: Moved = asyncio.run(move(Path(args.source), url, on_table=copied))
    except MoveRefused as exc:
        return _fail(str(exc))
    _print_moved(moved)
    return 0 if moved.ok else 1


def _print_moved(moved: Moved) -> None:
    """The comparison: one line per difference, then the summary."""
    for table in moved.tables:
        if table.source != table.target:
            print(
                f"nurture-bot: {table.name}: {table.source} rows in SQLite, {table.target} in PostgreSQL",
                file=sys.stderr,
            )
    for check in moved.ledgers:
        if check.different:
            shown = ", ".join(str(i) for i in check.differing)
            print(
                f"nurture-bot: {check.what} differ for {check.different} customers (ids {shown}…)", file=sys.stderr
            )
    rows = sum(table.source for table in moved.tables)
    points, purchases = moved.ledgers
    print(
        f"{moved.source} → {moved.target} (schema version {moved.version}): {rows} rows in {len(moved.tables)} tables"
    )
    print(
        f"customers with points: {points.customers}, points in total: {points.total}; "
        f"customers with purchases: {purchases.customers}, purchases in total: {purchases.total / 100:.2f}"
    )
    if moved.ok:
        print("row counts and every customer's points and purchases are the same on both sides")
    else:
        print("DIFFERENT (see above): keep running on SQLite", file=sys.stderr)
    if moved.ok:
        print("next: set DATABASE_URL in .env to this database and start the bot")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nurture-bot", description="A Telegram bot that brings customers back.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot against Telegram (settings from .env)").set_defaults(func=cmd_run)
    sandbox = sub.add_parser("sandbox", help="talk to the bot in this terminal: no token, no internet")
    sandbox.add_argument("--database", default="data/sandbox.db", help="SQLite file (default: data/sandbox.db)")
    sandbox.add_argument("--fresh", action="store_true", help="start from an empty database")
    sandbox.add_argument("--lang", choices=["en", "ru", "uk"], help="the customer's language (default: from LANG)")
    sandbox.set_defaults(func=cmd_sandbox)
    sub.add_parser("check-config", help="print the effective settings, secrets masked").set_defaults(
        func=cmd_check_config
    )
    importer = sub.add_parser("import", help="import purchases or customers from a CSV file (all or nothing)")
    importer.add_argument("kind", choices=["purchases", "customers"])
    importer.add_argument("file", help="CSV with a header row; , or ; separated, UTF-8")
    importer.add_argument("--dry-run", action="store_true", help="check every row and report, write nothing")
    importer.add_argument(
        "--max-mb",
        type=int,
        default=DEFAULT_IMPORT_MAX_MB,
        help=f"refuse larger files (default: {DEFAULT_IMPORT_MAX_MB} MB)",
    )
    importer.set_defaults(func=cmd_import)
    exporter = sub.add_parser("export", help="write customers or purchases to a CSV file")
    exporter.add_argument("kind", help="customers or purchases")
    exporter.add_argument("--out", required=True, help="the CSV file to write (replaced if it exists)")
    exporter.set_defaults(func=cmd_export)
    report = sub.add_parser("report", help="the /stats figures and charts as one HTML page")
    report.add_argument("--out", required=True, help="the HTML file to write, e.g. report.html")
    report.add_argument("--period", default=None, help="7d, 30d (default), 90d, 365d, month, year or all")
    report.set_defaults(func=cmd_report)
    content = sub.add_parser("content", help="the content (FAQ, texts, rules) as YAML: export or import a version")
    content.add_argument("action", choices=["export", "import"])
    content.add_argument("file", help="the YAML file to write (export) or read (import)")
    content.set_defaults(func=cmd_content)
    migrate = sub.add_parser(
        "migrate-to-postgres",
        help="move the business from the SQLite file to an empty PostgreSQL database (stop the bot first)",
        description=MIGRATE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    migrate.add_argument(
        "--from", dest="source", default="data/bot.db", help="the SQLite file (default: data/bot.db)"
    )
    migrate.add_argument("--to", help="postgresql://user:password@host:5432/db (default: $DATABASE_URL)")
    migrate.set_defaults(func=cmd_migrate_to_postgres)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Before anything can log: no record, from any library, leaves with a secret in it.
    install_log_redaction()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (SettingsError, ContentError, SchemaTooNewError, DatabaseUnreachable) as exc:
        return _fail(str(exc))
    except AnotherPoller as exc:
        print(f"nurture-bot: {exc}", file=sys.stderr)
        return EXIT_ANOTHER_POLLER
    except KeyboardInterrupt:
        return 130
    except Exception:
        # Through logging rather than Python's own traceback printer, so that the traceback is redacted.
        logging.getLogger("nurture_bot").critical("stopped by an unexpected error", exc_info=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
