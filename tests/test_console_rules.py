"""The console's loyalty and sequence editors over HTTP: a change is a new version the bot uses at once,
a mistake is shown by its field and saves nothing, and only the owner may open them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from tests.conftest import Harness
from tests.console_helpers import console_url, csrf_token, form, http_login, owner_session, post
from tests.loyalty_helpers import card_code, hire

MANAGER_ID = 502
# `form`, `post` and the `owner` fixture (owner_session) live in tests/console_helpers.py; imported here too,
# so that tests importing them from this module keep working.
__all__ = ["form", "owner_session", "post"]


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


async def test_a_step_changed_in_the_console_is_what_the_next_due_step_says(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    chat = harness.chat(1001)
    await chat.send("/start")  # Monday 12:00 UTC; step 1 in a minute, step 2 the next day at 11:00 Kyiv
    await harness.advance(seconds=60)
    base = await console_url(harness)
    url = f"{base}/content/sequences/welcome/steps/2"
    fields = await form(owner, url)
    assert fields["delay"] == "1d" and fields["at"] == "11:00" and fields["button0.type"] == "interested"
    fields["text.en"] = "Tomorrow's class is <b>on the house</b>."
    status, page = await post(owner, url, fields)
    assert status == 200 and "Saved as version 2" in page
    assert "Tomorrow's class is <b>on the house</b>.</div>" in page  # the preview, formatted
    harness.clock.set(datetime(2026, 1, 6, 9, 0, tzinfo=UTC))
    await harness.tick()
    texts = [m.plain_text for m in chat.messages()]
    assert "Tomorrow's class is on the house." in texts
    assert not any("Your first class is on us" in (t or "") for t in texts)


async def test_a_trigger_changed_in_the_console_starts_the_sequence_on_the_new_tag(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    fields = await form(owner, f"{base}/content/sequences/yoga-intro")
    assert fields["trigger.event"] == "tag" and fields["trigger.tag"] == "yoga"
    fields["reentry"] = "30d"
    fields["exit.on_tags"] = "yoga-regular, vip"
    del fields["exit.on_purchase"]  # the box unticked
    status, page = await post(owner, f"{base}/content/sequences/yoga-intro", fields)
    assert status == 200 and "Saved as version 2" in page
    sequence = harness.services["live_content"].current.sequence("yoga-intro")
    assert sequence.exit.on_tags == ["yoga-regular", "vip"] and sequence.reentry == timedelta(days=30)
    assert sequence.exit.on_purchase is False


async def test_mistakes_are_shown_by_their_field_and_nothing_is_saved(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    url = f"{base}/content/loyalty"
    fields = await form(owner, url)
    fields["welcome_points"] = "-5"
    status, page = await post(owner, url, fields)
    assert status == 422 and "Not saved: fix what is marked below." in page
    assert '<p class="error" id="welcome_points-error">must be at least 0</p>' in page
    assert 'name="welcome_points" value="-5"' in page  # the typing is kept
    fields["welcome_points"] = "50"
    fields["tier2.min_purchases"] = "1"  # below the level before it
    status, page = await post(owner, url, fields)
    assert status == 422
    assert '<p class="error" id="tiers-error">list them from the lowest to the highest' in page
    url = f"{base}/content/sequences/welcome/steps/1"
    fields = await form(owner, url)
    fields["delay"] = "abc"
    status, page = await post(owner, url, fields)
    assert status == 422
    assert '<p class="error" id="delay-error">&#39;abc&#39; is not a duration' in page
    fields["delay"], fields["text.en"] = "1m", "<b>Hi"
    status, page = await post(owner, url, fields)
    assert status == 422
    assert '<p class="error" id="text.en-error">&lt;b&gt; is not closed</p>' in page
    assert await harness.services["content_edits"].versions() == []


@pytest.mark.parametrize("role", ["manager", "cashier"])
async def test_staff_other_than_the_owner_may_not_open_or_change_the_rules(harness: Harness, role: str) -> None:
    await hire(harness, MANAGER_ID, role, "Max")
    base = await console_url(harness)
    client = await http_login(harness, MANAGER_ID)
    try:
        for path in (
            "/content/loyalty",
            "/content/sequences",
            "/content/sequences/welcome/steps/1",
            "/content/onboarding",
        ):
            async with client.get(f"{base}{path}") as response:
                assert response.status == 403
        token = await csrf_token(client, base)
        data = {"csrf_token": token, "welcome_points": "9999", "tier0.key": "new", "tier0.min_purchases": "0"}
        async with client.post(f"{base}/content/loyalty", data=data) as response:
            assert response.status == 403
        data = {"csrf_token": token, "delay": "0s", "text.en": "hacked", "action": "save"}
        async with client.post(f"{base}/content/sequences/welcome/steps/1", data=data) as response:
            assert response.status == 403
    finally:
        await client.close()
    assert await harness.services["content_edits"].versions() == []


async def test_onboarding_questions_changed_in_the_console_are_what_a_new_customer_is_asked(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    url = f"{base}/content/onboarding"
    fields = await form(owner, url)
    assert fields["step.phone"] == "1" and fields["interest0.tag"] == "yoga"
    fields["interest0.tag"] = "Yoga!"
    status, page = await post(owner, url, fields)
    assert status == 422 and '<p class="error" id="interest0.tag-error">use lower-case latin letters' in page
    fields["interest0.tag"] = "yoga"
    del fields["step.phone"], fields["step.birthday"]
    fields["interest0.title.en"] = "🧘 Morning yoga"
    status, page = await post(owner, url, fields)
    assert status == 200 and "Saved as version" in page
    replies = await harness.chat(1001).send("/start")
    assert "🧘 Morning yoga" in [text for row in replies[-1].buttons for text, _ in row]
