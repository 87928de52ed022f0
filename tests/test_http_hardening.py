"""The bot's HTTP doors: the webhook refuses forged and malformed requests, and neither server can be held
open by slow clients or flooded with connections."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import WEBHOOK_PATH, App, create_app, serve_webhook
from bot.sandbox.driver import ChatDriver
from bot.sandbox.emulator import Emulator
from bot.settings import SettingsError
from flows.clock import FakeClock
from tests.conftest import OWNER_ID, make_settings
from tests.test_running import free_port

SECRET = "a-webhook-secret-of-forty-characters-xyz"
# Small limits so that the slow-client tests take a fraction of a second; the assertions only wait
# longer than these (generously, for a loaded machine), never shorter.
LIMITS = {"http_header_timeout": 0.3, "http_body_timeout": 0.3, "http_max_connections": 16}
# With many clients the deadline is longer than it takes to open them all, so that none is closed (and
# its place taken) before the last one has connected, even on a loaded machine.
CROWD = {**LIMITS, "http_header_timeout": 3.0}
PATIENCE = 15.0


@contextlib.asynccontextmanager
async def webhook_bot(emu: Emulator, tmp_path: Path, **overrides: Any) -> AsyncIterator[tuple[App, str]]:
    """A bot in webhook mode on a free loopback port; yields the app and the webhook URL."""
    port = free_port()
    values = {"webhook_url": f"http://127.0.0.1:{port}", "webhook_host": "127.0.0.1", "webhook_port": port}
    app = await create_app(make_settings(tmp_path, emu.api_base, **{**values, **overrides}), clock=FakeClock())
    stop = asyncio.Event()
    serving = asyncio.create_task(serve_webhook(app, stop, scheduler=False))
    try:
        await emu.wait_for_call("setWebhook")
        yield app, f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    finally:
        stop.set()
        await serving
        await app.close()


def owner_update(text: str) -> dict[str, Any]:
    sender = {"id": OWNER_ID, "is_bot": False, "first_name": "Owner"}
    return {
        "update_id": 4242,
        "message": {
            "message_id": 7,
            "date": 0,
            "chat": {"id": OWNER_ID, "type": "private"},
            "from": sender,
            "text": text,
        },
    }


async def forged_post(url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers or {}) as response:
        return response.status


# --- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"webhook_secret": "s3cret-token"}, "WEBHOOK_SECRET: use 32–256 characters"),
        ({"webhook_secret": "x" * 31}, "WEBHOOK_SECRET: use 32–256 characters"),
        ({"webhook_secret": "ä" * 40}, "WEBHOOK_SECRET: use 32–256 characters"),
        ({"webhook_url": "http://bot.example.com"}, "WEBHOOK_URL: must start with https://"),
        ({"webhook_url": "http://10.0.0.5:8080"}, "WEBHOOK_URL: must start with https://"),
    ],
)
def test_weak_webhook_settings_refuse_to_start(tmp_path: Path, overrides: dict[str, Any], problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        make_settings(tmp_path, "http://127.0.0.1:1", **overrides)


@pytest.mark.parametrize(
    "url", ["https://bot.example.com", "http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:8"]
)
def test_https_or_loopback_webhook_urls_are_accepted(tmp_path: Path, url: str) -> None:
    assert make_settings(tmp_path, "http://127.0.0.1:1", webhook_url=url).webhook_url == url


# --- forged and malformed webhook requests ----------------------------------------------------


@pytest.mark.parametrize("secret", [None, SECRET], ids=["generated-secret", "configured-secret"])
async def test_forged_webhook_posts_are_refused_and_change_nothing(
    emu: Emulator, tmp_path: Path, secret: str | None
) -> None:
    async with webhook_bot(emu, tmp_path, webhook_secret=secret) as (app, url):
        registered = emu.calls_of("setWebhook")[-1].params["secret_token"]
        assert len(registered) >= 32 and (secret is None or registered == secret)
        body = json.dumps(owner_update("/start")).encode()
        statuses = [
            await forged_post(url, body),
            await forged_post(url, body, {"X-Telegram-Bot-Api-Secret-Token": "wrong" * 8}),
            await forged_post(url, body, {"X-Telegram-Bot-Api-Secret-Token": registered[:-1]}),
        ]
        assert statuses == [401, 401, 401]
        assert await app.db.fetch_value("SELECT COUNT(*) FROM customers") == 0
        assert emu.calls_of("sendMessage") == []
        # The real Telegram (the emulator, which knows the registered secret) still gets through.
        replies = await ChatDriver(emu, 1001, first_name="Anna").send("/start")
        assert any("Welcome" in reply.plain_text for reply in replies)


async def test_non_ascii_secret_header_and_junk_bodies_get_4xx(emu: Emulator, tmp_path: Path) -> None:
    async with webhook_bot(emu, tmp_path, webhook_secret=SECRET) as (_, url):
        port = int(url.split(":")[2].split("/")[0])
        raw_header = b"X-Telegram-Bot-Api-Secret-Token: \xc3\xa4\xff\xfe" + SECRET.encode()[4:]
        assert (await raw_request(port, raw_header, b"{}")).startswith(b"HTTP/1.1 401")
        good = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        for junk in (b"not json", b"[1]", b'{"update_id": "x"}', b"\xff\xfe", b'{"update_id": 1e999}'):
            assert await forged_post(url, junk, good) == 400, junk


async def raw_request(port: int, header: bytes, body: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"POST "
            + WEBHOOK_PATH.encode()
            + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            + header
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        return await asyncio.wait_for(reader.read(), PATIENCE)
    finally:
        writer.close()


# --- slow and many clients --------------------------------------------------------------------


async def open_slow(port: int, data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    with contextlib.suppress(ConnectionError):  # a refused connection may be closed before we write
        writer.write(data)
        await writer.drain()
    return reader, writer


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """What the server said before closing (b"" for a plain close, RESET when the close came before our
    data was read); raises TimeoutError if it never closes."""
    try:
        return await asyncio.wait_for(reader.read(), PATIENCE)
    except ConnectionResetError:
        return RESET


def refused(answers: list[bytes]) -> int:
    return sum(answer.startswith(b"HTTP/1.1 503") or answer == RESET for answer in answers)


RESET = b"(reset)"
HALF_HEAD = b"POST " + WEBHOOK_PATH.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"


async def test_a_half_sent_header_is_closed_after_the_header_timeout(emu: Emulator, tmp_path: Path) -> None:
    async with webhook_bot(emu, tmp_path, **LIMITS) as (_, url):
        port = int(url.split(":")[2].split("/")[0])
        reader, writer = await open_slow(port, HALF_HEAD)
        idle_reader, idle_writer = await open_slow(port, b"")
        assert await closed_by_server(reader) == b""
        assert await closed_by_server(idle_reader) == b""
        writer.close()
        idle_writer.close()


async def test_a_body_that_never_ends_gets_408(emu: Emulator, tmp_path: Path) -> None:
    async with webhook_bot(emu, tmp_path, webhook_secret=SECRET, **LIMITS) as (app, url):
        port = int(url.split(":")[2].split("/")[0])
        head = (
            f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nX-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n"
            "Content-Length: 1000\r\n\r\n{"
        )
        reader, writer = await open_slow(port, head.encode())
        assert (await closed_by_server(reader)).startswith(b"HTTP/1.1 408")
        writer.close()
        assert await app.db.fetch_value("SELECT COUNT(*) FROM customers") == 0


async def test_many_slow_clients_neither_exhaust_the_bot_nor_stop_it_answering(
    emu: Emulator, tmp_path: Path
) -> None:
    async with webhook_bot(emu, tmp_path, **CROWD) as (app, url):
        port = int(url.split(":")[2].split("/")[0])
        slow = await asyncio.gather(*(open_slow(port, HALF_HEAD) for _ in range(120)))
        # While they hang on, the bot's own calls to Telegram go through ...
        assert (await app.bot.get_me()).id
        # ... all but the first few were turned away at once, and every one is closed in the end.
        answers = await asyncio.gather(*(closed_by_server(reader) for reader, _ in slow))
        assert refused(answers) >= 120 - 16
        for _, writer in slow:
            writer.close()
        replies = await ChatDriver(emu, 1001, first_name="Anna").send("/start")
        assert any("Welcome" in reply.plain_text for reply in replies)


API_TOKEN = "test-api-token-0123456789"


async def test_the_purchases_api_closes_slow_clients_too(emu: Emulator, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, emu.api_base, api_token=API_TOKEN, api_port=0, **CROWD)
    app = await create_app(settings, clock=FakeClock())
    try:
        assert app.api is not None
        port = int(app.api.base_url.rsplit(":", 1)[1])
        head = b"POST /api/purchases HTTP/1.1\r\nHost: x\r\nAuthor"
        slow = await asyncio.gather(*(open_slow(port, head) for _ in range(40)))
        answers = await asyncio.gather(*(closed_by_server(reader) for reader, _ in slow))
        assert refused(answers) >= 40 - 16
        for _, writer in slow:
            writer.close()
        async with aiohttp.ClientSession() as http, http.get(f"{app.api.base_url}/api/health") as response:
            assert response.status == 200
    finally:
        await app.close()
