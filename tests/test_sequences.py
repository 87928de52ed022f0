"""Sequences and the outbox end to end: timing, quiet hours, budget, exits, blocking, 429s, crashes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.sandbox.driver import ChatDriver
from storage.customers import Customer
from tests.conftest import OWNER_ID, Harness
from tests.loyalty_helpers import card_code, hire

WELCOME_1 = "Here is how it works"
WELCOME_2 = "Your first class is on us"
WELCOME_3 = "5-minute morning stretch"
YOGA = "beginners' class"


async def stored(harness: Harness, tg_id: int = 1001) -> Customer:
    customer = await harness.services["customers"].repo.by_tg_id(tg_id)
    assert customer is not None
    return customer


def received(chat: ChatDriver, text: str) -> int:
    return sum(text in (m.plain_text or m.caption or "") for m in chat.messages())


async def go_to(harness: Harness, moment: datetime) -> None:
    harness.clock.set(moment)
    await harness.tick()


async def enrolments(harness: Harness, tg_id: int = 1001) -> dict[str, Any]:
    customer = await stored(harness, tg_id)
    rows = await harness.services["enrollments"].for_customer(customer.id)
    return {row.sequence: row for row in rows}


async def test_steps_arrive_in_order_at_their_times(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")  # Monday 12:00 UTC = 14:00 in Kyiv
    await harness.advance(seconds=59)
    assert received(chat, WELCOME_1) == 0
    await harness.advance(seconds=1)
    assert received(chat, WELCOME_1) == 1
    # Step 2 waits a day and goes at 11:00 Kyiv time (09:00 UTC) on that day.
    await go_to(harness, datetime(2026, 1, 6, 8, 59, tzinfo=UTC))
    assert received(chat, WELCOME_2) == 0
    await go_to(harness, datetime(2026, 1, 6, 9, 0, tzinfo=UTC))
    assert received(chat, WELCOME_2) == 1
    await go_to(harness, datetime(2026, 1, 9, 9, 0, tzinfo=UTC))
    assert received(chat, WELCOME_3) == 1
    texts = [m.plain_text for m in chat.messages()]
    assert [i for i, t in enumerate(texts) if WELCOME_1 in t] < [i for i, t in enumerate(texts) if WELCOME_2 in t]
    assert (await enrolments(harness))["welcome"].state == "finished"
    await harness.advance(days=30)
    assert received(chat, WELCOME_1) + received(chat, WELCOME_2) + received(chat, WELCOME_3) == 3


async def test_quiet_hours_move_a_step_to_the_morning(harness: Harness, chat: ChatDriver) -> None:
    harness.clock.set(datetime(2026, 1, 5, 19, 30, tzinfo=UTC))  # 21:30 in Kyiv
    await chat.send("/start")
    await harness.advance(minutes=1)
    assert received(chat, WELCOME_1) == 0
    [row] = await harness.services["outbox"].for_customer((await stored(harness)).id)
    assert (row.state, row.due_at) == ("pending", datetime(2026, 1, 6, 7, 0, tzinfo=UTC))  # 09:00 Kyiv
    await go_to(harness, datetime(2026, 1, 6, 6, 59, tzinfo=UTC))
    assert received(chat, WELCOME_1) == 0
    await go_to(harness, datetime(2026, 1, 6, 7, 0, tzinfo=UTC))
    assert received(chat, WELCOME_1) == 1
    # The next step ("a day later, at 11:00") counts from the morning send, not from the quiet evening.
    await go_to(harness, datetime(2026, 1, 6, 9, 0, tzinfo=UTC))
    assert received(chat, WELCOME_2) == 0
    await go_to(harness, datetime(2026, 1, 7, 9, 0, tzinfo=UTC))
    assert received(chat, WELCOME_2) == 1


async def pick_yoga(chat: ChatDriver) -> None:
    await chat.send("/start")
    await chat.send("Skip")
    await chat.click("Skip")
    await chat.click("Yoga")
    await chat.click("Done")


@pytest.mark.parametrize("settings_overrides", [{"contact_budget_per_day": 1}])
async def test_contact_budget_holds_across_two_sequences(harness: Harness, chat: ChatDriver) -> None:
    await pick_yoga(chat)  # enrols in the welcome and the yoga sequences
    await harness.advance(minutes=1)
    sent_at = harness.clock.now()  # a few seconds after 12:01: the replies above were paced
    assert received(chat, WELCOME_1) == 1
    await harness.advance(hours=2)
    assert received(chat, YOGA) == 0  # the day's budget is spent
    await go_to(harness, sent_at + timedelta(days=1, seconds=-1))
    assert received(chat, YOGA) + received(chat, WELCOME_2) == 0
    await go_to(harness, sent_at + timedelta(days=1))
    assert received(chat, YOGA) + received(chat, WELCOME_2) == 1
    await go_to(harness, sent_at + timedelta(days=2))
    assert received(chat, YOGA) + received(chat, WELCOME_2) == 2


async def test_purchase_ends_the_sequence(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    await harness.advance(minutes=1)
    cashier = await hire(harness)
    await cashier.send(f"/sale {await card_code(chat)} 350 coffee")
    await harness.tick()
    welcome = (await enrolments(harness))["welcome"]
    assert (welcome.state, welcome.exit_reason) == ("exited", "purchased")
    await harness.advance(days=5)
    assert received(chat, WELCOME_2) == 0


async def test_opt_out_ends_sequences_and_cancels_queued_steps(harness: Harness, chat: ChatDriver) -> None:
    harness.clock.set(datetime(2026, 1, 5, 19, 30, tzinfo=UTC))
    await chat.send("/start")
    await harness.advance(minutes=1)  # queued, held back by quiet hours
    await chat.send("/stop")
    await harness.tick()
    welcome = (await enrolments(harness))["welcome"]
    assert (welcome.state, welcome.exit_reason) == ("exited", "opted_out")
    [row] = await harness.services["outbox"].for_customer((await stored(harness)).id)
    assert row.state == "cancelled"
    await harness.advance(days=3)
    assert received(chat, WELCOME_1) == 0


async def test_blocked_customer_is_marked_and_skipped(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    await harness.tick()
    harness.emu.block(1001)
    report = await harness.advance(minutes=1)
    assert report["blocked"] == 1
    customer = await stored(harness)
    assert customer.unreachable
    await harness.tick()
    assert (await enrolments(harness))["welcome"].exit_reason == "blocked"
    await harness.advance(days=3)
    assert all(row.state != "sent" for row in await harness.services["outbox"].for_customer(customer.id))


# Twenty customers starting within milliseconds would hit the real global limit: this test is about
# an injected storm, so the emulator's own bucket is widened.
@pytest.mark.parametrize("emulator_options", [{"global_per_second": 1000}])
async def test_a_429_storm_is_ridden_out_with_nothing_lost(harness: Harness) -> None:
    chats = [harness.chat(3000 + n, first_name=f"C{n}") for n in range(20)]
    for chat in chats:
        await chat.send("/start")
    await harness.tick()
    harness.emu.inject_429(8, retry_after=3)
    harness.clock.advance(timedelta(minutes=1))
    for _ in range(10):
        await harness.tick()
    assert [received(chat, WELCOME_1) for chat in chats] == [1] * 20
    counts = await harness.services["outbox"].counts_by_state()
    assert counts == {"sent": 20}
    assert harness.clock.slept >= 3  # it waited Telegram's retry_after instead of hammering


async def test_crash_mid_send_neither_duplicates_nor_loses(harness: Harness) -> None:
    anna, boris = harness.chat(1001), harness.chat(1002, first_name="Boris")
    await anna.send("/start")
    await boris.send("/start")
    await harness.tick()
    harness.clock.advance(timedelta(minutes=1))
    await harness.app.jobs.advance()  # both first steps queued…
    outbox = harness.services["outbox"]
    anna_row = (await outbox.for_customer((await stored(harness, 1001)).id))[0]
    assert await outbox.claim(anna_row.id, harness.clock.now())  # …and the process dies mid-send of Anna's
    await harness.restart()
    await harness.tick()
    assert received(anna, WELCOME_1) == 0  # fate unknown: never sent twice
    assert received(boris, WELCOME_1) == 1  # pending work survives the restart
    assert (await harness.services["outbox"].get(anna_row.id)).state == "unknown"
    await go_to(harness, datetime(2026, 1, 6, 9, 0, tzinfo=UTC))
    assert received(anna, WELCOME_2) == 1 and received(boris, WELCOME_2) == 1


async def test_tell_me_more_sends_the_next_step_at_once(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    await harness.advance(minutes=1)
    await chat.click("Tell me more")
    await harness.advance(seconds=1)  # the drain runs every second
    assert received(chat, WELCOME_2) == 1
    await chat.click("Tell me more", message=next(m for m in chat.messages() if WELCOME_1 in m.plain_text))
    await harness.tick()
    assert received(chat, WELCOME_2) == 1  # pressing again sends nothing twice


async def test_not_now_leaves_the_sequence(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    await harness.advance(minutes=1)
    await chat.click("Tell me more")
    await harness.advance(seconds=1)  # the drain runs every second
    replies = await chat.click("Not now")
    assert any("no more messages on this topic" in m.plain_text for m in replies)
    assert (await enrolments(harness))["welcome"].exit_reason == "declined"


async def test_owner_previews_every_step_and_customers_cannot(harness: Harness, chat: ChatDriver) -> None:
    owner = harness.chat(OWNER_ID, first_name="Olga")
    replies = await owner.send("/preview welcome")
    text = "\n".join(m.plain_text for m in replies)
    assert WELCOME_1 in text and WELCOME_2 in text and WELCOME_3 in text
    assert "Usage: /preview" in (await owner.send("/preview nope"))[-1].plain_text
    assert "only for the team" in (await chat.send("/preview welcome"))[-1].plain_text


async def test_sequences_report_counts_enrolments_steps_and_clicks(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    await harness.advance(minutes=1)
    await chat.click("Tell me more")
    await harness.advance(seconds=1)  # the drain runs every second
    owner = harness.chat(OWNER_ID, first_name="Olga")
    report = "\n".join(m.plain_text for m in await owner.send("/sequences"))
    assert "enrolled 1 · active 1" in report
    assert "1: 1 sent/1 click · 2: 1 sent/0 clicks · 3: 0 sent/0 clicks" in report
    assert "only for the team" in (await chat.send("/sequences"))[-1].plain_text


async def test_birthday_brings_one_greeting_on_the_day_and_a_reminder_later(
    harness: Harness, chat: ChatDriver
) -> None:
    await chat.send("/start")
    await chat.send("Skip")
    await chat.send("6.1")  # tomorrow
    await harness.tick()
    assert received(chat, "Happy birthday") == 0
    await go_to(harness, datetime(2026, 1, 6, 7, 59, tzinfo=UTC))  # 09:59 in Kyiv
    assert received(chat, "Happy birthday") == 0
    await go_to(harness, datetime(2026, 1, 6, 8, 0, tzinfo=UTC))  # the daily run at 10:00
    [greeting] = [m.plain_text for m in chat.messages() if "Happy birthday" in m.plain_text]
    assert "+100" in greeting and "birthday dessert" in greeting  # points and the coupon in one message
    await go_to(harness, datetime(2026, 1, 10, 9, 0, tzinfo=UTC))  # four days later, 11:00 in Kyiv
    assert received(chat, "Still celebrating") == 1
    await harness.advance(days=2)
    assert received(chat, "Happy birthday") == 1 and received(chat, "Still celebrating") == 1


async def test_reentry_rule_keeps_a_customer_from_restarting_a_sequence(
    harness: Harness, chat: ChatDriver
) -> None:
    await pick_yoga(chat)
    await harness.tick()
    await chat.send("/profile")
    await chat.click("Interests")
    await chat.click("Yoga")  # off
    await chat.click("Yoga")  # on again: a second tag_added event
    await chat.click("Done")
    await harness.tick()
    customer = await stored(harness)
    rows = await harness.services["enrollments"].for_customer(customer.id)
    assert [row.sequence for row in rows].count("yoga-intro") == 1


async def test_a_replayed_update_is_not_answered_twice(harness: Harness, chat: ChatDriver) -> None:
    await harness.stop()
    update = harness.emu.send_message(1001, "/start")
    harness.emu.push_update(dict(update))  # Telegram re-delivers what a crashed bot never confirmed
    await harness.start()
    await harness.emu.wait_processed(update["update_id"])
    assert sum("Welcome to" in m.plain_text for m in chat.messages()) == 1


@pytest.fixture
def photo_content(tmp_path: Any) -> dict[str, Any]:
    import yaml

    from bot.sandbox.emulator import TINY_PNG
    from flows.content import example_content_path

    raw = yaml.safe_load(example_content_path().read_text("utf-8"))
    raw["sequences"][0]["steps"][0]["photo"] = "images/welcome.png"
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "welcome.png").write_bytes(TINY_PNG)
    path = tmp_path / "content.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return {"content_file": str(path)}


async def test_a_step_with_a_photo_arrives_as_a_photo_with_caption(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    await harness.advance(minutes=1)
    [photo] = [m for m in chat.messages() if m.kind == "photo"]
    assert WELCOME_1 in (photo.caption or "")
    assert photo.buttons  # the "Tell me more" button rides along


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.node.name.startswith("test_a_step_with_a_photo"):
        return request.getfixturevalue("photo_content")
    return {}
