"""Keyboard-layout slips and Russian/Ukrainian typed in Latin letters: the candidates proposed."""

from __future__ import annotations

import pytest

from flows.typing_slips import (
    layout_variants,
    layout_variants_of_text,
    transliteration_variants,
    transliteration_variants_of_text,
)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("crjkmrj", "сколько"),
        ("cnjbn", "стоит"),
        ("ghbdtn", "привет"),
        ("ljcnfdrf", "доставка"),
        ("pfgbcfnmcz", "записаться"),
        ("gfhrjdrf", "парковка"),
        (",fyz", "баня"),  # "," is the б key
        ("vfccf;", "массаж"),  # ";" is ж
        ("'nj", "это"),  # "'" is э
        ("[jxe", "хочу"),  # "[" is х
        ("gjl]tpl", "подъезд"),  # "]" is ъ
        ("Crjkmrj", "Сколько"),  # Shift carries over
        ("wtyf", "цена"),
    ],
)
def test_latin_typed_on_the_russian_layout_is_read_as_russian(typed: str, meant: str) -> None:
    assert layout_variants(typed)[0] == meant


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("crskmrb", "скільки"),  # s is і, not ы
        ("rjinE.nm", "коштУють"),  # "." is ю
        ("P]cnb", "Зїсти"),  # "]" is ї, not ъ
        ("'rpfvty", "єкзамен"),  # "'" is є, not э
        ("\\fyjr", "ґанок"),  # "\" is ґ
        ("wsyf", "ціна"),
    ],
)
def test_latin_typed_on_the_ukrainian_layout_is_among_the_variants(typed: str, meant: str) -> None:
    assert meant in layout_variants(typed)


def test_a_word_the_two_cyrillic_layouts_agree_on_comes_once() -> None:
    assert layout_variants("cnjbn") == ["стоит"]
    assert layout_variants("ckjdf") == ["слова"]


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("цфтв", "wand"), ("руддщ", "hello"), ("зкшсу", "price"), ("ерфтлі", "thanks"), ("ерфтлы", "thanks")],
)
def test_cyrillic_typed_on_the_english_layout_is_read_as_english(typed: str, meant: str) -> None:
    assert layout_variants(typed) == [meant]


@pytest.mark.parametrize("word", ["123", "2024", "📅", "🙂🙂", "прaйс", "hi🙂", "", "25.12", "+380501234567", "-"])
def test_digits_emoji_and_mixed_words_have_no_layout_variant(word: str) -> None:
    assert layout_variants(word) == []


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("crjkmrj cnjbn&", "сколько стоит?"),  # Shift+7 is "?" on the Russian layout
        ("ult ds yf[jlbntcm", "где вы находитесь"),
        ("f vfccf; tcnm? crjkmrj cnjbn&", "а массаж есть, сколько стоит?"),  # Shift+/ is ","
        ("pfgbibnt vtyz yf 25.12", "запишите меня на 25.12"),
        ("ерфтл нщг,", "thank you?"),
        ("ц\x68ут фку нщг щзут", None),  # a Latin h in the middle: that word is left alone
    ],
)
def test_a_whole_raw_message_is_converted_before_punctuation_is_stripped(typed: str, meant: str | None) -> None:
    variants = layout_variants_of_text(typed)
    if meant is None:
        assert "цhут" in variants[0] and "are" in variants[0]
    else:
        assert meant in variants


def test_a_whole_message_keeps_what_cannot_be_a_slip() -> None:
    [ru, uk] = layout_variants_of_text("ckjdj 👍 123 https://example.com")
    assert ru.startswith("слово 👍 123 ")  # a link is Latin too: converted, and simply matches nothing
    assert uk.startswith("слово 👍 123 ")
    assert ru != uk  # "s" is ы in one, і in the other


@pytest.mark.parametrize("text", ["", "👍", "123 456", "25.12.1990", "🙂 5"])
def test_a_message_with_nothing_to_convert_has_no_variant(text: str) -> None:
    assert layout_variants_of_text(text) == []


def test_a_mixed_message_converts_each_side_its_own_way() -> None:
    variants = layout_variants_of_text("ghbdtn руддщ")
    assert "привет руддщ" in variants  # Latin → Russian; the Cyrillic word stays
    assert "ghbdtn hello" in variants  # Cyrillic → English; the Latin word stays


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("skolko", "сколько"),
        ("stoit", "стоит"),
        ("pochem", "почем"),
        ("zapisatsya", "записаться"),
        ("gde", "где"),
        ("vy", "вы"),
        ("chto", "что"),
        ("kakoy", "какой"),
        ("shchas", "щас"),
        ("cena", "цена"),
        ("privet", "привет"),
        ("zhenshchin", "женщин"),
        ("skidka", "скидка"),
        ("massazh", "массаж"),
        ("raspisanie", "расписание"),
        ("abonement", "абонемент"),
    ],
)
def test_russian_in_latin_letters_reads_first_as_russian(typed: str, meant: str) -> None:
    assert transliteration_variants(typed)[0] == meant


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("tsina", "ціна"),
        ("de", "де"),
        ("vy", "ви"),
        ("skilky", "скільки"),
        ("koshtuye", "коштує"),
        ("yizha", "їжа"),
        ("vartist'", "вартість"),
        ("hodyna", "година"),
        ("rozklad", "розклад"),
        ("parkuvannya", "паркування"),
        ("eto", "это"),
        ("nahoditsya", "находится"),
        ("Pochem", "почем"),
        ("chas", "час"),
    ],
)
def test_ukrainian_and_less_usual_readings_are_among_the_few_candidates(typed: str, meant: str) -> None:
    variants = transliteration_variants(typed)
    assert meant in variants
    assert len(variants) <= 4


def test_the_order_of_languages_breaks_a_tie() -> None:
    assert transliteration_variants("tsina", ("uk", "ru"))[0] == "ціна"
    assert transliteration_variants("tsina", ("ru", "uk"))[0] == "цина"
    assert transliteration_variants("tsina", ("uk",))[0] == "ціна"


@pytest.mark.parametrize(
    "word", ["123", "📅", "цена", "skolko5", "прaйс", "", "'", "a" * 31, "hello.world", "🙂skolko"]
)
def test_what_is_not_a_plain_latin_word_has_no_transliteration(word: str) -> None:
    assert transliteration_variants(word) == []


def test_a_long_word_is_still_a_few_candidates() -> None:
    variants = transliteration_variants("shchshchshchshchshchshchshch")
    assert 1 <= len(variants) <= 4
    assert variants[0] == "щщщщщщщ"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("skolko stoit", "сколько стоит"),
        ("Skolko stoit massazh?", "сколько стоит массаж?"),
        ("de vy", "де ви"),
        ("tsina abonementu", "ціна абонементу"),
        ("skilky koshtuye zanyattya?", "скільки коштує заняття?"),
        ("gde vy nahodites", "где вы находитес"),  # the soft sign at the end is left to fuzzy matching
        ("a pochem massazh 60 minut?", "а почем массаж 60 минут?"),
        ("mozhno zapisatsya na zavtra", "можно записаться на завтра"),
        ("chy ye parkovka 🚗", "чи є парковка 🚗"),
    ],
)
def test_a_whole_phrase_is_read_in_each_language(typed: str, meant: str) -> None:
    variants = transliteration_variants_of_text(typed)
    assert meant in variants
    assert len(variants) <= 2


def test_numbers_emoji_and_cyrillic_stay_in_a_transliterated_phrase() -> None:
    assert transliteration_variants_of_text("skolko 2 🙂 цена") == ["сколько 2 🙂 цена"]  # ru and uk agree
    assert transliteration_variants_of_text("tsina 2 🙂 цена") == ["цина 2 🙂 цена", "ціна 2 🙂 цена"]


@pytest.mark.parametrize("text", ["", "123", "🙂🙂", "сколько стоит", "25.12"])
def test_a_message_without_latin_words_has_no_transliteration(text: str) -> None:
    assert transliteration_variants_of_text(text) == []
