"""The currency and catalogue edited in the console: a new category is what a cashier picks at the next
sale and the new currency is how the amount is written; a mistake is shown by its field; a category a
sequence starts on is not taken out; only the owner may open the page."""

from __future__ import annotations

import aiohttp

from tests.conftest import Harness
from tests.console_helpers import (
    console_url,
    csrf_token,
    form,
    http_login,
    owner_session,  # noqa: F401 (the `owner` fixture)
    post,
)
from tests.loyalty_helpers import card_code, hire

MANAGER_ID = 502


async def test_a_new_category_and_currency_are_what_the_cashier_gets(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    url = f"{base}/content/catalog"
    fields = await form(owner, url)
    assert fields["currency"] == "UAH" and fields["cat0.key"] == "yoga" and fields["cat4.key"] == ""
    fields.update({"currency": "eur", "cat4.key": "pilates", "cat4.title.en": "Pilates"})
    fields.update({"cat4.title.ru": "Пилатес", "cat4.title.uk": "Пілатес"})
    for name in ("cat2.key", "cat2.title.en", "cat2.title.ru", "cat2.title.uk"):
        fields[name] = ""  # coffee taken out
    status, page = await post(owner, url, fields)
    assert status == 200 and "Saved as version 2" in page
    assert '<b data-amount="en">€1,250.50</b>' in page  # the preview in the new currency
    loyalty = harness.services["live_content"].current.loyalty
    assert loyalty.currency == "EUR" and [c.key for c in loyalty.catalog] == [
        "yoga",
        "massage",
        "workshop",
        "pilates",
    ]
    chat = harness.chat(1001)
    await chat.send("/start")
    code = await card_code(chat)
    cashier = await hire(harness)
    await cashier.send(f"/start card-{code}")
    await cashier.send("100")
    labels = cashier.button_labels()
    assert "Pilates" in labels and "Café" not in labels
    replies = await cashier.click("Pilates")
    assert "€100.00" in str(replies[-1])


async def test_mistakes_are_shown_by_their_field_and_nothing_is_saved(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    url = f"{base}/content/catalog"
    fields = await form(owner, url)
    fields.update({"currency": "XYZ", "cat1.key": "yoga"})
    status, page = await post(owner, url, fields)
    assert status == 422 and 'id="currency-error">unknown currency &#39;XYZ&#39;' in page
    assert 'value="XYZ"' in page  # the typing kept
    fields.update({"currency": "UAH", "cat1.key": "Not a key"})
    status, page = await post(owner, url, fields)
    assert status == 422 and 'id="cat1.key-error"' in page
    async with owner.post(url, data={**fields, "action": "preview"}) as response:
        assert response.status == 200 and "Not a key" in await response.text()
    assert await harness.services["content_edits"].versions() == []


async def test_a_category_a_sequence_starts_on_is_not_taken_out(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    fields = await form(owner, f"{base}/content/sequences/thank-you")
    fields["trigger.category"] = "massage"
    status, page = await post(owner, f"{base}/content/sequences/thank-you", fields)
    assert status == 200 and "Saved as version 2" in page
    url = f"{base}/content/catalog"
    fields = await form(owner, url)
    for name in ("cat1.key", "cat1.title.en", "cat1.title.ru", "cat1.title.uk"):
        fields[name] = ""
    status, page = await post(owner, url, fields)
    assert status == 409 and "Not saved: sequences[thank-you].trigger.category start on purchases" in page
    assert len(await harness.services["content_edits"].versions()) == 2


async def test_only_the_owner_opens_the_catalogue(harness: Harness, owner: aiohttp.ClientSession) -> None:
    base = await console_url(harness)
    async with owner.get(f"{base}/") as response:
        assert 'href="/content/catalog"' in await response.text()  # in the owner's navigation
    await hire(harness, MANAGER_ID, "manager", "Max")
    client = await http_login(harness, MANAGER_ID)
    try:
        async with client.get(f"{base}/") as response:
            assert 'href="/content/catalog"' not in await response.text()
        async with client.get(f"{base}/content/catalog") as response:
            assert response.status == 403
        data = {"csrf_token": await csrf_token(client, base), "currency": "USD", "action": "save"}
        async with client.post(f"{base}/content/catalog", data=data) as response:
            assert response.status == 403
    finally:
        await client.close()
    assert await harness.services["content_edits"].versions() == []
