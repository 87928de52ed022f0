"""The console's Customers pages over HTTP: search, lists by segment, the customer's page and its forms,
roles enforced on the server, people's words escaped."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest

from bot.sandbox.driver import ChatDriver
from storage.customers import Customer
from tests.conftest import OWNER_ID, Harness
from tests.console_helpers import console_url, csrf_token, http_login
from tests.handoff_helpers import add_staff

CASHIER_ID = 5001
HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rate_limits": False}


async def a_customer(harness: Harness, chat: ChatDriver) -> Customer:
    await chat.send("/start")
    customer = await harness.services["customers"].repo.by_tg_id(chat.user_id)
    assert customer is not None
    return customer


def request_token(page: str) -> str:
    match = re.search(r'name="request" value="([^"]+)"', page)
    assert match, "no points form on the page"
    return match.group(1)


async def post_points(
    client: aiohttp.ClientSession, base: str, customer_id: int, form: dict[str, str]
) -> tuple[int, str]:
    data = {"csrf_token": await csrf_token(client, base), **form}
    async with client.post(f"{base}/customers/{customer_id}/points", data=data, allow_redirects=True) as response:
        return response.status, await response.text()


async def test_the_search_box_finds_a_customer_and_escapes_their_name(harness: Harness) -> None:
    hostile = harness.chat(1002, first_name=HOSTILE)
    await hostile.send("/start")
    base = await console_url(harness)
    async with await http_login(harness) as client:
        async with client.get(f"{base}/customers/search", params={"q": "script"}) as response:
            text = await response.text()
        assert response.status == 200
        assert HOSTILE not in text and "&lt;script&gt;" in text
        async with client.get(f"{base}/customers", params={"q": "nobody-at-all"}) as response:
            assert "Nobody found" in await response.text()


async def test_a_list_shows_its_audience_and_a_bad_filter_says_why(harness: Harness, chat: ChatDriver) -> None:
    await a_customer(harness, chat)
    base = await console_url(harness)
    async with await http_login(harness) as client:
        async with client.get(f"{base}/customers/list", params={"segment": ""}) as response:
            text = await response.text()
        assert "1 customer in this audience" in text and "Anna" in text
        async with client.get(f"{base}/customers/list", params={"segment": "tier:nonsense"}) as response:
            text = await response.text()
        assert response.status == 200 and 'class="error"' in text and "nonsense" in text


async def test_a_correction_with_problems_is_refused_next_to_its_field(harness: Harness, chat: ChatDriver) -> None:
    anna = await a_customer(harness, chat)
    base = await console_url(harness)
    async with await http_login(harness) as client:
        async with client.get(f"{base}/customers/{anna.id}") as response:
            token = request_token(await response.text())
        status, text = await post_points(client, base, anna.id, {"delta": "lots", "reason": "", "request": token})
        assert status == 422
        assert re.search(r'id="e-delta" class="error" role="alert">Write a whole number of points', text)
        status, text = await post_points(client, base, anna.id, {"delta": "+5", "reason": " ", "request": token})
        assert status == 422 and 'id="e-reason"' in text and 'value="+5"' in text
    assert await harness.services["ledger"].balance(anna.id) == 0


async def test_a_double_submitted_correction_lands_once(harness: Harness, chat: ChatDriver) -> None:
    anna = await a_customer(harness, chat)
    base = await console_url(harness)
    async with await http_login(harness) as client:
        async with client.get(f"{base}/customers/{anna.id}") as response:
            token = request_token(await response.text())
        form = {"delta": "+50", "reason": f"sorry {HOSTILE}", "request": token}
        status, first = await post_points(client, base, anna.id, form)
        assert status == 200 and "Points corrected" in first
        assert HOSTILE not in first and "sorry &lt;script&gt;" in first
        status, second = await post_points(client, base, anna.id, form)
        assert status == 200 and "had already been made" in second
    assert await harness.services["ledger"].balance(anna.id) == 50


async def test_a_cashier_may_look_a_customer_up_but_not_change_anything(
    harness: Harness, chat: ChatDriver
) -> None:
    anna = await a_customer(harness, chat)
    await add_staff(harness, CASHIER_ID, "cashier")
    base = await console_url(harness)
    async with await http_login(harness, CASHIER_ID) as client:
        async with client.get(f"{base}/customers/{anna.id}") as response:
            page = await response.text()
        assert response.status == 200 and "Anna" in page
        assert 'name="request"' not in page and "Hand to a manager" not in page
        forms = {
            "points": {"delta": "+50", "reason": "mine", "request": "a-made-up-token"},
            "tags": {"tag": "vip"},
            "tags/remove": {"tag": "vip"},
            "handoff": {},
        }
        for action, form in forms.items():
            data = {"csrf_token": await csrf_token(client, base), **form}
            async with client.post(f"{base}/customers/{anna.id}/{action}", data=data) as response:
                assert response.status == 403, action
    assert await harness.services["ledger"].balance(anna.id) == 0
    assert await harness.services["customers"].tags(anna) == []


async def test_tags_are_added_and_removed_from_the_page(harness: Harness, chat: ChatDriver) -> None:
    anna = await a_customer(harness, chat)
    base = await console_url(harness)
    async with await http_login(harness) as client:
        data = {"csrf_token": await csrf_token(client, base), "tag": "VIP"}
        async with client.post(f"{base}/customers/{anna.id}/tags", data=data) as response:
            assert "Tag added" in await response.text()
        data["tag"] = "not a tag"
        async with client.post(f"{base}/customers/{anna.id}/tags", data=data) as response:
            assert response.status == 422 and 'id="e-tag"' in await response.text()
        data["tag"] = "vip"
        async with client.post(f"{base}/customers/{anna.id}/tags/remove", data=data) as response:
            assert "Tag removed" in await response.text()
    assert await harness.services["staff"].repo.audit_actions(OWNER_ID) == ["tag_added", "tag_removed"]


async def test_an_unknown_customer_is_not_found(harness: Harness) -> None:
    base = await console_url(harness)
    async with await http_login(harness) as client:
        for path in ("/customers/999999", "/customers/abc"):
            async with client.get(f"{base}{path}") as response:
                assert response.status == 404, path


async def test_handing_over_without_a_managers_chat_says_so(harness: Harness, chat: ChatDriver) -> None:
    anna = await a_customer(harness, chat)
    base = await console_url(harness)
    async with await http_login(harness) as client:
        data = {"csrf_token": await csrf_token(client, base)}
        async with client.post(f"{base}/customers/{anna.id}/handoff", data=data) as response:
            assert "chat is set up, so nobody could be handed" in await response.text()
    assert await harness.services["handoff"].leads.for_customer(anna.id) == []
