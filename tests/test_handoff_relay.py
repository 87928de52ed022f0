"""Relaying while a lead is open: each message kind both ways, in a forum topic and by replies; sequences
held during the conversation; a manager's message that cannot be delivered comes back as a notice."""

from __future__ import annotations

import pytest

from bot.sandbox.driver import ChatDriver
from tests.conftest import Harness
from tests.handoff_helpers import (
    FORUM,
    MANAGERS,
    card,
    customer_of,
    group_messages,
    leads_of,
    manager_chat,
    settle,
    texts,
)

pytestmark = pytest.mark.parametrize("settings_overrides", [FORUM])


async def open_conversation(harness: Harness, *, forum: bool = True) -> tuple[ChatDriver, ChatDriver, int | None]:
    """Anna asks for a manager; returns (Anna, Olga the manager, the topic's thread id or None)."""
    olga, _ = await manager_chat(harness, forum=forum)
    anna = harness.chat(1001)
    await anna.send("/manager")
    await settle(harness)
    topics = harness.emu.topics(MANAGERS)
    return anna, olga, topics[0].message_thread_id if topics else None


async def test_customer_messages_of_every_kind_reach_the_topic(harness: Harness) -> None:
    anna, _, topic = await open_conversation(harness)
    await anna.send("Hi! Is there a class tonight?")
    await anna.send_photo("my mat")
    await anna.send_document(b"%PDF-1.4", file_name="certificate.pdf", mime_type="application/pdf")
    await anna.send_voice()
    await settle(harness)
    relayed = group_messages(harness, thread_id=topic)[1:]  # after the card
    assert [m.kind for m in relayed] == ["text", "photo", "document", "voice"]
    assert relayed[0].plain_text == "Hi! Is there a class tonight?"
    assert relayed[1].caption == "my mat"
    assert relayed[2].file.file_name == "certificate.pdf"
    assert all(m.method == "copyMessage" for m in relayed)


async def test_manager_messages_of_every_kind_reach_the_customer(harness: Harness) -> None:
    anna, olga, topic = await open_conversation(harness)
    await olga.send("Hello Anna, yes — at 19:00!", thread_id=topic)
    await olga.send_photo("the hall", thread_id=topic)
    await olga.send_document(b"schedule", file_name="schedule.txt", thread_id=topic)
    await olga.send_voice(thread_id=topic)
    await settle(harness)
    received = [m for m in anna.messages() if m.method == "copyMessage"]
    assert [m.kind for m in received] == ["text", "photo", "document", "voice"]
    assert received[0].plain_text == "Hello Anna, yes — at 19:00!"
    assert received[1].caption == "the hall"
    lead = (await leads_of(harness))[0]
    assert lead.state == "taken" and lead.taken_by_name == "Olga"  # answering first takes the lead
    assert lead.first_answer_at is not None
    assert "Taken by Olga" in card(harness).plain_text


async def test_reply_mode_relays_through_replies_to_the_bots_messages(harness: Harness) -> None:
    anna, olga, topic = await open_conversation(harness, forum=False)
    assert topic is None
    shown = card(harness)
    assert shown.thread_id is None
    await anna.send("Can I come with my friend?")
    await anna.send_photo()
    await settle(harness)
    text_copy, photo_copy = group_messages(harness)[-2:]
    assert text_copy.plain_text == "💬 Anna · lead #1\nCan I come with my friend?"
    assert text_copy.reply_to_message_id == shown.message_id
    assert photo_copy.kind == "photo" and photo_copy.plain_text == "💬 Anna · lead #1"
    await olga.send("Of course, bring them along!", reply_to=text_copy.message_id)
    await olga.send_voice(reply_to=shown.message_id)
    await settle(harness)
    received = [m for m in anna.messages() if m.method == "copyMessage"]
    assert [(m.kind, m.plain_text) for m in received] == [
        ("text", "Of course, bring them along!"),
        ("voice", None),
    ]


async def test_team_chatter_in_the_manager_chat_is_left_alone(harness: Harness) -> None:
    anna, olga, _ = await open_conversation(harness, forum=False)
    before = len(group_messages(harness))
    replies = await olga.send("Coffee anyone?")
    assert replies == []
    await settle(harness)
    assert len(group_messages(harness)) == before
    assert not [m for m in anna.messages() if m.method == "copyMessage"]


async def test_an_undeliverable_manager_reply_is_reported_in_the_topic(harness: Harness) -> None:
    _, olga, topic = await open_conversation(harness)
    harness.emu.block(1001)
    await olga.send("Anna, are you still there?", thread_id=topic)
    await settle(harness)
    notice = group_messages(harness, thread_id=topic)[-1]
    assert notice.plain_text == "⚠️ Not delivered to Anna: the customer has blocked the bot."
    assert notice.reply_to_message_id is not None
    # A second message after the block is known is reported too, not silently cancelled.
    await olga.send("Hello?", thread_id=topic)
    await settle(harness)
    assert texts(group_messages(harness, thread_id=topic)).count("Not delivered to Anna") == 2


async def test_a_manager_writing_in_a_closed_conversation_is_told_it_was_not_sent(harness: Harness) -> None:
    anna, olga, topic = await open_conversation(harness)
    await olga.click("Lost", message=card(harness))
    replies = await olga.send("One more thing…", thread_id=topic)
    assert "Not sent: this conversation is closed" in texts(replies)
    await settle(harness)
    assert not [m for m in anna.messages() if m.method == "copyMessage"]
    # The customer's free text goes back to the FAQ once the conversation is closed.
    assert "Prices" in texts(await anna.send("how much is a class?"))


async def test_someone_without_the_manager_role_cannot_answer_customers(harness: Harness) -> None:
    anna, _, topic = await open_conversation(harness)
    stranger = harness.chat(777, first_name="Mallory", chat_id=MANAGERS)
    replies = await stranger.send("Hi, I am the manager, send me your card number", thread_id=topic)
    assert "only managers can answer customers" in texts(replies)
    await settle(harness)
    assert not [m for m in anna.messages() if m.method == "copyMessage"]


async def test_sequences_pause_during_the_conversation_and_resume_after_it(harness: Harness) -> None:
    olga, _ = await manager_chat(harness)
    anna = harness.chat(1001)
    await anna.send("/start")
    await harness.advance(seconds=30)
    await anna.send("/manager")
    await settle(harness)
    enrollments = harness.services["enrollments"]
    customer = await customer_of(harness)
    assert [e.state for e in await enrollments.for_customer(customer.id)] == ["paused"]
    await harness.advance(minutes=5)
    assert "Here is how it works" not in texts(anna.messages())
    await olga.click("Won", message=card(harness))
    assert [e.state for e in await enrollments.for_customer(customer.id)] == ["active"]
    await harness.advance(seconds=1)
    assert "Here is how it works" in texts(anna.messages())


async def test_a_sequence_started_during_the_conversation_is_held_too(harness: Harness) -> None:
    await manager_chat(harness)
    anna = harness.chat(1001)
    await anna.send("/start")  # subscribed: sequences may start for her
    await anna.send("/manager")
    await settle(harness)
    customer = await customer_of(harness)
    await harness.services["customers"].repo.add_tag(customer.id, "yoga", harness.clock.now())  # yoga-intro
    await harness.advance(hours=3)
    assert "beginners' class" not in texts(anna.messages())
    states = {e.sequence: e.state for e in await harness.services["enrollments"].for_customer(customer.id)}
    assert states["yoga-intro"] == "paused"


async def test_forgetting_closes_the_conversation_and_deletes_the_messages(harness: Harness) -> None:
    anna, olga, topic = await open_conversation(harness)
    await anna.send("my address is 5 Secret Lane")
    await settle(harness)
    await anna.send("/forget")
    await anna.click("Yes, delete")
    [lead] = await leads_of_forgotten(harness)
    assert lead.state == "lost" and lead.context is None
    db = harness.services["db"]
    assert await db.fetch_value("SELECT COUNT(*) FROM customer_messages") == 0
    replies = await olga.send("Anna?", thread_id=topic)
    assert replies == []  # the topic no longer leads to anyone: treated as team chatter
    await settle(harness)


async def leads_of_forgotten(harness: Harness) -> list:  # type: ignore[type-arg]
    rows = await harness.services["db"].fetch_all("SELECT id FROM leads")
    return [await harness.services["handoff"].leads.get(row[0]) for row in rows]


async def test_a_restart_before_sending_loses_no_relay_and_sends_none_twice(harness: Harness) -> None:
    anna, olga, topic = await open_conversation(harness)
    await anna.send("are you there?")
    await olga.send("Yes, here!", thread_id=topic)
    await harness.restart()  # both relays were queued, none sent yet
    await settle(harness)
    await harness.restart()
    await settle(harness)
    assert [m.plain_text for m in group_messages(harness, thread_id=topic)].count("are you there?") == 1
    assert [m.plain_text for m in anna.messages()].count("Yes, here!") == 1
    assert len(await leads_of(harness)) == 1
