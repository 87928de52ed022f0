"""The Customers pages in a real browser: find a customer, correct their points, and the bot agrees."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from flows.purchases import NewPurchase
from tests.conftest import OWNER_ID, Harness
from tests.console_helpers import log_in_by_link, screenshot_path
from tests.handoff_helpers import add_staff

pytestmark = pytest.mark.asyncio(loop_scope="module")
CASHIER_ID = 5001


async def test_owner_finds_a_customer_and_corrects_their_points(page: Any, harness: Harness, console: str) -> None:
    anna = harness.chat(1001, first_name="Anna", username="anna_k")
    await anna.send("/start")
    await harness.chat(1002, first_name="Bohdan").send("/start")
    customer = await harness.services["customers"].repo.by_tg_id(1001)
    await harness.services["purchases"].record(NewPurchase(customer.id, Decimal("1200"), "api", external_id="p1"))
    await harness.services["people"].add_tag(OWNER_ID, customer.id, "vip")
    await harness.tick()  # the welcome sequence starts
    await log_in_by_link(page, harness)
    await page.get_by_role("link", name="Customers").click()
    assert "2 customers in this audience" in await page.locator("#audience").inner_text()
    await page.get_by_label("Who to list").fill("tier:nonsense")
    await page.locator("#segment-error").wait_for()  # the parser's message, next to the field, as typed
    await page.get_by_label("Find a customer").fill("ann")
    result = page.locator("#results").get_by_role("link", name="Anna")
    await result.wait_for()  # live results, without pressing Find
    await page.screenshot(path=screenshot_path("customers"), full_page=True)
    await result.click()
    await page.get_by_label("Change, e.g. +50 or -20").fill("+0")
    await page.get_by_label("Reason (the customer sees it)").fill("a gift for the review")
    await page.get_by_role("button", name="Correct points").click()
    assert "Write a whole number of points" in await page.locator("#e-delta").inner_text()
    await page.get_by_label("Change, e.g. +50 or -20").fill("+75")
    await page.get_by_role("button", name="Correct points").click()
    await page.get_by_role("status").wait_for()
    assert "Points corrected" in await page.get_by_role("status").inner_text()
    assert await page.locator("#balance").inner_text() == "161"  # 50 welcome + 36 for the purchase + 75
    await page.screenshot(path=screenshot_path("customer"), full_page=True)
    replies = await anna.send("/balance")
    assert "161" in str(replies[-1]) and "a gift for the review" in str(replies[-1])


async def test_a_cashier_looks_a_customer_up_but_cannot_post_a_correction(
    page: Any, harness: Harness, console: str
) -> None:
    await harness.chat(1001, first_name="Anna").send("/start")
    customer = await harness.services["customers"].repo.by_tg_id(1001)
    await add_staff(harness, CASHIER_ID, "cashier")
    await log_in_by_link(page, harness, CASHIER_ID)
    await page.goto(f"{console}/customers/{customer.id}")
    assert await page.locator("h1").inner_text() == "Anna"
    assert await page.get_by_role("button", name="Correct points").count() == 0
    # Posting the form anyway (from the console's own page, with the session's CSRF token) is refused.
    status = await page.evaluate(
        """async (path) => {
            const token = document.querySelector('input[name="csrf_token"]').value;
            const body = new URLSearchParams({csrf_token: token, delta: "+500", reason: "mine", request: "made-up-token"});
            return (await fetch(path, {method: "POST", body})).status;
        }""",
        f"/customers/{customer.id}/points",
    )
    assert status == 403
    assert await harness.services["ledger"].balance(customer.id) == 0
