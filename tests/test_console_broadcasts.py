"""The console's broadcasts over HTTP: a form sent twice makes one broadcast, a cancelled broadcast cannot be
resumed, managers may send and cashiers may not, and the page speaks the person's language. (The browser
tests are tests/browser/test_console_broadcasts.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from tests.broadcast_helpers import SALE, yoga_and_others
from tests.conftest import Harness
from tests.console_helpers import console_url, csrf_token, http_login
from tests.loyalty_helpers import CASHIER_ID, hire

MANAGER_ID = 502


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Welcome steps would compete for the contact budget; quiet hours are tested elsewhere.
    return {"contact_budget_per_day": 20, "contact_budget_per_week": 50, "quiet_hours": ""}


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rate_limits": False}


async def test_a_cancelled_broadcast_cannot_be_resumed_and_a_form_sent_twice_is_one(harness: Harness) -> None:
    await yoga_and_others(harness)
    base = await console_url(harness)
    client = await http_login(harness)
    try:
        csrf = await csrf_token(client, base)
        form = {"csrf_token": csrf, "key": "x" * 32, "segment": "everyone", "text": SALE, "confirm": "1"}
        locations = []
        for _ in range(2):  # a double click
            async with client.post(f"{base}/broadcasts/new", data=form, allow_redirects=False) as response:
                assert response.status == 303
                locations.append(response.headers["Location"])
        assert locations[0] == locations[1]
        assert len(await harness.services["broadcasts"].repo.recent(5)) == 1
        page_url = f"{base}{locations[0]}" if locations[0].startswith("/") else locations[0]
        for action in ("cancel", "resume"):
            async with client.post(f"{page_url}/{action}", data={"csrf_token": csrf}) as response:
                text = await response.text()
        assert "Only a paused broadcast can be resumed" in text and "state-cancelled" in text
    finally:
        await client.close()


async def test_managers_may_send_and_cashiers_may_not(harness: Harness) -> None:
    await yoga_and_others(harness)
    await hire(harness, MANAGER_ID, "manager", "Max")
    await hire(harness, CASHIER_ID, "cashier")
    base = await console_url(harness)
    for tg_id, allowed in ((MANAGER_ID, True), (CASHIER_ID, False)):
        client = await http_login(harness, tg_id)
        async with client:
            for path in ("/broadcasts", "/broadcasts/new", "/broadcasts/audience?segment=everyone"):
                async with client.get(f"{base}{path}", allow_redirects=False) as response:
                    assert response.status == (200 if allowed else 403), (tg_id, path)
            csrf = await csrf_token(client, base)
            data = {"csrf_token": csrf, "key": f"{tg_id}" * 8, "segment": "everyone", "text": SALE, "confirm": "1"}
            async with client.post(f"{base}/broadcasts/new", data=data, allow_redirects=False) as response:
                assert response.status == (303 if allowed else 403), tg_id
    assert [b.created_by for b in await harness.services["broadcasts"].repo.recent(5)] == [MANAGER_ID]


async def test_the_form_and_its_problems_speak_the_persons_language(harness: Harness) -> None:
    await yoga_and_others(harness)
    base = await console_url(harness)
    client = await http_login(harness)
    async with client:
        csrf = await csrf_token(client, base)
        async with client.post(f"{base}/language", data={"csrf_token": csrf, "language": "uk", "next": "/"}):
            pass
        async with client.get(f"{base}/broadcasts/new?segment=bought:yoga") as response:
            text = await response.text()
        assert "Нова розсилка" in text and "1 клієнт" in text
        data = {"csrf_token": csrf, "key": "u" * 32, "segment": "bought:yoga", "text": "<b>open"}
        async with client.post(f"{base}/broadcasts/new", data=data) as response:
            assert response.status == 422
            assert "не закрито" in await response.text()
