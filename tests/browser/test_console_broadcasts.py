"""The console's broadcasts in a real browser: the form with its live count and preview, the confirmation,
delivery to the segment only (after the bot's jobs run on the test clock) seen on the live page as it
polls, problems next to their fields, and pause and cancel."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from console.pages import broadcasts as broadcasts_page
from tests.broadcast_helpers import SALE, received, yoga_and_others
from tests.conftest import Harness
from tests.console_helpers import console_url, log_in_by_link, screenshot_path
from tests.loyalty_helpers import deliver

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Welcome steps would compete for the contact budget; quiet hours are tested elsewhere.
    return {"contact_budget_per_day": 20, "contact_budget_per_week": 50, "quiet_hours": ""}


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rate_limits": False}


async def test_form_counts_the_audience_as_typed_and_previews_the_message(page: Any, harness: Harness) -> None:
    await yoga_and_others(harness)
    await log_in_by_link(page, harness)
    await page.goto(f"{await console_url(harness)}/broadcasts/new")
    await page.fill("#segment", "bought:yoga")
    await expect(page.locator("#audience")).to_contain_text("1 customer")  # counted live as typed
    await expect(page.locator("#audience")).to_contain_text("Anna")  # the sample
    await page.fill("#text", f"<b>{SALE}</b>: 20% off & a <i>free</i> mat")
    await page.fill("#buttons", "Book a class | https://example.com/book")
    await expect(page.locator("#preview .tg-text b")).to_have_text(SALE)  # rendered as Telegram shows it
    await expect(page.locator("#preview .tg-button")).to_have_text("Book a class ↗")
    await page.screenshot(path=screenshot_path("broadcast-form"), full_page=True)


async def test_owner_sends_a_broadcast_and_only_the_segment_gets_it(
    page: Any, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broadcasts_page, "POLL_SECONDS", 0.3)  # the live page polls; no need to wait 2 s here
    await yoga_and_others(harness)
    await log_in_by_link(page, harness)
    await page.goto(f"{await console_url(harness)}/broadcasts/new?segment=bought:yoga")
    await page.fill("#text", f"<b>{SALE}</b>: 20% off & a <i>free</i> mat")
    await page.fill("#buttons", "Book a class | https://example.com/book")
    await page.get_by_role("button", name="Check and continue").click()
    await expect(page.locator("main")).to_contain_text("Goes to 1 customer now.")
    await page.get_by_role("button", name="Send now").click()
    await page.wait_for_url(re.compile(r"/broadcasts/\d+$"))
    await deliver(harness)
    assert received(harness, 1001) == 1 and received(harness, 1002) == 0
    [sale] = [m for m in harness.emu.messages(1001) if SALE in str(m)]
    assert sale.entities[0]["type"] == "bold" and [b for row in sale.buttons for b, _ in row] == ["Book a class"]
    await expect(page.locator('[data-figure="delivered"]')).to_have_text("1")  # the page polled, no reload
    await expect(page.locator(".state")).to_have_text("done")
    assert await page.locator("#progress").get_attribute("hx-trigger") is None  # ended: no more polling
    await page.screenshot(path=screenshot_path("broadcast-progress"), full_page=True)


async def test_problems_show_next_to_their_fields(page: Any, harness: Harness) -> None:
    await yoga_and_others(harness)
    await log_in_by_link(page, harness)
    await page.goto(f"{await console_url(harness)}/broadcasts/new")
    await page.fill("#segment", "bought:yoga lst_purchase>30d")
    await expect(page.locator("#audience .error")).to_contain_text("last_purchase")
    await page.fill("#text", "<blink>hi</blink>")
    await page.fill("#send_at", "2020-01-01T10:00")
    await page.get_by_role("button", name="Check and continue").click()
    await expect(page.locator("#segment-problem")).to_contain_text("cannot be read")
    await expect(page.locator("#text-problem")).to_contain_text("<blink>")
    await expect(page.locator("#text")).to_have_attribute("aria-invalid", "true")  # for screen readers too
    await expect(page.locator("#send_at-problem")).to_contain_text("already passed")
    assert not await harness.services["broadcasts"].repo.recent(5)


async def test_pause_and_cancel_on_the_live_page(page: Any, harness: Harness) -> None:
    await yoga_and_others(harness, others=3)
    await log_in_by_link(page, harness)
    await page.goto(f"{await console_url(harness)}/broadcasts/new?segment=everyone")
    await page.fill("#text", f"{SALE} for everyone")
    await page.get_by_role("button", name="Check and continue").click()
    await page.get_by_role("button", name="Send now").click()
    await page.wait_for_url(re.compile(r"/broadcasts/\d+$"))  # queued; the sender has not run yet
    await page.get_by_role("button", name="Pause").click()
    await expect(page.locator(".notice")).to_contain_text("Paused")
    await expect(page.get_by_role("button", name="Resume")).to_be_visible()
    await deliver(harness)
    assert sum(received(harness, tg) for tg in (1001, 1002, 1003, 1004)) == 0  # paused: nothing went out
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Cancel the rest").click()
    await expect(page.locator(".state")).to_have_text("cancelled")
    await expect(page.locator('[data-figure="cancelled"]')).to_have_text("4")
    await expect(page.get_by_role("button", name="Resume")).to_have_count(0)
    await deliver(harness)
    assert sum(received(harness, tg) for tg in (1001, 1002, 1003, 1004)) == 0
    await page.goto(f"{await console_url(harness)}/broadcasts")
    await expect(page.locator(".broadcast-list li")).to_have_count(1)
    await page.screenshot(path=screenshot_path("broadcasts"), full_page=True)
