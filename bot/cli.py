"""The `nurture-bot` command: run | sandbox | check-config | import."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.settings import Settings, SettingsError, load_settings
from flows.content import Content, ContentError, load_content
from storage.db import SchemaTooNewError

EXIT_CONFIG = 2


def _fail(message: str) -> int:
    print(f"nurture-bot: {message}", file=sys.stderr)
    return EXIT_CONFIG


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiogram logs every handled update at INFO; that is noise for an owner.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)


def cmd_check_config(_: argparse.Namespace) -> int:
    settings = load_settings()
    content = load_content(settings.content_file)
    width = max(len(name) for name in settings.masked())
    for name, value in settings.masked().items():
        print(f"{name.ljust(width)}  {value}")
    print(
        f"\ncontent: {settings.content_file} is valid ({content.business.name}, "
        f"languages: {', '.join(content.business.languages)})"
    )
    return 0


async def _run(settings: Settings, content: Content) -> None:
    from bot.app import create_app, run_webhook

    app = await create_app(settings, content=content)
    try:
        if settings.webhook_url:
            await run_webhook(app)
        else:
            await app.run_polling()
    finally:
        await app.close()


def cmd_run(_: argparse.Namespace) -> int:
    settings = load_settings()
    content = load_content(settings.content_file)  # fail on bad content before anything else is printed
    _configure_logging(settings.log_level)
    logging.getLogger(__name__).info("starting with %s", settings.masked())
    asyncio.run(_run(settings, content))
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from bot.sandbox.chat import run_sandbox

    return run_sandbox(database=args.database, fresh=args.fresh, language=args.lang)


async def _import(kind: str, path: str, text: str, dry_run: bool) -> int:
    from bot.app import build_loyalty
    from flows.clock import SystemClock
    from flows.imports import Imports
    from storage.customers import CustomersRepo
    from storage.db import Database

    settings = load_settings()
    content = load_content(settings.content_file)
    db = await Database.open(settings.database_path)
    try:
        services = build_loyalty(settings, content, SystemClock(), db, CustomersRepo(db))
        imports = Imports(
            db,
            services["purchases"],
            services["loyalty"],
            services["ledger"],
            content,
            settings.zone,
            settings.max_purchase_amount,
        )
        run = imports.purchases_csv if kind == "purchases" else imports.customers_csv
        report = await run(text, dry_run=dry_run)
    finally:
        await db.close()
    for rejected in report.rejected:
        print(f"{path}:{rejected.line}: {rejected.message}", file=sys.stderr)
    if report.rejected:
        print(f"{len(report.rejected)} of {report.rows} row(s) rejected: nothing was imported.", file=sys.stderr)
        return 1
    if kind == "purchases":
        summary = f"{report.recorded} purchase(s) recorded, {report.duplicates} already imported before"
    else:
        summary = f"{report.created} customer(s) created, {report.updated} updated"
    print(f"dry run, nothing written: {summary}" if dry_run else summary)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    try:
        with open(args.file, encoding="utf-8-sig") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"{args.file}: cannot read it as a UTF-8 text file ({exc})")
    return asyncio.run(_import(args.kind, args.file, text, args.dry_run))


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
    importer.set_defaults(func=cmd_import)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (SettingsError, ContentError, SchemaTooNewError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
