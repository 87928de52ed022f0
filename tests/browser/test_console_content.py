"""The content pages in a real browser: an FAQ answer edited and answered by the bot, a problem shown by its
field, a change reverted from the versions page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Harness
from tests.console_helpers import log_in_by_link, screenshot_path

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_owner_edits_an_faq_answer_and_the_bot_answers_with_it(
    page: Any, harness: Harness, console: str
) -> None:
    await log_in_by_link(page, harness)
    await page.goto(f"{console}/content/faq")
    await page.screenshot(path=screenshot_path("content-faq"), full_page=True)
    await page.get_by_role("link", name="💳 Prices").click()
    answer = page.locator("#answer\\.en")
    await answer.fill("<b>Prices</b>\nA class is <i>350 ₴</i> from Monday.")
    await page.get_by_role("button", name="Preview").click()
    bubble = page.locator('.bubble[data-language="en"]')
    assert await bubble.inner_text() == "Prices\nA class is 350 ₴ from Monday."
    assert await bubble.locator("b").inner_text() == "Prices"
    await page.screenshot(path=screenshot_path("content-faq-entry"), full_page=True)
    await page.get_by_role("button", name="Save").click()
    await page.wait_for_url(f"{console}/content/faq/prices?saved=2")
    assert "Saved as version 2" in await page.locator(".notice").inner_text()
    [reply] = await harness.chat(1001).send("What are your prices?")
    assert reply.plain_text == "Prices\nA class is 350 ₴ from Monday."


async def test_invalid_input_is_shown_next_to_the_field(page: Any, harness: Harness, console: str) -> None:
    await log_in_by_link(page, harness)
    await page.goto(f"{console}/content/faq/prices")
    await page.locator("#answer\\.uk").fill("<b>Ціни")
    await page.get_by_role("button", name="Save").click()
    field = page.locator("#answer\\.uk")
    assert await field.get_attribute("aria-invalid") == "true"
    assert await page.locator("#answer\\.uk-error").inner_text() == "<b> is not closed"
    assert await field.input_value() == "<b>Ціни"  # what was typed is kept
    await page.screenshot(path=screenshot_path("content-faq-problem"), full_page=True)
    assert await harness.services["content_edits"].versions() == []


async def test_owner_reverts_a_content_change(page: Any, harness: Harness, console: str) -> None:
    await log_in_by_link(page, harness)
    await page.goto(f"{console}/content/faq/prices")
    await page.locator("#answer\\.en").fill("Everything is free today.")
    await page.get_by_role("button", name="Save").click()
    await page.wait_for_url(f"{console}/content/faq/prices?saved=2")
    [changed] = await harness.chat(1001).send("What are your prices?")
    assert changed.plain_text == "Everything is free today."
    await page.get_by_role("link", name="Versions").click()
    assert "faq[prices].answer.en" in await page.locator("table").inner_text()
    await page.screenshot(path=screenshot_path("content-versions"), full_page=True)
    await page.get_by_role("button", name="Bring back version 1").click()
    assert "Version 1 brought back as version 3." in await page.locator(".notice").inner_text()
    [reverted] = await harness.chat(1001).send("What are your prices?")
    assert "Unlimited month — 2 800 ₴" in reverted.plain_text
