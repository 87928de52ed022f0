"""The console's Numbers in a real browser: a custom date range shows that range's figures and charts, a
wrong range is explained next to the fields, and a question the FAQ missed is taught from the page — after
which the bot answers it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Harness
from tests.console_helpers import console_url, csrf_token, http_login, log_in_by_link, screenshot_path
from tests.handoff_helpers import texts
from tests.test_faq_teaching import NO_ANSWER, PRICES
from tests.test_stats import build_fixture

pytestmark = pytest.mark.asyncio(loop_scope="module")


def card(page: Any, label: str) -> Any:
    """The value of a headline figure."""
    return page.locator(".figures div", has=page.locator("dt", has_text=label)).locator("dd")


async def test_a_custom_date_range_shows_the_figures_of_those_days(harness: Harness, page: Any) -> None:
    from playwright.async_api import expect

    await build_fixture(harness)
    await log_in_by_link(page, harness)
    base = await console_url(harness)
    await page.goto(f"{base}/numbers")
    await expect(card(page, "Revenue")).to_have_text("840.00 UAH")  # the last 30 days, loaded by htmx
    await page.fill("input[name=from]", "2025-12-10")
    await page.fill("input[name=to]", "2025-12-20")
    await page.get_by_role("button", name="Show").click()
    # 10–20 December: A's 100 and 200, F's 90 (test_stats.py's fixture).
    await expect(card(page, "Revenue")).to_have_text("390.00 UAH")
    await expect(card(page, "Purchases")).to_have_text("3")
    await expect(card(page, "Repeat purchase rate")).to_have_text("50%")
    await expect(page.locator("#figures h2").first).to_contain_text("Dec 10, 2025 – Dec 20, 2025")
    for chart in await page.locator("figure.chart img").all():
        await chart.scroll_into_view_if_needed()
        await expect(chart).to_have_js_property("complete", True, timeout=20_000)  # the first matplotlib render
        assert await chart.evaluate("img => img.naturalWidth") > 0
    await page.screenshot(path=screenshot_path("numbers"), full_page=True)


async def test_a_reversed_range_is_explained_next_to_the_dates(harness: Harness, page: Any) -> None:
    from playwright.async_api import expect

    await log_in_by_link(page, harness)
    base = await console_url(harness)
    await page.goto(f"{base}/numbers?from=2025-12-20&to=2025-12-10")
    await expect(page.locator("#period-problem")).to_have_text("The last day is before the first.")
    await expect(page.locator("input[name=to]")).to_have_attribute("aria-invalid", "true")
    await page.goto(f"{base}/numbers?from=someday&to=2025-12-10")
    await expect(page.locator("#period-problem")).to_contain_text("The first day is not a date")


async def test_teaching_a_missed_question_from_the_page_makes_the_bot_answer_it(
    harness: Harness, page: Any
) -> None:
    from playwright.async_api import expect

    anna, boris = harness.chat(1001), harness.chat(1002, first_name="Boris")
    assert NO_ANSWER in texts(await anna.send("Is there a student discount?"))
    await log_in_by_link(page, harness)
    base = await console_url(harness)
    await page.goto(f"{base}/numbers/questions")
    group = page.locator("section.question", has_text="Is there a student discount?")
    await expect(group.locator("h2")).to_have_text("1× Is there a student discount?")
    await page.screenshot(path=screenshot_path("numbers-questions"), full_page=True)
    await group.locator("select[name=entry]").select_option(label="💳 Prices")
    await group.get_by_role("button", name="Answer with it").click()
    await expect(page.locator(".notice")).to_contain_text("answered by that entry")
    await expect(page.locator("section.question", has_text="student discount")).to_have_count(0)
    assert PRICES in texts(await boris.send("is ther a studnet discount"))


async def test_a_manager_sees_the_questions_but_only_the_owner_teaches(harness: Harness) -> None:
    from tests.loyalty_helpers import MANAGER_ID, hire

    await harness.chat(1001).send("Is there a student discount?")
    await hire(harness, MANAGER_ID, "manager")
    base = await console_url(harness)
    client = await http_login(harness, MANAGER_ID)
    async with client:
        async with client.get(f"{base}/numbers/questions") as response:
            text = await response.text()
            assert response.status == 200 and "Is there a student discount?" in text
            assert "Answer with it" not in text
        form = {"q": "1", "action": "not_ours", "csrf_token": await csrf_token(client, base)}
        async with client.post(f"{base}/numbers/questions/teach", data=form) as refused:
            assert refused.status == 403 and "for the owner" in await refused.text()


async def test_an_empty_answer_for_a_new_entry_is_refused_next_to_the_field(harness: Harness) -> None:
    await harness.chat(1001).send("can I rent the hall for a party?")
    [group] = await harness.services["faq_teaching"].groups()
    base = await console_url(harness)
    client = await http_login(harness)
    async with client:
        form = {"q": str(group.representative.id), "action": "new", "answer": "  ", "csrf_token": ""}
        form["csrf_token"] = await csrf_token(client, base)
        async with client.post(f"{base}/numbers/questions/teach", data=form) as response:
            text = await response.text()
            assert response.status == 400 and 'role="alert">The answer is empty.</p>' in text
        assert await harness.services["faq_teaching"].groups()  # nothing was taught


async def test_answering_with_no_entry_chosen_asks_for_one_next_to_the_list(harness: Harness) -> None:
    await harness.chat(1001).send("Is there a student discount?")
    [group] = await harness.services["faq_teaching"].groups()
    base = await console_url(harness)
    client = await http_login(harness)
    async with client:
        form = {"q": str(group.representative.id), "action": "means", "entry": ""}
        form["csrf_token"] = await csrf_token(client, base)
        async with client.post(f"{base}/numbers/questions/teach", data=form) as response:
            text = await response.text()
            assert response.status == 400
            assert 'role="alert">Choose the entry that answers these questions.</p>' in text


async def test_the_numbers_page_speaks_russian_and_works_without_script(harness: Harness) -> None:
    await build_fixture(harness)
    base = await console_url(harness)
    client = await http_login(harness)
    async with client:
        form = {"language": "ru", "next": "/numbers", "csrf_token": await csrf_token(client, base)}
        async with client.post(f"{base}/language", data=form) as switched:
            assert switched.status == 200
        async with client.get(f"{base}/numbers?from=10.12.2025&to=20.12.2025&wait=1") as response:
            text = await response.text()
    assert response.status == 200 and "Цифры" in text and "Первый день" in text
    assert "выбранные дни" in text and "Средний чек" in text  # the figures inline, in Russian
    assert "390,00" in text  # Russian number format
