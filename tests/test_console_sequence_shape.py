"""Sequences added, re-keyed and removed in the console, and their steps reordered: each a new version the bot
follows at once; customers on a removed sequence get none of its remaining steps (and nothing crashes);
a sequence another one's button starts is not removed, and the page says where."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp

from storage.enrollments import enrollment_by_id
from tests.conftest import Harness
from tests.console_helpers import (
    console_url,
    csrf_token,
    form,
    http_login,
    owner_session,  # noqa: F401 (the `owner` fixture)
    post,
    post_as,
)
from tests.loyalty_helpers import hire

MANAGER_ID = 502
STEP_2 = "Your first class is on us if you come with a friend this week. Want us to book you in?"


async def test_a_new_sequence_with_one_step_reaches_a_new_customer(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    fields = await form(owner, f"{base}/content/sequences-new")
    assert fields["trigger.event"] == "manual" and fields["delay"] == "0s"
    fields.update({"key": "hello", "title": "Hello", "trigger.event": "start", "text.en": "Hi from <b>hello</b>!"})
    fields.update({"text.ru": "Привет!", "text.uk": "Привіт!"})
    status, page = await post(owner, f"{base}/content/sequences-new", fields)
    assert status == 200 and "Saved as version 2" in page and "Step 1" in page, page[page.find("<main") :]
    async with owner.get(f"{base}/content/sequences") as response:
        assert 'href="/content/sequences/hello">hello</a> · Hello' in await response.text()
    chat = harness.chat(1001)
    await chat.send("/start")
    await harness.advance(seconds=1)
    assert "Hi from hello!" in [m.plain_text for m in chat.messages()]


async def test_a_new_sequence_with_mistakes_is_not_saved_and_says_where(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    fields = await form(owner, f"{base}/content/sequences-new")
    fields.update({"key": "welcome", "trigger.event": "tag", "text.en": "Hi", "text.ru": "Hi", "text.uk": "Hi"})
    status, page = await post(owner, f"{base}/content/sequences-new", fields)
    assert status == 422 and "a tag trigger needs tag" in page
    fields.update({"key": "Bad Key", "trigger.tag": "vip"})
    status, page = await post(owner, f"{base}/content/sequences-new", fields)
    assert status == 422 and 'id="key-error"' in page and 'value="Bad Key"' in page
    fields.update({"key": "welcome"})
    status, page = await post(owner, f"{base}/content/sequences-new", fields)
    assert status == 422 and '<p class="error" id="sequence-error">the name is used twice</p>' in page
    assert await harness.services["content_edits"].versions() == []


async def test_removing_a_sequence_stops_the_steps_of_customers_on_it(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    chat = harness.chat(1001)
    await chat.send("/start")  # Monday 12:00 UTC: welcome's step 1 in a minute, step 2 tomorrow 11:00 Kyiv
    await harness.advance(seconds=60)
    base = await console_url(harness)
    async with owner.get(f"{base}/content/sequences/welcome") as response:
        page = await response.text()
    assert "1 customer is on this sequence now." in page and "stops their remaining steps" in page
    token = await csrf_token(owner, base)
    data = {"csrf_token": token, "base": "", "key": "welcome", "action": "remove"}
    status, page = await post_as(owner, f"{base}/content/sequences/welcome/key", data)
    assert status == 200 and "The sequence was removed (version 2)" in page
    assert harness.services["live_content"].current.sequence("welcome") is None
    harness.clock.set(datetime(2026, 1, 6, 9, 0, tzinfo=UTC))
    await harness.tick()  # the enrolment falls due with its sequence gone
    assert STEP_2 not in [m.plain_text for m in chat.messages()]
    async with harness.app.db.transaction() as tx:
        enrollment = await enrollment_by_id(tx, 1)
    assert enrollment is not None and (enrollment.state, enrollment.exit_reason) == ("exited", "removed")
    replies = await chat.send("Hello")  # the bot still answers the customer
    assert replies


async def test_a_sequence_started_by_another_ones_button_is_not_removed_or_rekeyed(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    url = f"{base}/content/sequences/yoga-intro/steps/1"
    fields = await form(owner, url)
    fields.update({"button2.type": "sequence", "button2.text.en": "Start over", "button2.sequence": "welcome"})
    fields.update({"button2.text.ru": "Заново", "button2.text.uk": "Знову"})
    status, page = await post(owner, url, fields)
    assert status == 200 and "Saved as version 2" in page, page
    token = await csrf_token(owner, base)
    for action, key in (("remove", "welcome"), ("rename", "hello")):
        data = {"csrf_token": token, "base": "2", "key": key, "action": action}
        status, page = await post_as(owner, f"{base}/content/sequences/welcome/key", data)
        assert status == 409
        assert "Not changed: sequences[yoga-intro].steps[1].buttons[3] still start this sequence." in page
    assert len(await harness.services["content_edits"].versions()) == 2


async def test_a_new_key_moves_new_customers_to_it_and_ends_the_old_enrolments(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    early = harness.chat(1001)
    await early.send("/start")
    await harness.advance(seconds=60)
    base = await console_url(harness)
    token = await csrf_token(owner, base)
    data = {"csrf_token": token, "base": "", "key": "hello", "action": "rename"}
    status, page = await post_as(owner, f"{base}/content/sequences/welcome/key", data)
    assert status == 200 and "Saved as version 2" in page and "Sequence <code>hello</code>" in page
    data = {"csrf_token": token, "base": "", "key": "hello2", "action": "rename"}
    status, page = await post_as(owner, f"{base}/content/sequences/hello/key", data)
    assert status == 409 and "Someone saved the content after you opened this page." in page  # a stale form
    data = {"csrf_token": token, "base": "2", "key": "Not a key", "action": "rename"}
    status, page = await post_as(owner, f"{base}/content/sequences/hello/key", data)
    assert status == 422 and 'id="key-error"' in page
    late = harness.chat(1002)
    await late.send("/start")
    harness.clock.set(datetime(2026, 1, 6, 9, 0, tzinfo=UTC))
    await harness.tick()
    assert STEP_2 not in [m.plain_text for m in early.messages()]  # left the old key
    assert any("every visit earns points" in (m.plain_text or "") for m in late.messages())


async def test_steps_are_moved_up_and_the_customer_gets_them_in_the_new_order(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    token = await csrf_token(owner, base)
    data = {"csrf_token": token, "base": "", "to": "up"}
    status, page = await post_as(owner, f"{base}/content/sequences/welcome/steps/3/move", data)
    assert status == 200 and "Saved as version 2" in page
    steps = harness.services["live_content"].current.sequence("welcome").steps
    assert steps[1].text["en"].startswith("Tip: a 5-minute") and steps[2].text["en"] == STEP_2
    status, _ = await post_as(owner, f"{base}/content/sequences/welcome/steps/1/move", data)
    assert status == 404  # the first step cannot move earlier


async def test_a_manager_may_not_add_rekey_remove_or_reorder(harness: Harness) -> None:
    await hire(harness, MANAGER_ID, "manager", "Max")
    base = await console_url(harness)
    client = await http_login(harness, MANAGER_ID)
    try:
        async with client.get(f"{base}/content/sequences-new") as response:
            assert response.status == 403
        token = await csrf_token(client, base)
        for path, data in (
            ("/content/sequences-new", {"key": "x", "trigger.event": "start", "text.en": "x"}),
            ("/content/sequences/welcome/key", {"key": "welcome", "action": "remove"}),
            ("/content/sequences/welcome/steps/2/move", {"to": "up"}),
        ):
            async with client.post(f"{base}{path}", data={"csrf_token": token, **data}) as response:
                assert response.status == 403
    finally:
        await client.close()
    assert await harness.services["content_edits"].versions() == []


async def test_a_removal_is_reverted_and_the_yaml_round_trip_keeps_a_new_sequence(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    token = await csrf_token(owner, base)
    data = {"csrf_token": token, "base": "", "key": "welcome", "action": "remove"}
    status, _ = await post_as(owner, f"{base}/content/sequences/welcome/key", data)
    assert status == 200
    status, page = await post_as(owner, f"{base}/content/versions/1/revert", {"csrf_token": token, "base": "2"})
    assert status == 200 and "Version 1 brought back as version 3." in page
    assert harness.services["live_content"].current.sequence("welcome") is not None
    fields = await form(owner, f"{base}/content/sequences-new")
    fields.update(
        {"key": "hello", "trigger.event": "start", "text.en": "Hi", "text.ru": "Привет", "text.uk": "Привіт"}
    )
    status, page = await post(owner, f"{base}/content/sequences-new", fields)
    assert status == 200 and "Saved as version 4" in page
    async with owner.get(f"{base}/content/export") as response:
        exported = await response.text()
    upload = aiohttp.FormData()
    upload.add_field("csrf_token", token)
    upload.add_field("file", exported.encode(), filename="back.yaml", content_type="application/yaml")
    async with owner.post(f"{base}/content/import", data=upload) as response:
        assert "Nothing changed: nothing was saved." in await response.text()  # the same document
    assert harness.services["live_content"].current.sequence("hello") is not None
