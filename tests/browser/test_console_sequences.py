"""Sequences and the catalogue in a real browser: a new sequence with one step is added and listed, the
currency and catalogue page is reached from the navigation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Harness
from tests.console_helpers import log_in_by_link, screenshot_path

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_owner_adds_a_sequence_with_one_step_and_sees_it_listed(
    page: Any, harness: Harness, console: str
) -> None:
    await log_in_by_link(page, harness)
    await page.goto(f"{console}/content/sequences")
    await page.get_by_role("link", name="New sequence").click()
    await page.wait_for_url(f"{console}/content/sequences-new")
    await page.locator("#key").fill("spring-hello")
    await page.locator("#title").fill("Spring hello")
    await page.locator("#trigger\\.event").select_option("start")
    await page.locator("#text\\.en").fill("Spring is here: come <b>try</b> a class!")
    await page.get_by_role("button", name="Add the sequence").click()
    assert "the ru text is missing" in await page.locator("#text-error").inner_text()  # nothing saved yet
    await page.screenshot(path=screenshot_path("content_sequence_new"), full_page=True)
    await page.locator("#text\\.ru").fill("Весна: приходите на занятие!")
    await page.locator("#text\\.uk").fill("Весна: приходьте на заняття!")
    await page.get_by_role("button", name="Add the sequence").click()
    await page.wait_for_url(f"{console}/content/sequences/spring-hello?saved=2")
    assert "Spring is here: come try a class!" in await page.locator("table").first.inner_text()
    await page.screenshot(path=screenshot_path("content_sequence"), full_page=True)
    await page.get_by_role("link", name="Sequences", exact=True).click()
    listed = await page.locator("table").inner_text()
    assert "spring-hello · Spring hello" in listed
    await page.screenshot(path=screenshot_path("content_sequences_added"), full_page=True)


async def test_owner_opens_the_catalogue_from_the_navigation(page: Any, harness: Harness, console: str) -> None:
    await log_in_by_link(page, harness)
    await page.get_by_role("link", name="Catalogue").click()
    await page.wait_for_url(f"{console}/content/catalog")
    assert await page.locator("#currency").input_value() == "UAH"
    await page.locator("#currency").fill("eur")
    await page.get_by_role("button", name="Preview").click()
    assert await page.locator('[data-amount="en"]').inner_text() == "€1,250.50"
    await page.screenshot(path=screenshot_path("content_catalog"), full_page=True)
