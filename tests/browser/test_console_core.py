"""The console in a real browser (Debian's chromium): signing in by link and as a Mini App, the language."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import OWNER_ID, Harness
from tests.console_helpers import (
    http_login,
    log_in_by_init_data,
    log_in_by_link,
    screenshot_path,
    signed_init_data,
)
from tests.loyalty_helpers import card_code, hire

pytestmark = pytest.mark.asyncio(loop_scope="module")
MANAGER_ID = 502


async def test_owner_signs_in_through_the_link_from_console(page: Any, harness: Harness, console: str) -> None:
    for user_id, name in ((1001, "Anna"), (1002, "Taras")):
        await harness.chat(user_id, first_name=name).send("/start")
    owner = harness.chat(OWNER_ID, first_name="Olga")
    await owner.send(f"/sale {await card_code(harness.chat(1001))} 1500")
    harness.clock.advance(timedelta(minutes=1))  # the figures count up to now, not including it
    await log_in_by_link(page, harness)
    figures = await page.locator(".figures").inner_text()
    assert "Customers\n2" in figures and "Purchases\n1" in figures, figures
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


async def test_owner_ends_a_managers_session_in_place(page: Any, harness: Harness, console: str) -> None:
    """htmx posts with the session's CSRF token in its header; the row goes, the manager is out."""
    await hire(harness, MANAGER_ID, "manager", name="Petro")
    manager = await http_login(harness, MANAGER_ID)
    async with manager:
        await log_in_by_link(page, harness)
        await page.get_by_role("link", name="Sign-ins").click()
        await page.evaluate("window.stillThisPage = true")
        row = page.get_by_role("row").filter(has_text="Petro")
        await row.get_by_role("button", name="End").click()
        await row.wait_for(state="detached")
        assert await page.evaluate("window.stillThisPage === true")  # no reload: htmx swapped the row out
        async with manager.get(f"{console}/", allow_redirects=False) as response:
            assert response.status == 303
