"""The console's dates editor over HTTP: a changed date is a new version in effect at once, a mistake is
shown by its field and saves nothing, and only the owner may open it."""

from __future__ import annotations

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


async def test_a_date_changed_in_the_console_is_in_effect(harness: Harness, owner: aiohttp.ClientSession) -> None:
    base = await console_url(harness)
    url = f"{base}/content/dates"
    fields = await form(owner, url)
    assert fields["date0.name"] == "womens-day" and fields["date0.month"] == "3"
    fields.update({"date0.days_before": "3", "date1.name": "opening", "date1.date": "2026-02-14"})
    status, page = await post(owner, url, fields)
    assert status == 200 and "Saved as version 2" in page
    dates = {d.name: d for d in harness.services["live_content"].current.dates}
    assert dates["womens-day"].days_before == 3 and str(dates["opening"].on_date) == "2026-02-14"


async def test_mistakes_are_shown_by_their_field_and_nothing_is_saved(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    url = f"{base}/content/dates"
    fields = await form(owner, url)
    fields.update({"date0.month": "13", "date0.days_before": "abc"})
    status, page = await post(owner, url, fields)
    assert status == 422 and "Not saved: fix what is marked below." in page
    assert '<p class="error" id="date0.month-error">must be at most 12</p>' in page
    assert '<p class="error" id="date0.days_before-error">must be a whole number' in page
    fields.update({"date0.month": "3", "date0.days_before": "1", "date1.name": "sale", "date1.date": "soon"})
    status, page = await post(owner, url, fields)
    assert status == 422 and '<p class="error" id="date1.date-error">' in page
    assert await harness.services["content_edits"].versions() == []


async def test_a_manager_may_not_open_or_change_dates(harness: Harness) -> None:
    await hire(harness, MANAGER_ID, "manager", "Max")
    base = await console_url(harness)
    client = await http_login(harness, MANAGER_ID)
    try:
        async with client.get(f"{base}/content/dates") as response:
            assert response.status == 403
        token = await csrf_token(client, base)
        data = {"csrf_token": token, "date0.name": "x", "date0.date": "2026-01-01", "action": "save"}
        async with client.post(f"{base}/content/dates", data=data) as response:
            assert response.status == 403
    finally:
        await client.close()
    assert await harness.services["content_edits"].versions() == []
