"""Broadcasts end to end: the wizard, coupons with limited stock, pause/cancel/resume across restarts,
scheduling, attribution, and roles on every command and button."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest

from handlers.broadcast_wizard import WizCb
from handlers.broadcasts import BcBtnCb, BcCtlCb
from tests.broadcast_helpers import SALE, buy, customer, forge, owner, texts, wizard
from tests.conftest import Harness
from tests.loyalty_helpers import deliver


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Welcome steps would compete for the contact budget; quiet hours are tested on their own.
    return {"contact_budget_per_day": 20, "contact_budget_per_week": 50, "quiet_hours": ""}


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rate_limits": False}


def got(harness: Harness, tg_id: int, needle: str = SALE) -> int:
    return sum(needle in str(m) for m in harness.emu.messages(tg_id))


async def test_wizard_sends_to_the_segment_with_formatting_and_a_live_progress_message(harness: Harness) -> None:
    yoga = await customer(harness, 1001, "Anna")
    both = await customer(harness, 1002, "Ivan")
    await customer(harness, 1003, "Olena")  # bought nothing
    await buy(harness, yoga, category="yoga", days_ago=40)
    await buy(harness, both, category="yoga", days_ago=40)
    await buy(harness, both, category="massage", days_ago=40)
    boss = await wizard(harness, "bought:yoga !bought:massage")
    await deliver(harness)
    [sale] = [m for m in harness.emu.messages(1001) if SALE in str(m)]
    assert sale.entities == [{"type": "bold", "offset": 13, "length": 7}]  # the owner's formatting, as typed
    assert got(harness, 1002) == 0 and got(harness, 1003) == 0
    progress = [m for m in boss.messages() if "Broadcast #" in str(m)][-1]
    assert "done" in str(progress) and "Delivered 1" in str(progress)
    assert progress.edits >= 1 and not progress.buttons
    assert "broadcast_confirmed" in await harness.services["staff"].repo.audit_actions()


async def test_coupon_per_recipient_respects_the_limit(harness: Harness) -> None:
    people = [await customer(harness, 1001 + n, f"C{n}") for n in range(3)]
    await wizard(harness, "everyone", buttons="Grab it | coupon", coupon="free cookie", limit="2")
    await deliver(harness)
    codes = []
    for person in people:
        chat = harness.chat(person.tg_id or 0)
        replies = await chat.click("Grab it")
        codes.append(re.search(r"Code: ([\w-]+)|([A-Z0-9]{4}-[A-Z0-9]{4})", str(replies[-1])))
    issued = [m for m in codes if m]
    assert len(issued) == 2 and len({m.group(0) for m in issued}) == 2  # two, each its own code
    assert "all taken" in texts(harness.chat(people[2].tg_id or 0))[-1].lower() or codes[2] is None
    again = await harness.chat(people[0].tg_id or 0).click("Grab it")  # a second press shows the same code
    assert issued[0].group(0) in str(again[-1])
    assert await harness.services["coupons"].repo.count("cookie") == 2


async def test_preview_shows_the_message_and_audience_before_anything_goes_out(harness: Harness) -> None:
    await customer(harness, 1001)
    boss = owner(harness)
    await boss.send("/broadcast")
    await boss.send("everyone")
    await boss.send_photo("New mats are in")
    replies = await boss.send("Book now | https://example.com/book\nTell me more | interested")
    preview, summary = replies[-2], replies[-1]
    assert preview.kind == "photo" and "New mats are in" in str(preview)
    assert [label for row in preview.buttons for label, _ in row] == ["Book now", "Tell me more"]
    assert "Audience now: 1 customer" in str(summary)  # Anna; the owner never sent /start: not subscribed
    await boss.click("Tell me more", message=preview)
    assert "Preview" in (boss.last_callback_answer.text or "")
    replies = await boss.send("send it")  # typed where a button is expected
    assert "answer with the buttons above" in str(replies[-1])
    assert got(harness, 1001, "New mats") == 0


async def test_wizard_explains_bad_input_at_every_step(harness: Harness) -> None:
    await customer(harness, 1001)
    boss = owner(harness)
    await boss.send("/broadcast")
    replies = await boss.send("bought:yoga lst_purchase>30d")
    assert "Word 2" in str(replies[-1]) and "last_purchase" in str(replies[-1])
    await boss.send("everyone")
    replies = await boss.send_document()
    assert "Send text, a photo or a video" in str(replies[-1])
    await boss.send("Hello")
    replies = await boss.send("Book now https://example.com")
    assert "Label | target" in str(replies[-1])
    replies = await boss.send("Book | ftp://example.com")
    assert "neither a link" in str(replies[-1])
    await boss.send("Gift | coupon")
    await boss.click("free cookie")
    replies = await boss.send("lots")
    assert "whole number" in str(replies[-1])
    await boss.send("3")
    await boss.click("At a date and time")
    replies = await boss.send("yesterday at noon")
    assert "could not read" in str(replies[-1])
    replies = await boss.send("01.01.2020 10:00")
    assert "already passed" in str(replies[-1])


async def test_scheduled_broadcast_goes_out_at_its_local_time(harness: Harness) -> None:
    await customer(harness, 1001)
    # The test clock starts on Monday 5 January 2026, 14:00 in Kyiv.
    boss = await wizard(harness, "everyone", when="05.01 18:30")
    assert "scheduled" in boss.last_text() and "Jan 5, 2026, 18:30" in boss.last_text()
    await harness.advance(hours=4, minutes=29)
    assert got(harness, 1001) == 0
    await harness.advance(minutes=1)
    await deliver(harness)
    assert got(harness, 1001) == 1


@pytest.mark.parametrize("settings_overrides", [{"send_rate_per_second": 1, "quiet_hours": ""}])
async def test_pause_survives_a_restart_and_resume_sends_the_rest_once(harness: Harness) -> None:
    for n in range(6):
        await customer(harness, 1001 + n, f"C{n}")
    boss = await wizard(harness, "everyone")
    await harness.tick()  # at one message a second, the first ones go out
    sent_before = sum(got(harness, 1001 + n) for n in range(6))
    assert 1 <= sent_before < 6
    await boss.click("Pause")
    assert "paused" in boss.last_text()
    await harness.restart()
    await deliver(harness, rounds=6)
    assert sum(got(harness, 1001 + n) for n in range(6)) == sent_before
    await owner(harness).click("Resume")
    await deliver(harness, rounds=6)
    assert [got(harness, 1001 + n) for n in range(6)] == [1] * 6
    progress = [m for m in boss.messages() if "Broadcast #" in str(m)][-1]
    assert "Delivered 6" in str(progress) and "done" in str(
        progress
    )  # the owner never sent /start: not subscribed
    actions = await harness.services["staff"].repo.audit_actions()
    assert {"broadcast_paused", "broadcast_resumed"} <= set(actions)


@pytest.mark.parametrize("settings_overrides", [{"send_rate_per_second": 1, "quiet_hours": ""}])
async def test_cancel_stops_what_has_not_gone_out(harness: Harness) -> None:
    for n in range(5):
        await customer(harness, 1001 + n, f"C{n}")
    boss = await wizard(harness, "everyone")
    await harness.tick()
    sent = sum(got(harness, 1001 + n) for n in range(5))
    await boss.click("Cancel")
    await boss.click("Yes, cancel the rest")
    await deliver(harness, rounds=6)
    assert sum(got(harness, 1001 + n) for n in range(5)) == sent < 5
    assert "cancelled" in boss.last_text() and f"cancelled {5 - sent}" in boss.last_text()


async def test_blocked_and_opted_out_customers_are_counted_not_sent(harness: Harness) -> None:
    await customer(harness, 1001)
    await customer(harness, 1002)
    await customer(harness, 1003)
    harness.emu.block(1002)
    boss = await wizard(harness, "everyone")
    await harness.chat(1003).send("/stop")  # after queuing, before sending
    await deliver(harness)
    progress = [m for m in boss.messages() if "Broadcast #" in str(m)][-1]
    assert "Delivered 1 · blocked 1" in str(progress) and "skipped 1" in str(progress)  # Anna


async def test_purchases_after_delivery_are_attributed_within_the_window(harness: Harness) -> None:
    anna = await customer(harness, 1001)
    ivan = await customer(harness, 1002)
    await wizard(harness, "everyone")
    await deliver(harness)
    await harness.advance(days=2)
    await buy(harness, anna, "1200")
    await harness.advance(days=8)
    await buy(harness, ivan, "999")  # ten days after: outside the 7-day window
    replies = await owner(harness).send("/broadcasts")
    report = str(replies[-1])
    assert "Delivered 2" in report  # the owner never sent /start: not subscribed
    assert "1 purchase · revenue 1,200.00 UAH" in report


async def test_interested_button_is_counted_and_recorded(harness: Harness) -> None:
    await customer(harness, 1001)
    await wizard(harness, "everyone", buttons="I want it | interested")
    await deliver(harness)
    replies = await harness.chat(1001).click("I want it")
    assert replies  # without a manager chat the interest is still acknowledged
    report = str((await owner(harness).send("/broadcasts"))[-1])
    assert "1 click by 1 person" in report


async def test_customers_cannot_use_owner_commands_or_forged_buttons(harness: Harness) -> None:
    await customer(harness, 1001)
    anna = harness.chat(1001)
    for command in ("/broadcast", "/broadcasts", "/segment everyone"):
        replies = await anna.send(command)
        assert "only for the team" in str(replies[-1]), command
    boss = owner(harness)
    await boss.send("/broadcast")
    draft = await harness.services["broadcasts"].draft_of(900)
    assert draft is not None
    await wizard(harness, "everyone")
    [live] = await harness.services["broadcasts"].repo.recent(1)
    for label, data in (
        ("pause", BcCtlCb(b=live.id, a="p").pack()),
        ("cancel", BcCtlCb(b=live.id, a="cy").pack()),
        ("steer", WizCb(d=live.id, a="ok").pack()),
        ("coupon", BcBtnCb(b=live.id + 1, i=0).pack()),
    ):
        await forge(harness, anna, label, data)
        await anna.click(label)
        assert "no longer active" in (anna.last_callback_answer.text or ""), label
    fresh = await harness.services["broadcasts"].get(live.id)
    assert fresh is not None and not fresh.paused and fresh.state in ("queuing", "sending", "done")
    assert "broadcast_paused" not in await harness.services["staff"].repo.audit_actions(1001)


async def test_cashier_is_told_broadcasts_are_for_owners_and_managers(harness: Harness) -> None:
    from tests.loyalty_helpers import hire

    cashier = await hire(harness)
    for command in ("/broadcast", "/segment everyone", "/broadcasts"):
        replies = await cashier.send(command)
        assert "for owners and managers" in str(replies[-1]), command


async def test_a_restart_mid_wizard_continues_at_the_same_question(harness: Harness) -> None:
    await customer(harness, 1001)
    boss = owner(harness)
    await boss.send("/broadcast")
    await boss.send("everyone")
    await boss.send_video("Our new studio tour")
    await harness.restart()
    replies = await boss.send("Book | https://example.com")
    assert replies[-2].kind == "video" and "Our new studio tour" in str(replies[-2])  # the preview
    await boss.click("Now")
    await boss.click("Confirm")
    await deliver(harness)
    [tour] = [m for m in harness.emu.messages(1001) if "studio tour" in str(m)]
    assert tour.kind == "video" and tour.buttons == [[("Book", "https://example.com")]]


async def test_a_crash_mid_queuing_resumes_without_duplicates(harness: Harness) -> None:
    people = [await customer(harness, 1001 + n, f"C{n}") for n in range(4)]
    broadcasts = harness.services["broadcasts"]
    draft = await broadcasts.begin(900)
    await broadcasts.repo.update_draft(draft.id, 900, segment="everyone", message={"text": SALE}, step="confirm")
    repo = broadcasts.repo
    await repo.confirm(draft.id, 900, None, harness.clock.now(), {})
    segment = broadcasts.segments.parse("everyone")
    payload = broadcasts.render(await repo.get(draft.id)).to_payload()
    queued, done = await repo.queue_chunk(
        draft.id, segment.filters, payload, harness.clock.now(), rate=25, chunk=2
    )
    assert (queued, done) == (2, False)  # and then the process dies
    await harness.restart()
    await deliver(harness)
    assert [got(harness, p.tg_id or 0) for p in people] == [1, 1, 1, 1]
    assert (await harness.services["broadcasts"].get(draft.id)).audience == len(people)


async def test_concurrent_presses_never_take_more_coupons_than_the_limit(harness: Harness) -> None:
    people = [await customer(harness, 1001 + n, f"C{n}") for n in range(6)]
    await wizard(harness, "everyone", buttons="Gift | coupon", coupon="free cookie", limit="2")
    await deliver(harness)
    broadcasts = harness.services["broadcasts"]
    [live] = await broadcasts.repo.recent(1)
    results = await asyncio.gather(*(broadcasts.claim_coupon(p, live) for p in people))
    assert sorted(r.outcome.value for r in results) == ["issued", "issued", *["sold_out"] * 4]
    assert (await broadcasts.get(live.id)).coupons_issued == 2


@pytest.mark.parametrize("settings_overrides", [{"contact_budget_per_day": 20, "quiet_hours": "21:00-09:00"}])
async def test_a_broadcast_confirmed_in_quiet_hours_waits_for_the_morning(harness: Harness) -> None:
    await customer(harness, 1001)
    harness.clock.advance(timedelta(hours=8))  # 22:00 in Kyiv
    boss = owner(harness)
    await boss.send("/broadcast")
    await boss.send("everyone")
    await boss.send("Good morning offer")
    await boss.click("No buttons")
    await boss.click("No coupon")
    replies = await boss.click("Now")
    assert "quiet hours: messages start at 09:00" in str(replies[-1])
    await boss.click("Confirm")
    await deliver(harness)
    assert got(harness, 1001, "Good morning offer") == 0
    assert "1 waiting for quiet hours to end (09:00)" in boss.last_text()
    await harness.advance(hours=11)  # 09:00
    await deliver(harness)
    assert got(harness, 1001, "Good morning offer") == 1
