"""The console's loyalty and sequence editors over HTTP: a change is a new version the bot uses at once,
a mistake is shown by its field and saves nothing, and only the owner may open them."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.conftest import Harness
from tests.console_helpers import console_url, csrf_token, http_login
from tests.loyalty_helpers import card_code, hire

MANAGER_ID = 502


@pytest.fixture
async def owner(harness: Harness) -> AsyncIterator[aiohttp.ClientSession]:
    client = await http_login(harness)
    try:
        yield client
    finally:
        await client.close()


async def form(client: aiohttp.ClientSession, url: str) -> dict[str, str]:
    """The form's fields as the page filled them (what a browser would post back)."""
    async with client.get(url) as response:
        assert response.status == 200, await response.text()
        page = await response.text()
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        fields[name] = text
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        fields[name] = chosen.group(1) if chosen else ""
    return {name: html.unescape(value) for name, value in fields.items()}


async def post(client: aiohttp.ClientSession, url: str, fields: dict[str, str]) -> tuple[int, str]:
    async with client.post(url, data={**fields, "action": "save"}) as response:
        return response.status, await response.text()


async def test_a_tier_changed_in_the_console_is_what_balance_shows(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    fields = await form(owner, f"{base}/content/loyalty")
    assert fields["tier1.min_purchases"] == "2" and fields["tier0.earn_percent"] == "3"
    fields["tier0.earn_percent"] = "10"
    fields["tier1.min_purchases"] = "3"
    fields["welcome_points"] = "70"
    status, page = await post(owner, f"{base}/content/loyalty", fields)
    assert status == 200 and "Saved as version 2" in page
    chat = harness.chat(1001)
    await chat.send("/start")
    code = await card_code(chat)
    cashier = await hire(harness)
    await cashier.send(f"/sale {code} 1000")
    replies = await chat.send("/balance")
    text = "\n".join(str(r) for r in replies)
    assert "10% of every purchase" in text and "+70 points · Welcome gift" in text
    assert "+100 points · Purchase" in text
    assert "2 more purchases" in text  # 1 of now 3 purchases to the next level
