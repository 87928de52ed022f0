"""Messy questions end to end: several in one message, a very long one, emoji, and a question asked in
the middle of onboarding."""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.faq_index import FaqIndex, Verdict
from flows.question_split import PIECE_WORDS, READ_LIMIT, TOTAL_WORDS
from tests.conftest import OWNER_ID, Harness
from tests.handoff_helpers import texts

PRICES = "Unlimited month — 2 800 ₴"
PARKING = "free parking"
# About 4,000 characters of a customer's life story, no question in it.
STORY = (
    "Last summer my sister and I travelled along the coast, we stayed in small guest houses, cooked "
    "dinner together every evening, swam before breakfast and read books under the old pine trees, "
    "and since then I keep thinking about how calm those weeks felt compared to my ordinary life "
) * 15


@dataclass
class SeenByMatcher:
    """The FAQ's index, recording every text it is asked to judge (a spy on our own object, nothing mocked)."""

    index: FaqIndex
    seen: list[str] = field(default_factory=list)

    def judge(self, question: str) -> Verdict:
        self.seen.append(question)
        return self.index.judge(question)

    def __getattr__(self, name: str) -> object:
        return getattr(self.index, name)


def spy_on_matcher(harness: Harness) -> SeenByMatcher:
    faq = harness.services["faq"]
    spy = SeenByMatcher(faq.index)
    faq.index = spy
    return spy


async def test_two_questions_get_the_first_answered_and_the_second_offered(harness: Harness) -> None:
    anna = harness.chat(1001)
    answer, also = await anna.send("How much is a monthly membership? And is there parking?")
    assert PRICES in answer.plain_text
    assert also.plain_text == "You also asked:"
    assert [label for row in also.buttons for label, _ in row] == ["🚗 Parking"]
    [parking] = await anna.click("🚗 Parking")
    assert PARKING in parking.plain_text.lower()


async def test_the_first_question_the_faq_is_sure_of_is_answered_in_russian(harness: Harness) -> None:
    ivan = harness.chat(1002, first_name="Иван", language_code="ru")
    answer, also = await ivan.send("Добрый день! Где вы находитесь? а ещё сколько стоит абонемент на месяц")
    assert "улице Солнечной, 12" in answer.plain_text
    assert also.plain_text == "Вы также спрашивали:"
    assert [label for row in also.buttons for label, _ in row] == ["💳 Цены"]


async def test_each_question_of_a_message_is_logged_for_the_owner(harness: Harness) -> None:
    anna = harness.chat(1001)
    await anna.send("How much is a monthly membership? And is there parking? Do you have a sauna?")
    report = texts(await harness.chat(OWNER_ID, first_name="Owner").send("/questions"))
    assert "answered 2 · offered a choice 0 · unanswered 1" in report
    assert "Do you have a sauna?" in report


async def test_a_single_question_gets_no_also_line(harness: Harness) -> None:
    anna = harness.chat(1001)
    replies = await anna.send("Hello! How much is a monthly membership?")
    assert len(replies) == 1
    assert PRICES in replies[0].plain_text


async def test_a_4000_character_message_is_answered_and_the_matcher_sees_only_its_start(
    harness: Harness,
) -> None:
    spy = spy_on_matcher(harness)
    anna = harness.chat(1001)
    long = "Is there parking? " + STORY
    assert len(long) >= 4000
    [answer] = await anna.send(long)
    assert PARKING in answer.plain_text.lower()
    assert spy.seen[0] == "Is there parking?"
    assert all(len(text.split()) <= PIECE_WORDS for text in spy.seen)
    assert sum(len(text.split()) for text in spy.seen) <= TOTAL_WORDS
    assert sum(len(text) for text in spy.seen) <= READ_LIMIT


async def test_a_4000_character_story_is_declined_like_a_short_one_and_costs_the_same_bound(
    harness: Harness,
) -> None:
    spy = spy_on_matcher(harness)
    anna = harness.chat(1001)
    [reply] = await anna.send(STORY)
    assert "I don't have an answer to that yet" in reply.plain_text
    assert len(spy.seen) == 1  # one sentence-less run of words: one piece
    assert len(spy.seen[0].split()) == PIECE_WORDS
    assert STORY.startswith(spy.seen[0])


async def test_an_emoji_only_message_gets_the_chatter_reply_and_is_not_a_missed_question(
    harness: Harness,
) -> None:
    anna = harness.chat(1001)
    [reply] = await anna.send("🙂👍🎉")
    assert "Thanks for your message" in reply.plain_text
    report = texts(await harness.chat(OWNER_ID, first_name="Owner").send("/questions"))
    assert "unanswered 0" in report


async def test_an_emoji_that_names_a_topic_is_a_question(harness: Harness) -> None:
    [answer] = await harness.chat(1001).send("📍?")  # the pin: where are you
    assert "12 Sunny Street" in answer.plain_text


async def test_a_question_with_emoji_is_answered(harness: Harness) -> None:
    anna = harness.chat(1001)
    [answer] = await anna.send("🚗🚗 is there parking?? 🙏😊")
    assert PARKING in answer.plain_text.lower()


async def test_a_question_at_the_birthday_step_is_answered_and_the_step_asked_again(harness: Harness) -> None:
    ivan = harness.chat(1002, first_name="Иван", language_code="ru")
    await ivan.send("/start")
    await ivan.send("Пропустить")
    replies = await ivan.send("а сколько стоит занятие?")
    assert "Разовое занятие — 300 ₴" in replies[0].plain_text
    assert "Не получилось прочитать дату" not in texts(replies)
    assert "день рождения" in replies[-1].plain_text.lower()
    customer = await harness.services["customers"].repo.by_tg_id(1002)
    assert customer is not None
    assert customer.onboarding_step == "birthday"
    assert customer.birthday_month is None
    replies = await ivan.send("25.12")
    assert "25 декабря" in texts(replies)


async def test_a_question_at_the_interests_step_is_answered_and_the_choice_shown_again(harness: Harness) -> None:
    ivan = harness.chat(1002, first_name="Иван", language_code="ru")
    await ivan.send("/start")
    await ivan.send("Пропустить")  # the phone
    await ivan.send("25.12")  # the birthday
    replies = await ivan.send("а парковка у вас есть?")
    assert "парковка" in replies[0].plain_text.lower()
    assert replies[-1].buttons, "the interests to choose from, again"
    customer = await harness.services["customers"].repo.by_tg_id(1002)
    assert customer is not None and customer.onboarding_step == "interests"


async def test_a_question_at_the_phone_step_is_answered_and_the_phone_asked_again(harness: Harness) -> None:
    anna = harness.chat(1001)
    await anna.send("/start")
    replies = await anna.send("where are you located?")
    assert "12 Sunny Street" in replies[0].plain_text
    assert "Share your phone number" in replies[-1].plain_text
    assert replies[-1].reply_markup is not None  # the contact button again


async def test_a_bad_date_that_is_not_a_question_still_gets_the_hint(harness: Harness) -> None:
    anna = harness.chat(1001)
    await anna.send("/start")
    await anna.send("Skip")
    assert "couldn't read that date" in texts(await anna.send("tomorrow"))


async def test_russian_and_ukrainian_typed_in_latin_letters_or_on_the_wrong_layout_are_answered(
    harness: Harness,
) -> None:
    for n, question in enumerate(
        [
            "skolko stoit abonement?",  # Russian in Latin letters
            "skilky koshtuye abonement",  # Ukrainian in Latin letters
            "crjkmrj cnjbn f,jytvtyn?",  # "сколько стоит абонемент?" on the English layout
        ]
    ):
        customer = harness.chat(1100 + n, first_name=f"C{n}")
        [reply] = await customer.send(question)
        assert "2 800 ₴" in reply.plain_text, question


async def test_an_english_question_is_not_mistaken_for_a_layout_slip(harness: Harness) -> None:
    [reply] = await harness.chat(1001).send("is there parking?")
    assert PARKING in reply.plain_text.lower()
