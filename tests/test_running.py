"""Running for real: webhook mode with its secret, and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from bot.app import WEBHOOK_PATH, create_app, serve_webhook
from bot.sandbox.driver import ChatDriver
from bot.sandbox.emulator import Emulator
from flows.clock import FakeClock
from storage.db import Database
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode_answers_and_refuses_requests_without_the_secret(emu: Emulator, tmp_path: Path) -> None:
    port = free_port()
    settings = make_settings(
        tmp_path,
        emu.api_base,
        webhook_url=f"http://127.0.0.1:{port}",
        webhook_host="127.0.0.1",
        webhook_port=port,
        webhook_secret="s3cret-token-s3cret-token-s3cret-token",
    )
    app = await create_app(settings, clock=FakeClock())
    stop = asyncio.Event()
    serving = asyncio.create_task(serve_webhook(app, stop, scheduler=False))
    try:
        await emu.wait_for_call("setWebhook")
        replies = await ChatDriver(emu, 1001, first_name="Anna").send("/start")
        assert any("Welcome" in reply.plain_text for reply in replies)
        async with aiohttp.ClientSession() as http:
            forged = {
                "update_id": 999,
                "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}},
            }
            async with http.post(f"http://127.0.0.1:{port}{WEBHOOK_PATH}", json=forged) as response:
                assert response.status == 401
    finally:
        stop.set()
        await serving
        await app.close()


async def test_sigterm_stops_the_bot_cleanly_and_keeps_the_data(emu: Emulator, tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": "123456:test-token",
        "TELEGRAM_API_URL": emu.api_base,
        "DATABASE_PATH": str(database),
        "LOG_LEVEL": "WARNING",
        "CONSOLE_PORT": "0",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        chat = ChatDriver(emu, 1001, first_name="Anna")
        emu.send_message(1001, "/start")
        await chat.wait_for_text("Welcome", timeout=20)
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    assert process.returncode == 0
    assert b"Traceback" not in stderr
    db = await Database.open(database)
    try:
        assert await db.fetch_value("SELECT first_name FROM customers WHERE tg_id = 1001") == "Anna"
    finally:
        await db.close()
