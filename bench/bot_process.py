"""`python -m bench.bot_process [--echo]`: one webhook bot process for bench/cluster.py.

By default it is `nurture-bot run` in webhook mode with the send budget set so high it never waits (the
throughput benchmark measures the bot's work, not Telegram's 25–30 messages/s, as bench/hotpath.py does).
`--echo` is the baseline: a bare aiogram Dispatcher answering every text with itself, in webhook mode with
the same handling (the POST is answered after the handler ran). Settings come from the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.app import WEBHOOK_PATH, create_app, run_webhook
from bot.settings import Settings, load_settings
from flows.content import load_content


async def nurture(settings: Settings) -> None:
    from bench.hotpath import unpaced

    app = unpaced(await create_app(settings, content=load_content(settings.content_file)))
    try:
        await app.start_console()
        await run_webhook(app)
    finally:
        await app.close()


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
