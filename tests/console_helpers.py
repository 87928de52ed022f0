"""Helpers and fixtures for the console's tests: a running bot with its console, a real browser, and ways in.

Browser tests drive Debian's chromium (`/usr/bin/chromium`, which `python3 dev.py test` installs when it
runs as root) through Playwright; no browser build is ever downloaded. Without chromium they skip, saying
why. Browser tests live in `tests/browser/`, whose conftest brings the fixtures below. One browser serves
a whole test module, so such a module runs its tests on the module's event loop — start it with

    pytestmark = pytest.mark.asyncio(loop_scope="module")

— and the bot's fixtures (`emu`, `harness`) are redefined here on that loop (conftest's would run on
another loop than the browser's). Each test still gets a fresh bot, database and browser context (no
cookies carried over). Tests that only speak HTTP live in `tests/` with conftest's own fixtures and use
`console_url`, `http_login` and `csrf_token`.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import pytest_asyncio

from bot.sandbox.emulator import Emulator
from console.auth import COOKIE, sign_init_data
from flows.clock import FakeClock
from tests.conftest import OWNER_ID, TOKEN, Harness, make_settings

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
LINK = re.compile(r"https?://\S+/login/[\w-]+")
THEME = {"bg_color": "#ffffff", "text_color": "#000000", "button_color": "#2481cc", "button_text_color": "#ffffff"}


def chromium_path() -> str | None:
    """Debian's chromium, if installed."""
    return shutil.which("chromium") or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)


# --- fixtures -----------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    """One headless chromium for the module (skips when chromium is not installed)."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("chromium is not installed (as root, `python3 dev.py test` installs it with apt-get)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        # As root (CI containers) chromium refuses to start with its sandbox on.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        launched = await playwright.chromium.launch(executable_path=executable, args=args)
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="module")
async def emu(emulator_options: dict[str, Any], clock: FakeClock) -> AsyncIterator[Emulator]:
    emulator = Emulator(**{"monotonic": clock.monotonic, **emulator_options})
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def harness(
    emu: Emulator, tmp_path: Path, settings_overrides: dict[str, Any], clock: FakeClock
) -> AsyncIterator[Harness]:
    h = Harness(emu, make_settings(tmp_path, emu.api_base, **settings_overrides), clock)
    await h.start()
    try:
        yield h
    finally:
        await h.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def console(harness: Harness) -> str:
    """The console of the running bot; its base URL."""
    return await harness.app.start_console()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Any) -> AsyncIterator[Any]:
    """A fresh browser tab with no cookies (a new context per test)."""
    context = await browser.new_context(viewport={"width": 420, "height": 860}, locale="en-US")
    context.set_default_timeout(10_000)
    try:
        yield await context.new_page()
    finally:
        await context.close()


# --- ways in ------------------------------------------------------------------------------------


async def console_url(harness: Harness) -> str:
    """Start the running bot's console (once); its base URL."""
    return await harness.app.start_console()


async def login_link(harness: Harness, tg_id: int = OWNER_ID, name: str = "Olga") -> str:
    """The one-time link the bot sends this person on /console."""
    replies = await harness.chat(tg_id, first_name=name).send("/console")
    match = LINK.search(str(replies[-1])) if replies else None
    assert match, f"no login link in the reply to /console: {replies}"
    return match.group(0)


async def log_in_by_link(page: Any, harness: Harness, tg_id: int = OWNER_ID) -> None:
    """Open the link from /console in the browser, as a person would; ends on the console's home."""
    base = await console_url(harness)
    await page.goto(await login_link(harness, tg_id))
    await page.wait_for_url(f"{base}/")


def signed_init_data(
    tg_id: int,
    at: datetime,
    *,
    first_name: str = "Olga",
    language: str | None = "en",
    token: str = TOKEN,
) -> str:
    """Mini App initData as Telegram signs it at `at` (the test's clock) for the bot with `token`."""
    user: dict[str, Any] = {"id": tg_id, "first_name": first_name}
    if language:
        user["language_code"] = language
    fields = {
        "auth_date": str(int(at.timestamp())),
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(user, separators=(",", ":")),
    }
    return sign_init_data(fields, token)


def mini_app_url(base: str, init_data: str) -> str:
    """The address Telegram opens for the Mini App: the console with initData and the theme in the fragment."""
    theme = quote(json.dumps(THEME, separators=(",", ":")))
    return f"{base}/#tgWebAppData={quote(init_data)}&tgWebAppVersion=8.0&tgWebAppPlatform=tdesktop&tgWebAppThemeParams={theme}"


async def log_in_by_init_data(page: Any, harness: Harness, init_data: str) -> None:
    """Open the console as Telegram opens the Mini App; the page's script signs in with initData."""
    base = await console_url(harness)
    await page.goto(mini_app_url(base, init_data))


async def http_login(harness: Harness, tg_id: int = OWNER_ID) -> aiohttp.ClientSession:
    """An HTTP client signed in through the one-time link (close it when done); it sends the console's
    Origin, as a browser on the console's pages does."""
    base = await console_url(harness)
    link = await login_link(harness, tg_id)
    client = aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        headers={"Origin": base},  # unsafe: cookies for 127.0.0.1
    )
    async with client.post(link, allow_redirects=False) as response:
        assert response.status == 303, await response.text()
    assert any(cookie.key == COOKIE for cookie in client.cookie_jar)
    return client


async def csrf_token(client: aiohttp.ClientSession, base: str) -> str:
    """The session's CSRF token, as the console's pages carry it."""
    async with client.get(f"{base}/") as response:
        match = re.search(r'name="csrf_token" value="([^"]+)"', await response.text())
    assert match
    return match.group(1)


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


# --- forms over HTTP ------------------------------------------------------------------------------


@pytest.fixture(name="owner")
async def owner_session(harness: Harness) -> AsyncIterator[aiohttp.ClientSession]:
    """The owner signed in over HTTP (the `owner` fixture: import `owner_session` into a test module)."""
    client = await http_login(harness)
    try:
        yield client
    finally:
        await client.close()


async def form(client: aiohttp.ClientSession, url: str) -> dict[str, str]:
    """The form's fields as the page filled them (what a browser would post back)."""
    async with client.get(url) as response:
        assert response.status == 200, await response.text()
        page = await response.text()
    fields = {
        name: value
        for tag, name, value in re.findall(r'(<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"[^>]*>)', page)
        if 'type="checkbox"' not in tag or " checked" in tag  # a browser posts only ticked boxes
    }
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        fields[name] = text
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        fields[name] = chosen.group(1) if chosen else ""
    return {name: html.unescape(value) for name, value in fields.items()}


async def post(client: aiohttp.ClientSession, url: str, fields: dict[str, str]) -> tuple[int, str]:
    """Post a form back with its save button; the status and the page."""
    return await post_as(client, url, {**fields, "action": "save"})


async def post_as(client: aiohttp.ClientSession, url: str, fields: dict[str, str]) -> tuple[int, str]:
    """Post exactly these fields (the button pressed among them); the status and the page."""
    async with client.post(url, data=fields) as response:
        return response.status, await response.text()


async def choose_language(client: aiohttp.ClientSession, base: str, language: str) -> None:
    """Switch the signed-in person's console language, as the language menu does."""
    token = await csrf_token(client, base)
    form = {"csrf_token": token, "language": language, "next": "/"}
    async with client.post(f"{base}/language", data=form, allow_redirects=False) as response:
        assert response.status == 303, await response.text()
