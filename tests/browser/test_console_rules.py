"""The sequence editor in a real browser: a step's text and delay changed, a bad delay shown by its field,
and the customer gets the new text when the step falls due."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import Harness
from tests.console_helpers import log_in_by_link, screenshot_path

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_owner_edits_a_sequence_step_and_the_customer_gets_it(
    page: Any, harness: Harness, console: str
) -> None:
    chat = harness.chat(1001)
    await chat.send("/start")  # Monday 12:00 UTC: step 2 of welcome goes the next day at 11:00 Kyiv
    await harness.advance(seconds=60)  # step 1
    await log_in_by_link(page, harness)
    await page.goto(f"{console}/content/sequences")
    await page.get_by_role("link", name="welcome").click()
    await page.get_by_role("link", name="Step 2").click()
    await page.locator("#delay").fill("soon")
    await page.get_by_role("button", name="Save").click()
    assert await page.locator("#delay").get_attribute("aria-invalid") == "true"
    assert "is not a duration" in await page.locator("#delay-error").inner_text()
    await page.locator("#delay").fill("1d")
    await page.locator("#text\\.en").fill("Your first class is <b>free</b> this week.")
    await page.get_by_role("button", name="Preview").click()
    assert await page.locator('.bubble[data-language="en"] b').inner_text() == "free"
    await page.screenshot(path=screenshot_path("content_sequences"), full_page=True)
    await page.get_by_role("button", name="Save").click()
    await page.wait_for_url(f"{console}/content/sequences/welcome/steps/2?saved=2")
    assert "Saved as version 2" in await page.locator(".notice").inner_text()
    harness.clock.set(datetime(2026, 1, 6, 9, 0, tzinfo=UTC))
    await harness.tick()
    assert "Your first class is free this week." in [m.plain_text for m in chat.messages()]


async def test_owner_sees_the_loyalty_rules(page: Any, harness: Harness, console: str) -> None:
    await log_in_by_link(page, harness)
    await page.goto(f"{console}/content/loyalty")
    await page.locator("#tier2\\.min_purchases").fill("1")  # below the level before it
    await page.get_by_role("button", name="Save").click()
    assert "list them from the lowest" in await page.locator("#tiers-error").inner_text()
    await page.screenshot(path=screenshot_path("content_loyalty"), full_page=True)
    assert await harness.services["content_edits"].versions() == []
