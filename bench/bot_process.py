"""`python -m bench.bot_process [--echo]`: one webhook bot process for bench/cluster.py.

By default it is `nurture-bot run` in webhook mode with the send budget set so high it never waits (the
throughput benchmark measures the bot's work, not Telegram's 25–30 messages/s, as bench/hotpath.py does).
`--echo` is the baseline: a bare aiogram Dispatcher answering every text with itself, in webhook mode with
the same handling (the POST is answered after the handler ran). Settings come from the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections import Counter
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.app import WEBHOOK_PATH, create_app, run_webhook
from bot.settings import Settings, load_settings
from flows.content import load_content
from storage.db import Database, Tx
from storage.postgres import PostgresDatabase


async def nurture(settings: Settings) -> None:
    from bench.hotpath import unpaced

    app = unpaced(await create_app(settings, content=load_content(settings.content_file)))
    if os.environ.get(GLOBAL_LOCK_ONLY) and isinstance(app.db, PostgresDatabase):
        app.db.scoped_writes = False  # the 'before': every write transaction takes the one lock exclusively
    callers = count_callers(app.db)
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, dump_stats, app.db, callers)
    try:
        await app.start_console()
        await run_webhook(app)
    finally:
        await app.close()


GLOBAL_LOCK_ONLY = "BENCH_GLOBAL_LOCK_ONLY"  # set (to anything): no scoped write transactions
STATS_FILE = "db-stats-{pid}.json"  # in the working directory; bench/processes.py reads it
_DATABASE_FILES = ("storage/db.py", "storage/postgres.py", "storage/sqlite.py", "contextlib.py")


def count_callers(db: Database) -> Counter[str]:
    """Count write transactions by the function that opened them (the first frame outside the database
    layer): which ones every update runs. Wraps this instance's `transaction` only."""
    callers: Counter[str] = Counter()
    opened = db.transaction

    def transaction(scope: str | None = None) -> AbstractAsyncContextManager[Tx]:
        frame = sys._getframe(1)
        while frame.f_back is not None and frame.f_code.co_filename.endswith(_DATABASE_FILES):
            frame = frame.f_back
        code = frame.f_code
        scoped = " (scoped)" if scope is not None and getattr(db, "scoped_writes", False) else ""
        callers[f"{Path(code.co_filename).stem}.{code.co_qualname}{scoped}"] += 1
        return opened(scope)

    db.transaction = transaction  # type: ignore[method-assign]
    return callers


def dump_stats(db: Database, callers: Counter[str]) -> None:
    """SIGUSR1: write this process's write-transaction figures so far to STATS_FILE."""
    both = [db.write_stats, *([db.scoped_stats] if isinstance(db, PostgresDatabase) else [])]
    figures = {
        "transactions": sum(s.transactions for s in both),
        "waited": sum(s.waited for s in both),
        "held": sum(s.held for s in both),
        "callers": callers,
    }
    path = Path(STATS_FILE.format(pid=os.getpid()))
    path.with_suffix(".tmp").write_text(json.dumps(figures))
    path.with_suffix(".tmp").replace(path)  # whole or not at all for the reader


async def echo(settings: Settings) -> None:
    bot = Bot(
        settings.bot_token.get_secret_value(),
        session=AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url)),
    )
    dp = Dispatcher()

    @dp.message()
    async def answer(message: Message) -> None:
        await message.answer(message.text or "?")

    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    app = web.Application()
    SimpleRequestHandler(dp, bot, secret_token=secret, handle_in_background=False).register(app, path=WEBHOOK_PATH)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await bot.set_webhook(f"{settings.webhook_url}{WEBHOOK_PATH}", secret_token=secret)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await bot.session.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bot_process", description=__doc__)
    parser.add_argument("--echo", action="store_true", help="the bare aiogram echo bot")
    args = parser.parse_args()
    settings = load_settings()
    logging.basicConfig(level=settings.log_level)
    asyncio.run(echo(settings) if args.echo else nurture(settings))


if __name__ == "__main__":
    main()
