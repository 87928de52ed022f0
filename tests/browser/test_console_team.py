"""The console's Team page in a real browser (owner only): invite, change a role, revoke — a revoked
manager's next console request is refused, the bot's staff commands refuse them and they are out of the
managers' group — and the audit log's filters."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import OWNER_ID, Harness
from tests.console_helpers import console_url, csrf_token, http_login, log_in_by_link, screenshot_path
from tests.handoff_helpers import FORUM, MANAGERS, OLGA, manager_chat, settle
from tests.loyalty_helpers import CASHIER_ID, card_code, hire

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.mark.parametrize("settings_overrides", [FORUM])
async def test_a_revoked_manager_is_refused_by_the_console_and_the_bot_and_leaves_the_group(
    harness: Harness, page: Any
) -> None:
    from playwright.async_api import expect

    await manager_chat(harness)  # Olga and Petro, managers, in the managers' group
    harness.emu.set_member(MANAGERS, OLGA, "member")
    code = await card_code(harness.chat(1001))
    olga = harness.chat(OLGA, first_name="Olga")
    base = await console_url(harness)
    client = await http_login(harness, OLGA)
    async with client:
        async with client.get(f"{base}/numbers") as response:
            assert response.status == 200
        await log_in_by_link(page, harness)
        await page.goto(f"{base}/team")
        await page.screenshot(path=screenshot_path("team"), full_page=True)
        await page.get_by_role("button", name=f"Revoke access of staff {OLGA}").click()
        await expect(page.locator(".notice")).to_have_text(
            "Access revoked. They are also removed from the managers' group."
        )
        await expect(page.locator("table.team")).not_to_contain_text(f"staff {OLGA}")
        async with client.get(f"{base}/numbers") as response:
            assert response.status == 403 and "access to the console has ended" in await response.text()
    assert "only for the team" in str((await olga.send(f"/points {code} +10 gift"))[-1])
    await settle(harness)
    assert harness.emu.member(MANAGERS, OLGA) == "left"
    audit = page.locator("table.audit tbody tr").first
    await page.reload()
    await expect(audit).to_contain_text("revoked access")


async def test_the_owner_invites_and_changes_a_role_in_effect_at_once(harness: Harness, page: Any) -> None:
    from playwright.async_api import expect

    await log_in_by_link(page, harness)
    base = await console_url(harness)
    await page.goto(f"{base}/team")
    await page.get_by_role("button", name="Invite a cashier").click()
    link = await page.locator("input.link").input_value()
    token = re.search(r"start=(staff-[\w-]+)", link)
    assert token, link
    cashier = harness.chat(CASHIER_ID, first_name="Olena")
    assert "Welcome to the team" in str((await cashier.send(f"/start {token.group(1)}"))[-1])
    code = await card_code(harness.chat(1001))
    assert "not part of your role" in str((await cashier.send(f"/points {code} +10 gift"))[-1])
    await page.goto(f"{base}/team")
    await page.get_by_role("combobox", name="Role of Olena").select_option("manager")
    await page.get_by_role("button", name="Change").click()
    await expect(page.locator(".notice")).to_contain_text("in effect")
    assert "not part of your role" not in str((await cashier.send(f"/points {code} +10 gift"))[-1])


async def test_the_audit_log_filters_and_explains_a_bad_date(harness: Harness, page: Any) -> None:
    from playwright.async_api import expect

    await hire(harness, CASHIER_ID, "cashier")
    await log_in_by_link(page, harness)
    base = await console_url(harness)
    await page.goto(f"{base}/team")
    await page.get_by_role("combobox", name="What").select_option("staff_joined")
    await page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.audit tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("joined the team")
    await page.get_by_role("combobox", name="Who").select_option(str(OWNER_ID))
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("table.audit")).to_have_count(0)  # the owner did not join: nothing matches
    await page.goto(f"{base}/team?since=2026-02-30")
    await expect(page.locator("#filter-problem")).to_contain_text("The first day is not a date")


async def test_a_manager_cannot_open_the_team_page_or_post_to_it(harness: Harness) -> None:
    from tests.loyalty_helpers import MANAGER_ID

    await hire(harness, MANAGER_ID, "manager", name="Oksana")
    await hire(harness, CASHIER_ID, "cashier")
    base = await console_url(harness)
    client = await http_login(harness, MANAGER_ID)
    async with client:
        async with client.get(f"{base}/team") as response:
            assert response.status == 403
        form = {"tg_id": str(CASHIER_ID), "csrf_token": await csrf_token(client, base)}
        async with client.post(f"{base}/team/revoke", data=form) as response:
            assert response.status == 403
    assert await harness.services["staff"].role_of(CASHIER_ID) == "cashier"


async def test_typed_names_and_questions_are_escaped_on_the_pages(harness: Harness) -> None:
    hostile = '<img src=x onerror="alert(1)">'
    await hire(harness, CASHIER_ID, "cashier", name=hostile)
    await harness.chat(1001).send(f"do you sell {hostile}?")
    base = await console_url(harness)
    client = await http_login(harness)
    async with client:
        for page in ("/team", "/numbers/questions"):
            async with client.get(f"{base}{page}") as response:
                text = await response.text()
                assert response.status == 200 and hostile not in text, page
                assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in text, page
