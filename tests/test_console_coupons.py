"""The console's coupon campaign editor over HTTP: a changed campaign is a new version the bot issues by at
once, a mistake is shown by its field and saves nothing, and only the owner may open it."""

from __future__ import annotations

from decimal import Decimal

import aiohttp

from tests.conftest import Harness
from tests.console_helpers import (
    console_url,
    csrf_token,
    form,
    http_login,
    owner_session,  # noqa: F401  (the `owner` fixture)
    post,
)
from tests.loyalty_helpers import hire

MANAGER_ID = 502


async def test_a_campaign_changed_in_the_console_is_what_customers_claim(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    async with owner.get(f"{base}/content/coupons") as response:
        assert response.status == 200 and "10% off any class" in await response.text()
    url = f"{base}/content/coupons/spring10"
    fields = await form(owner, url)
    assert fields["value"] == "10" and fields["stock"] == "5" and fields["kind"] == "percent"
    assert fields["valid_days"] == "30"  # the default, shown
    fields.update({"value": "20", "stock": "1", "title.en": "20% off any class"})
    status, page = await post(owner, url, fields)
    assert status == 200 and "Saved as version 2" in page
    campaign = harness.services["live_content"].current.loyalty.campaign("spring10")
    assert campaign.value == Decimal(20) and campaign.stock == 1
    first = "\n".join(str(r) for r in await harness.chat(1001).send("/start cp-spring10"))
    assert "Your coupon: 20% off any class" in first
    second = "\n".join(str(r) for r in await harness.chat(1002, first_name="Bo").send("/start cp-spring10"))
    assert "already been claimed" in second  # the new stock of one


async def test_a_new_campaign_is_added(harness: Harness, owner: aiohttp.ClientSession) -> None:
    base = await console_url(harness)
    fields = await form(owner, f"{base}/content/coupons-new")
    fields.update(
        {
            "key": "autumn5",
            "title.en": "5 off",
            "title.ru": "Скидка 5",
            "title.uk": "Знижка 5",
            "kind": "amount",
            "value": "5",
            "claimable": "1",
        }
    )
    status, page = await post(owner, f"{base}/content/coupons-new", fields)
    assert status == 200 and "Saved as version 2" in page, page[page.find("<h1>") :]
    campaign = harness.services["live_content"].current.loyalty.campaign("autumn5")
    assert campaign is not None and campaign.value == Decimal(5) and campaign.claimable


async def test_mistakes_are_shown_by_their_field_and_nothing_is_saved(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    url = f"{base}/content/coupons/spring10"
    fields = await form(owner, url)
    fields.update({"value": "-5", "stock": "abc"})
    status, page = await post(owner, url, fields)
    assert status == 422 and "Not saved: fix what is marked below." in page
    assert '<p class="error" id="value-error">must be more than 0</p>' in page
    assert '<p class="error" id="stock-error">must be a whole number' in page
    assert 'name="stock" value="abc"' in page  # the typing is kept
    fields.update({"value": "150", "stock": "5"})
    status, page = await post(owner, url, fields)
    assert status == 422 and "cannot take off more than 100%" in page
    assert await harness.services["content_edits"].versions() == []


async def test_a_manager_may_not_open_or_change_campaigns(harness: Harness) -> None:
    await hire(harness, MANAGER_ID, "manager", "Max")
    base = await console_url(harness)
    client = await http_login(harness, MANAGER_ID)
    try:
        for path in ("/content/coupons", "/content/coupons/spring10", "/content/coupons-new"):
            async with client.get(f"{base}{path}") as response:
                assert response.status == 403
        token = await csrf_token(client, base)
        data = {"csrf_token": token, "kind": "percent", "value": "99", "action": "save"}
        async with client.post(f"{base}/content/coupons/spring10", data=data) as response:
            assert response.status == 403
    finally:
        await client.close()
    assert await harness.services["content_edits"].versions() == []
