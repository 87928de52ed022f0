"""The FAQ learns from its owner and its customers: /questions groups what it missed with one-tap answers,
what is taught answers the next customer at once (typos included), survives a restart and can be removed."""

from __future__ import annotations

from pathlib import Path

from bot.sandbox.driver import ChatDriver
from bot.sandbox.emulator import Emulator, SentMessage
from flows.clock import FakeClock
from flows.faq_teaching import group_questions
from handlers.faq import SuggestionCb
from handlers.faq_teaching import TaughtCb, TeachCb
from storage.faq_log import FaqQuestion
from tests.conftest import OWNER_ID, Harness, make_settings
from tests.handoff_helpers import texts
from tests.loyalty_helpers import hire

NO_ANSWER = "I don't have an answer to that yet"
PRICES = "Single class — 300 ₴"


def owner_of(harness: Harness) -> ChatDriver:
    return harness.chat(OWNER_ID, first_name="Owner")


async def group_message(owner: ChatDriver, question: str) -> SentMessage:
    """/questions, and the message of the group whose question is `question`."""
    replies = await owner.send("/questions")
    found = [m for m in replies if question in (m.plain_text or "") and m.buttons]
    assert found, texts(replies)
    return found[0]


async def answer(chat: ChatDriver, question: str) -> str:
    return texts(await chat.send(question))


async def test_a_missed_question_taught_by_the_owner_answers_another_customer_with_a_typo(
    harness: Harness,
) -> None:
    anna, boris, owner = harness.chat(1001), harness.chat(1002, first_name="Boris"), owner_of(harness)
    assert NO_ANSWER in await answer(anna, "Is there a student discount?")
    group = await group_message(owner, "Is there a student discount?")
    assert "1× Is there a student discount?" in (group.plain_text or "")
    not_ours = group.buttons[-1][0][1] or ""
    await owner.click("Another entry…", message=group)
    edited = await owner.click("💳 Prices", message=group)
    assert "now answered by “💳 Prices”" in texts(edited)
    assert PRICES in await answer(boris, "is ther a studnet discount")
    report = texts(await owner.send("/questions"))
    assert "student discount" not in report  # handled: off the list
    await owner.click("x", message=_with_button(owner, not_ours))  # a stale button, e.g. in another chat
    assert "Already handled" in (owner.last_callback_answer.text or "")  # type: ignore[union-attr]
    assert PRICES in await answer(boris, "is ther a studnet discount")


async def test_not_our_topic_makes_similar_questions_declined_and_keeps_them_off_the_list(
    harness: Harness,
) -> None:
    anna, boris, owner = harness.chat(1001), harness.chat(1002, first_name="Boris"), owner_of(harness)
    assert "Is it one of these?" in await answer(anna, "how much is a used bicycle?")
    group = await group_message(owner, "how much is a used bicycle?")
    offered = [label for row in group.buttons for label, _ in row if label.startswith("→ ")]
    assert "→ 💳 Prices" in offered  # the entries the customer was offered, as one-tap answers
    assert "Not our topic" in texts(await owner.click("🚫 Not our topic", message=group))
    assert NO_ANSWER in await answer(boris, "how much for a bicycle")
    assert "60 minutes — 900 ₴" in await answer(boris, "how much is a massage")  # the rest is untouched
    assert "bicycle" not in texts(await owner.send("/questions"))


async def test_a_new_entry_written_by_the_owner_answers_the_next_customer(harness: Harness) -> None:
    anna, boris, owner = harness.chat(1001), harness.chat(1002, first_name="Boris"), owner_of(harness)
    await anna.send("can I rent the hall for a party?")
    group = await group_message(owner, "can I rent the hall for a party?")
    prompt = await owner.click("➕ New entry", message=group)
    assert "Send its answer" in texts(prompt)
    replies = await owner.send("Yes, on weekends: 1 500 ₴ an hour <with tea>.")
    assert "New entry added" in texts(replies)
    reply = await answer(boris, "can i rent the hal for a party")
    assert "Yes, on weekends: 1 500 ₴ an hour <with tea>." in reply  # plain text, shown as typed
    await boris.send("/faq")
    assert "can I rent the hall for a party?" in boris.button_labels()  # and in the menu
    assert "Yes, on weekends" in texts(await boris.click("can I rent the hall for a party?"))


async def test_a_new_entry_can_be_cancelled_and_an_empty_answer_is_refused(harness: Harness) -> None:
    anna, owner = harness.chat(1001), owner_of(harness)
    await anna.send("can I rent the hall for a party?")
    group = await group_message(owner, "can I rent the hall for a party?")
    await owner.click("➕ New entry", message=group)
    assert "3000 at most" in texts(await owner.send("x" * 3001))
    [back] = await owner.click("✖️ Cancel", message=group)
    assert "🚫 Not our topic" in [label for row in back.buttons for label, _ in row]
    replies = await owner.send("this is not an answer any more")
    assert "New entry added" not in texts(replies)
    assert NO_ANSWER in await answer(anna, "can I rent the hall for a party?")


async def test_removing_a_taught_phrasing_undoes_it_and_brings_the_question_back(harness: Harness) -> None:
    anna, boris, owner = harness.chat(1001), harness.chat(1002, first_name="Boris"), owner_of(harness)
    await anna.send("Is there a student discount?")
    group = await group_message(owner, "Is there a student discount?")
    await owner.click("Another entry…", message=group)
    await owner.click("💳 Prices", message=group)
    [review] = await owner.send("/taught")
    assert "“Is there a student discount?” → 💳 Prices (you)" in (review.plain_text or "")
    [edited] = await owner.click("✖ 1", message=review)
    assert "Nothing learned yet" in (edited.plain_text or "")
    assert NO_ANSWER in await answer(boris, "is ther a studnet discount")
    assert "Is there a student discount?" in texts(await owner.send("/questions"))


async def test_what_was_taught_survives_a_restart_with_an_edited_content_file(
    harness: Harness, tmp_path: Path
) -> None:
    anna, owner = harness.chat(1001), owner_of(harness)
    await anna.send("Is there a student discount?")
    await anna.send("can I rent the hall for a party?")
    group = await group_message(owner, "Is there a student discount?")
    await owner.click("Another entry…", message=group)
    await owner.click("💳 Prices", message=group)
    group = await group_message(owner, "can I rent the hall for a party?")
    await owner.click("➕ New entry", message=group)
    await owner.send("Yes, on weekends.")
    edited = tmp_path / "edited.yaml"  # the owner raised the price meanwhile
    edited.write_text(harness.settings.content_file.read_text("utf-8").replace("300 ₴", "350 ₴"), "utf-8")
    harness.settings = harness.settings.model_copy(update={"content_file": edited})
    await harness.restart()
    boris = harness.chat(1002, first_name="Boris")
    assert "Single class — 350 ₴" in await answer(boris, "is ther a studnet discount")
    assert "Yes, on weekends." in await answer(boris, "can i rent the hal for a party")


async def test_three_customers_tapping_the_same_suggestion_teach_it(harness: Harness) -> None:
    for n, question in enumerate(["can I bring my dog?", "can I bring my dog", "Can I bring my dog please"]):
        customer = harness.chat(1001 + n, first_name=f"C{n}")
        assert "Is it one of these?" in await answer(customer, question)
        assert "Mats, blocks and towels" in texts(await customer.click("🎒 What to bring"))
    db = harness.services["db"]
    assert await db.fetch_value("SELECT COUNT(*) FROM faq_log WHERE chosen = 'what-to-bring'") == 3
    assert "Mats, blocks and towels" in await answer(harness.chat(1010, first_name="D"), "can i bring my dog?")
    [review] = await owner_of(harness).send("/taught")
    assert "(customers' choices)" in (review.plain_text or "")


async def test_two_customers_are_not_enough_and_one_customer_twice_counts_once(harness: Harness) -> None:
    anna, boris = harness.chat(1001), harness.chat(1002, first_name="Boris")
    for customer in (anna, anna, boris):
        await customer.send("can I bring my dog?")
        await customer.click("🎒 What to bring")
    assert "Is it one of these?" in await answer(harness.chat(1010, first_name="D"), "can I bring my dog?")


async def test_a_cashier_or_manager_pressing_the_owners_button_is_refused(harness: Harness) -> None:
    anna, owner = harness.chat(1001), owner_of(harness)
    await anna.send("Is there a student discount?")
    group = await group_message(owner, "Is there a student discount?")
    data = TeachCb(a="m", q=TeachCb.unpack(group.buttons[-1][0][1] or "").q, e="prices").pack()
    for tg_id, role in ((5001, "cashier"), (5002, "manager")):
        member = await hire(harness, tg_id, role, name=role)
        message = member.last()
        assert message is not None
        message.reply_markup = {"inline_keyboard": [[{"text": "x", "callback_data": data}]]}
        await member.click("x", message=message)
        assert "Only the owner" in (member.last_callback_answer.text or "")  # type: ignore[union-attr]
    assert NO_ANSWER in await answer(harness.chat(1002, first_name="Boris"), "Is there a student discount?")


async def test_a_forged_tap_on_another_customers_question_teaches_nothing(harness: Harness) -> None:
    anna, boris = harness.chat(1001), harness.chat(1002, first_name="Boris")
    await anna.send("can I bring my dog?")
    anna_button = next(data for row in anna.buttons() for label, data in row if "What to bring" in label)
    assert anna_button is not None
    await boris.send("can I bring my dog?")
    message = boris.last()
    assert message is not None
    for _ in range(3):  # Boris replays Anna's button three times, as if three customers
        message.reply_markup = {"inline_keyboard": [[{"text": "x", "callback_data": anna_button}]]}
        await boris.click("x", message=message)
    db = harness.services["db"]
    assert await db.fetch_value("SELECT COUNT(*) FROM faq_log WHERE chosen IS NOT NULL") == 0
    forged = SuggestionCb(id="prices", q=SuggestionCb.unpack(anna_button).q).pack()  # not offered to Anna
    await anna.click("x", message=_with_button(anna, forged))
    huge = SuggestionCb(id="prices", q=2**70).pack()  # beyond SQLite's integers
    assert PRICES in texts(await anna.click("x", message=_with_button(anna, huge)))
    assert await db.fetch_value("SELECT COUNT(*) FROM faq_log WHERE chosen IS NOT NULL") == 0
    owner = owner_of(harness)
    await owner.send("/taught")
    for odd in ("²", "9" * 30, "t.²"):
        await owner.click("x", message=_with_button(owner, TaughtCb(a="r", i=odd).pack()))
        assert "Already removed" in (owner.last_callback_answer.text or "")  # type: ignore[union-attr]


def _with_button(chat: ChatDriver, data: str) -> SentMessage:
    message = chat.last()
    assert message is not None
    message.reply_markup = {"inline_keyboard": [[{"text": "x", "callback_data": data}]]}
    return message


async def test_buttons_fit_telegrams_64_bytes_with_the_longest_entry_ids(
    emu: Emulator, tmp_path: Path, clock: FakeClock
) -> None:
    long_id = "massage-and-relaxation-treatment"  # 32 characters, the most a content id may have
    source = make_settings(tmp_path, emu.api_base).content_file.read_text("utf-8")
    content = tmp_path / "content.yaml"
    content.write_text(source.replace("- id: massage", f"- id: {long_id}"), "utf-8")
    harness = Harness(emu, make_settings(tmp_path, emu.api_base, content_file=content), clock)
    await harness.start()
    try:
        anna, owner = harness.chat(1001), owner_of(harness)
        await anna.send("how much is a used bicycle?")
        assert any(long_id in (data or "") for row in anna.buttons() for _, data in row)
        group = await group_message(owner, "how much is a used bicycle?")
        pages = [
            group.buttons,
            *[(await owner.click(label, message=group))[0].buttons for label in ("Another", "▶︎")],
        ]
        datas = [data or "" for buttons in [*pages, anna.buttons()] for row in buttons for _, data in row]
        assert any(long_id in data for data in datas)
        assert max(len(data.encode()) for data in datas) <= 64
    finally:
        await harness.stop()
    # The widest values the factories can be given still fit.
    widest = [
        SuggestionCb(id=long_id, q=2**53).pack(),
        TeachCb(a="m", q=2**53, e=long_id, p=99).pack(),
        TaughtCb(a="r", i=str(2**53), p=999).pack(),
    ]
    assert max(len(data.encode()) for data in widest) <= 64


async def test_forgetting_the_asker_keeps_the_phrasing_but_not_the_link_to_them(harness: Harness) -> None:
    anna, owner = harness.chat(1001), owner_of(harness)
    await anna.send("Is there a student discount?")
    group = await group_message(owner, "Is there a student discount?")
    await owner.click("Another entry…", message=group)
    await owner.click("💳 Prices", message=group)
    await anna.send("/forget")
    assert "has been deleted" in texts(await anna.click("Yes, delete"))
    db = harness.services["db"]
    assert await db.fetch_value("SELECT COUNT(*) FROM faq_log WHERE text LIKE '%student%'") == 0
    assert await db.fetch_value("SELECT text FROM faq_taught") == "Is there a student discount?"
    assert PRICES in await answer(harness.chat(1002, first_name="Boris"), "is ther a studnet discount")


def test_similar_questions_are_grouped_most_asked_first() -> None:
    asked = [
        "Do you have a sauna?",
        "is there a sauna",
        "do you have a pool?",
        "DO YOU HAVE A SAUNA",
        "is there a suana?",
    ]
    questions = [FaqQuestion(n, 1, text, "missed") for n, text in enumerate(asked, start=1)]
    groups = group_questions(questions)
    assert [(g.representative.text, g.count) for g in groups] == [
        ("Do you have a sauna?", 4),
        ("do you have a pool?", 1),
    ]
    assert [text for text, _ in groups[0].texts()] == [
        "Do you have a sauna?",
        "is there a sauna",
        "is there a suana?",
    ]
