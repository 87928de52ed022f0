"""Questions end to end: answers, close calls, misses kept for the owner, the /faq menu."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import OWNER_ID, Harness
from tests.handoff_helpers import texts


async def test_a_clear_question_gets_its_answer_with_the_entrys_buttons(harness: Harness) -> None:
    anna = harness.chat(1001)
    [answer] = await anna.send("how much is a monthly membership??")
    assert "Unlimited month — 2 800 ₴" in answer.plain_text
    assert [label for row in answer.buttons for label, _ in row] == ["Buy a pass"]


async def test_a_typo_in_russian_still_finds_the_answer_in_the_customers_language(harness: Harness) -> None:
    ivan = harness.chat(1002, first_name="Иван", language_code="ru")
    [answer] = await ivan.send("гдe вы находитесь")  # a Latin "e"
    assert "улице Солнечной, 12" in answer.plain_text
    assert ("Открыть карту", "https://maps.example.com/sunrise") in answer.buttons[0]


async def test_a_close_call_offers_up_to_three_questions_and_a_way_to_a_person(harness: Harness) -> None:
    anna = harness.chat(1001)
    [offer] = await anna.send("how much?")
    assert "Is it one of these?" in offer.plain_text
    labels = [label for row in offer.buttons for label, _ in row]
    assert labels == ["💳 Prices", "💆 Massage", "None of these — ask a manager"]
    [answer] = await anna.click("💆 Massage")
    assert "60 minutes — 900 ₴" in answer.plain_text


async def test_an_unanswerable_question_is_kept_and_counted_for_the_owner(harness: Harness) -> None:
    anna = harness.chat(1001)
    [reply] = await anna.send("Do you have a sauna?")
    assert "I don't have an answer to that yet" in reply.plain_text
    assert reply.buttons[0][0][0] == "👤 Talk to a manager"
    await harness.chat(1002, first_name="Boris").send("do you have a SAUNA")
    await anna.send("What are your prices?")
    report = texts(await harness.chat(OWNER_ID, first_name="Owner").send("/questions"))
    assert "answered 1 · offered a choice 0 · unanswered 2" in report
    assert "2× Do you have a sauna?" in report


async def test_none_of_the_suggestions_counts_as_unanswered(harness: Harness) -> None:
    anna = harness.chat(1001)
    await anna.send("how much?")
    await anna.click("None of these")  # no manager chat here: the customer is told plainly
    report = texts(await harness.chat(OWNER_ID, first_name="Owner").send("/questions"))
    assert "offered a choice 0 · unanswered 1" in report


async def test_faq_menu_lists_the_questions_and_answers_them(harness: Harness) -> None:
    olena = harness.chat(1003, first_name="Олена", language_code="uk")
    [menu] = await olena.send("/faq")
    labels = [label for row in menu.buttons for label, _ in row]
    assert labels[:3] == ["💳 Ціни", "🗓 Розклад занять", "📍 Адреса"]
    assert labels[-1] == "👤 Написати менеджеру"
    [answer] = await olena.click("🚗 Паркування")
    assert "безкоштовна парковка" in answer.plain_text


async def test_greetings_get_a_friendly_pointer_not_a_missed_question(harness: Harness) -> None:
    anna = harness.chat(1001)
    assert "Thanks for your message" in texts(await anna.send("Hello!"))
    report = texts(await harness.chat(OWNER_ID, first_name="Owner").send("/questions"))
    assert "unanswered 0" in report


async def test_someone_elses_question_button_is_refused(harness: Harness) -> None:
    anna, boris = harness.chat(1001), harness.chat(1002, first_name="Boris")
    await anna.send("Do you have a sauna?")
    anna_button = anna.buttons()[0][0][1]
    # Boris's client replays Anna's callback data on his own message with the same kind of button.
    await boris.send("Do you have a sauna?")
    boris_message = boris.last()
    boris_message.reply_markup = {"inline_keyboard": [[{"text": "x", "callback_data": anna_button}]]}
    await boris.click("x", message=boris_message)
    assert "no longer active" in (boris.last_callback_answer.text or "")


async def test_a_question_about_booking_is_answered_not_mistaken_for_buying(harness: Harness) -> None:
    [answer] = await harness.chat(1001).send("How do I book a class?")
    assert "Cancel or move a class free of charge" in answer.plain_text


async def test_answered_questions_are_logged_behind_in_one_write_and_counted_for_the_owner(
    harness: Harness,
) -> None:
    db, faq = harness.services["db"], harness.services["faq"]
    for n in range(3):
        await harness.chat(1001 + n, first_name=f"C{n}").send("how much is a monthly membership?")
    assert await db.fetch_value("SELECT COUNT(*) FROM faq_log") == 0  # no write transaction per answer
    counts = await faq.counts()  # flushes first: the owner's figures are never a second behind
    assert counts.answered == 3
    assert await db.fetch_value("SELECT COUNT(*) FROM faq_log WHERE outcome = 'answered'") == 3


async def test_an_answered_question_of_someone_forgotten_before_the_flush_is_never_written(
    harness: Harness,
) -> None:
    anna = harness.chat(1001)
    await anna.send("how much is a monthly membership?")
    await anna.send("/forget")
    assert "has been deleted" in texts(await anna.click("Yes, delete"))
    await harness.services["faq"].log.flush()
    assert await harness.services["db"].fetch_value("SELECT COUNT(*) FROM faq_log WHERE text != ''") == 0


async def test_the_owners_own_topic_words_in_the_content_file_reach_the_running_bot(
    harness: Harness, tmp_path: Path
) -> None:
    """`faq_concepts:` in the content file: a word of the owner's ("shiatsu", which no phrasing and no
    shipped topic has) joins a topic their massage entry names, and a question using it is answered."""
    question = "do you do shiatsu?"
    [before] = await harness.chat(1001).send(question)
    assert "60 minutes — 900 ₴" not in before.plain_text
    edited = tmp_path / "content.yaml"
    text = harness.settings.content_file.read_text("utf-8") + "\nfaq_concepts:\n  spa: {en: [shiatsu]}\n"
    edited.write_text(text, "utf-8")
    harness.settings = harness.settings.model_copy(update={"content_file": edited})
    await harness.restart()
    [after] = await harness.chat(1002, first_name="Boris").send(question)
    assert "60 minutes — 900 ₴" in after.plain_text
