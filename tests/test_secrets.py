"""Secrets stay secret: no part of them in check-config or the start-up log, and a token quoted by an HTTP
error (aiohttp's TooManyRedirects carries the full Bot API URL) reaches no log record and no database
column."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.exceptions import TelegramNetworkError
from aiohttp import web

from bot.app import create_app
from bot.settings import Settings
from flows.clock import FakeClock
from flows.messenger import Outgoing
from flows.redaction import HIDDEN, install_log_redaction, redact, register_secret
from storage.db import open_database
from storage.outbox import NewMessage, OutboxRepo
from tests.conftest import make_settings
from tests.test_config import run_cli

TOKEN = "7012345678:AAH-secret-Token-value-0123456789abcdEF"
SECRET_PART = "secret-Token-value"
API_TOKEN = "api-token-that-is-long-and-secret-42"
WEBHOOK_SECRET = "webhook-secret-0123456789-abcdefghijkl"
ROOT = Path(__file__).resolve().parent.parent


@contextlib.asynccontextmanager
async def redirect_loop() -> AsyncIterator[str]:
    """A loopback 'Bot API' that answers every request with a redirect to itself, for ever."""

    async def again(request: web.Request) -> web.Response:
        raise web.HTTPFound(location=str(request.rel_url))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", again)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site.port}"
    finally:
        await runner.cleanup()


def test_redact_hides_registered_secrets_and_anything_token_shaped() -> None:
    register_secret("an-owner-secret-value")
    text = (
        "POST http://api/bot123:abc/sendMessage failed; file /file/bot99:zz/photo.jpg; "
        "token 5550001112:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA and an-owner-secret-value"
    )
    assert redact(text) == (
        f"POST http://api/bot{HIDDEN}/sendMessage failed; file /file/bot{HIDDEN}/photo.jpg; "
        f"token {HIDDEN} and {HIDDEN}"
    )
    assert redact("12:30 /bots /bottle") == "12:30 /bots /bottle"


def test_check_config_shows_no_character_of_any_secret(tmp_path: Path) -> None:
    env = {"BOT_TOKEN": TOKEN, "API_TOKEN": API_TOKEN, "WEBHOOK_SECRET": WEBHOOK_SECRET}
    result = run_cli("check-config", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for secret in (TOKEN.split(":")[1], API_TOKEN, WEBHOOK_SECRET):
        assert secret[:4] not in result.stdout and secret[-2:] + " " not in result.stdout
    assert f"set ({len(TOKEN)} chars)" in result.stdout
    assert f"set ({len(WEBHOOK_SECRET)} chars)" in result.stdout


@pytest.mark.engines("sqlite", reason="lists the tables from sqlite_master in the SQLite file")
async def test_a_token_in_an_http_error_reaches_no_log_record_and_no_column(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    install_log_redaction()
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    async with redirect_loop() as api:
        settings = make_settings(tmp_path, api, bot_token=TOKEN)
        app = await create_app(settings, clock=clock)
        try:
            with pytest.raises(TelegramNetworkError) as raised:
                await app.bot.send_message(1001, "hello")
            assert "TooManyRedirects" in str(raised.value) and SECRET_PART not in str(raised.value)
            message = NewMessage("k1", 1001, "test", Outgoing(text="hello").to_payload(), clock.now())
            await OutboxRepo(app.db).enqueue(message, clock.now())
            await app.tick()
            logging.getLogger("test").error("failed", exc_info=raised.value)
        finally:
            await app.close()
    stored = await every_text(settings)
    assert any("TooManyRedirects" in text for text in stored)  # the failure was recorded ...
    assert not [text for text in stored if SECRET_PART in text]  # ... without the token
    records = [f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records]
    assert any("TooManyRedirects" in text for text in records)
    assert not [text for text in records if SECRET_PART in text]


TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "postgresql": "SELECT table_name FROM information_schema.tables"
    " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
}


async def every_text(settings: Settings) -> list[str]:
    """Every text value in every table of the database."""
    db = await open_database(settings)
    try:
        tables = [row[0] for row in await db.fetch_all(TABLES[db.engine])]
        found: list[str] = []
        for table in tables:
            for row in await db.fetch_all(f'SELECT * FROM "{table}"'):
                found += [value for value in row if isinstance(value, str)]
        return found
    finally:
        await db.close()


async def test_the_running_bot_logs_no_part_of_its_secrets(tmp_path: Path) -> None:
    async with redirect_loop() as api:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": TOKEN,
            "API_TOKEN": API_TOKEN,
            "API_PORT": "0",
            "TELEGRAM_API_URL": api,
            "DATABASE_PATH": str(tmp_path / "bot.db"),
            "LOG_LEVEL": "DEBUG",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        finally:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
    log = stderr.decode()
    assert process.returncode == 1 and "TooManyRedirects" in log and "starting with" in log
    assert "Traceback" in log  # the error is logged in full ...
    for secret in (TOKEN.split(":")[1], API_TOKEN):  # ... with not one piece of a secret
        assert secret[:4] not in log and secret[-4:] not in log
