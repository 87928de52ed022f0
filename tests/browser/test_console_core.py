"""The console in a real browser (Debian's chromium): signing in by link and as a Mini App, the language."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import OWNER_ID, Harness
from tests.console_helpers import log_in_by_init_data, log_in_by_link, screenshot_path, signed_init_data

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_owner_signs_in_through_the_link_from_console(page: Any, harness: Harness, console: str) -> None:
    await log_in_by_link(page, harness)
    assert await page.locator("h1").inner_text() == harness.app.content.business.name
    assert "signed in as the owner" in await page.locator("main").inner_text()
    assert await page.get_by_role("link", name="Home").get_attribute("aria-current") == "page"
    await page.screenshot(path=screenshot_path("home"), full_page=True)


async def test_owner_signs_in_as_a_mini_app(page: Any, harness: Harness, console: str) -> None:
    await log_in_by_init_data(page, harness, signed_init_data(OWNER_ID, harness.clock.now()))
    await page.wait_for_url(f"{console}/")
    assert "signed in as the owner" in await page.locator("main").inner_text()
    # Telegram's theme colours reach the page
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(255, 255, 255)"


async def test_switching_language_changes_the_page(page: Any, harness: Harness, console: str) -> None:
    await log_in_by_link(page, harness)
    await page.get_by_label("Language").select_option("ru")
    await page.get_by_role("button", name="Switch").click()
    await page.wait_for_function("document.documentElement.lang === 'ru'")
    assert "Вы вошли как владелец" in await page.locator("main").inner_text()
    await page.reload()
    assert await page.evaluate("document.documentElement.lang") == "ru"  # kept for this person


async def test_without_a_session_the_console_explains_how_to_get_in(page: Any, console: str) -> None:
    response = await page.goto(f"{console}/")
    assert response is not None and response.url == f"{console}/welcome"
    assert "/console" in await page.locator("main").inner_text()
