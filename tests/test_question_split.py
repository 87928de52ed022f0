"""Several questions in one message, the bound on a long one, and what is clearly a question."""

from __future__ import annotations

import pytest

from flows.question_split import PIECE_WORDS, READ_LIMIT, TOTAL_WORDS, looks_like_question, split_questions


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("How much is a month? And do you have parking", ["How much is a month?", "And do you have parking"]),
        ("Сколько стоит абонемент? А ещё где вы находитесь?", ["Сколько стоит абонемент?", "где вы находитесь?"]),
        ("где вы а ещё сколько стоит", ["где вы", "сколько стоит"]),
        ("где вы и еще когда открыты", ["где вы", "когда открыты"]),
        ("сколько стоит массаж, а также есть ли парковка", ["сколько стоит массаж", "есть ли парковка"]),
        ("Скільки коштує? і ще де ви", ["Скільки коштує?", "де ви"]),
        ("де ви а ще коли відкриті", ["де ви", "коли відкриті"]),
        ("ціна місяця, а також паркування", ["ціна місяця", "паркування"]),
        ("do you have parking, also what are your hours", ["do you have parking", "what are your hours"]),
        ("prices and also the schedule please", ["prices", "the schedule please"]),
        ("Hi!How much?Where are you?", ["Hi!", "How much?", "Where are you?"]),
        ("line one\nline two\r\n\nline three", ["line one", "line two", "line three"]),
        ("It's for my son. He is 7. Do you take kids?", ["It's for my son.", "He is 7.", "Do you take kids?"]),
    ],
)
def test_a_message_is_cut_into_its_questions_in_order(text: str, pieces: list[str]) -> None:
    assert split_questions(text) == pieces


@pytest.mark.parametrize(
    "text",
    [
        "can I also bring a friend?",  # "also" inside a question joins nothing
        "Занятие в 12.30 есть?",  # a time is not a sentence end
        "Можно на 25.12.2026?",
        "сколько стоит абонемент",
    ],
)
def test_one_question_stays_whole(text: str) -> None:
    assert split_questions(text) == [text]


def test_an_ellipsis_inside_is_kept_as_one_piece_up_to_it() -> None:
    assert split_questions("so... how much?") == ["so...", "how much?"]


@pytest.mark.parametrize("text", ["", "   ", "🙂", "🙂🙂👍", "?!", "...\n\n", "— , ;"])
def test_emoji_and_punctuation_alone_make_no_question(text: str) -> None:
    assert split_questions(text) == []


def test_emoji_next_to_words_stay_with_them() -> None:
    assert split_questions("🙂 how much? 👍") == ["🙂 how much?"]


def test_at_most_limit_pieces() -> None:
    text = "one? two? three? four? five?"
    assert split_questions(text) == ["one?", "two?", "three?"]
    assert split_questions(text, limit=1) == ["one?"]
    assert split_questions(text, limit=5) == ["one?", "two?", "three?", "four?", "five?"]


def test_a_long_message_is_read_only_as_far_as_the_bound() -> None:
    long = "Здравствуйте, хотела уточнить по поводу занятий для дочери " * 80  # ~4,700 characters, no sentence end
    [piece] = split_questions(long)
    assert len(piece.split()) == PIECE_WORDS
    assert long.startswith(piece)


def test_a_long_message_of_many_sentences_gives_at_most_three_short_pieces() -> None:
    long = " ".join(f"Sentence number {i} is about the weather and nothing else." for i in range(400))
    pieces = split_questions(long)
    assert len(pieces) == 3
    assert all(len(p.split()) <= PIECE_WORDS for p in pieces)
    assert pieces[0] == "Sentence number 0 is about the weather and nothing else."


def test_long_sentences_share_one_budget_of_words() -> None:
    sentence = " ".join(["word"] * 25)
    pieces = split_questions(f"{sentence}. {sentence}. {sentence}.")
    assert [len(p.split()) for p in pieces] == [25, TOTAL_WORDS - 25]


def test_nothing_after_the_read_limit_is_seen_and_no_word_is_cut() -> None:
    text = "a" * (READ_LIMIT - 3) + " parking? where are you?"
    assert split_questions(text) == ["a" * (READ_LIMIT - 3)]  # "parking" straddles the limit: dropped whole
    assert split_questions("x" * 5000) == ["x" * READ_LIMIT]  # one endless "word" is cut at the limit


@pytest.mark.parametrize(
    "text",
    [
        "а сколько стоит занятие?",
        "А сколько стоит занятие",
        "сколько стоит",
        "где вы находитесь",
        "і де ви?",
        "а скільки коштує",
        "чи є парковка",
        "where are you",
        "How much is it",
        "and do you have parking",
        "parking?",
        "парковка есть? 🙂",
        "ну а когда вы открыты",
    ],
)
def test_a_question_is_recognised(text: str) -> None:
    assert looks_like_question(text)


@pytest.mark.parametrize(
    "text",
    [
        "25.12",
        "25 12 1990",
        "May 5",
        "5 мая",
        "+380501234567",
        "Skip",
        "Пропустить",
        "",
        "  ",
        "🙂",
        "tomorrow",
        "as soon as possible",
    ],
)
def test_a_date_a_phone_or_a_word_is_not_a_question(text: str) -> None:
    assert not looks_like_question(text)
