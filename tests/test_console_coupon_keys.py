"""Coupon campaigns removed and re-keyed in the console: refused, naming the place, while a sequence step, a
gift, the birthday coupon or a broadcast still hands them out; coupons already issued stay valid."""

from __future__ import annotations

import re

import aiohttp

from tests.conftest import OWNER_ID, Harness
from tests.console_helpers import (
    console_url,
    csrf_token,
    http_login,
    owner_session,  # noqa: F401 (the `owner` fixture)
)
from tests.loyalty_helpers import hire

MANAGER_ID = 502


async def change_key(
    client: aiohttp.ClientSession, harness: Harness, key: str, action: str, new_key: str = ""
) -> tuple[int, str]:
    base = await console_url(harness)
    versions = await harness.services["content_edits"].versions(limit=1)
    data = {
        "csrf_token": await csrf_token(client, base),
        "base": str(versions[0].id) if versions else "",
        "new_key": new_key or key,
        "action": action,
    }
    async with client.post(f"{base}/content/coupons/{key}/key", data=data) as response:
        return response.status, await response.text()


async def test_a_removed_campaigns_issued_coupon_is_still_redeemed(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    claimed = "\n".join(str(r) for r in await harness.chat(1001).send("/start cp-spring10"))
    match = re.search(r"Code: ([\w-]+)", claimed)
    assert match, claimed
    base = await console_url(harness)
    async with owner.get(f"{base}/content/coupons/spring10") as response:
        assert "1 coupon of this campaign was issued." in await response.text()
    status, page = await change_key(owner, harness, "spring10", "remove")
    assert status == 200 and "The campaign was removed (version 2)" in page and "spring10" not in page
    assert harness.services["live_content"].current.loyalty.campaign("spring10") is None
    again = "\n".join(str(r) for r in await harness.chat(1002, first_name="Bo").send("/start cp-spring10"))
    assert "Your coupon" not in again  # no new coupons of a removed campaign
    cashier = await hire(harness)
    replies = await cashier.send(f"/redeem {match.group(1)}")
    assert "redeemed" in str(replies[-1]) and "❌" not in str(replies[-1])


async def test_a_campaign_in_use_is_not_removed_or_rekeyed_and_the_page_says_where(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    for key, place in (
        ("comeback", "sequences[win-back].steps[1].coupon"),
        ("cookie", "loyalty.gifts[1]"),
        ("birthday-dessert", "loyalty.birthday_coupon"),
    ):
        for action in ("remove", "rename"):
            status, page = await change_key(owner, harness, key, action, "another")
            assert status == 409, (key, action)
            assert f"Not changed: {place} still hand out this campaign" in page, page[page.find("<main") :][:600]
    broadcasts = harness.services["broadcasts"].repo
    draft = await broadcasts.new_draft(OWNER_ID, harness.clock.now())
    await broadcasts.update_draft(draft.id, OWNER_ID, coupon="spring10")
    status, page = await change_key(owner, harness, "spring10", "remove")
    assert status == 409 and f"broadcast #{draft.id} (draft) still hand out" in page
    assert await harness.services["content_edits"].versions() == []


async def test_a_new_key_is_what_customers_claim_by(harness: Harness, owner: aiohttp.ClientSession) -> None:
    status, page = await change_key(owner, harness, "spring10", "rename", "Spring 20")
    assert status == 422 and 'id="new_key-error"' in page and 'value="Spring 20"' in page
    status, page = await change_key(owner, harness, "spring10", "rename", "cookie")
    assert status == 422 and "a key is used twice" in page
    status, page = await change_key(owner, harness, "spring10", "rename", "spring20")
    assert status == 200 and "Saved as version 2" in page and "Coupon campaign spring20" in page
    claimed = "\n".join(str(r) for r in await harness.chat(1001).send("/start cp-spring20"))
    assert "Your coupon: 10% off any class" in claimed


async def test_a_manager_may_not_remove_or_rekey_a_campaign(harness: Harness) -> None:
    await hire(harness, MANAGER_ID, "manager", "Max")
    client = await http_login(harness, MANAGER_ID)
    try:
        status, _ = await change_key(client, harness, "spring10", "remove")
        assert status == 403
    finally:
        await client.close()
    assert harness.services["live_content"].current.loyalty.campaign("spring10") is not None
