"""The coupon campaign editor in a real browser: a mistake shown by its field, then the campaign saved."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Harness
from tests.console_helpers import log_in_by_link, screenshot_path

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_owner_edits_a_coupon_campaign(page: Any, harness: Harness, console: str) -> None:
    await log_in_by_link(page, harness)
    await page.goto(f"{console}/content/coupons")
    await page.screenshot(path=screenshot_path("content_coupons"), full_page=True)
    await page.get_by_role("link", name="10% off any class").click()
    await page.locator("#value").fill("-5")
    await page.get_by_role("button", name="Save").click()
    assert await page.locator("#value").get_attribute("aria-invalid") == "true"
    assert "more than 0" in await page.locator("#value-error").inner_text()
    await page.screenshot(path=screenshot_path("content_coupon"), full_page=True)
    await page.locator("#value").fill("15")
    await page.get_by_role("button", name="Save").click()
    await page.wait_for_url(f"{console}/content/coupons/spring10?saved=2")
    assert harness.services["live_content"].current.loyalty.campaign("spring10").value == 15
