"""Segments: /segment end to end (counts, samples, errors that point at the word, roles), every filter
against a small known set of customers, and the parsers' edge cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from flows.broadcast_input import InputError, parse_buttons, parse_when
from flows.content import ContentError, example_content_path, load_content
from flows.segments import SegmentError, birthday_days
from tests.broadcast_helpers import buy, customer, owner
from tests.conftest import Harness


async def test_segment_counts_a_cross_sell_audience_and_shows_a_sample(harness: Harness) -> None:
    anna = await customer(harness, 1001, "Anna")
    ivan = await customer(harness, 1002, "Ivan")
    await customer(harness, 1003, "Olena")
    await buy(harness, anna, category="yoga", days_ago=45)
    await buy(harness, ivan, category="yoga", days_ago=45)
    await buy(harness, ivan, category="massage", days_ago=45)
    replies = await owner(harness).send("/segment bought:yoga !bought:massage last_purchase>30d")
    answer = str(replies[-1])
    assert "1 customer (" in answer and "of 3 reachable" in answer  # the owner never sent /start
    assert "Anna — 1 purchase, 500.00 UAH, last 45 days ago" in answer
    assert "Ivan" not in answer and "Olena" not in answer
    assert "segment_viewed" in await harness.services["staff"].repo.audit_actions(900)


async def test_segment_error_points_at_the_wrong_word_and_says_what_was_expected(harness: Harness) -> None:
    replies = await owner(harness).send("/segment bought:yoga lst_purchase>30d")
    answer = replies[-1]
    assert "Word 2 lst_purchase>30d: unknown filter `lst_purchase` — did you mean last_purchase?" in str(answer)
    assert "bought:yoga lst_purchase>30d\n            ^^^^^^^^^^^^^^^^" in str(answer)
    replies = await owner(harness).send("/segment tier:vip")
    assert "unknown tier `vip` (tiers: new, episodic, regular)" in str(replies[-1])


async def test_saved_segment_by_name_and_the_list_without_arguments(harness: Harness) -> None:
    anna = await customer(harness, 1001, "Anna")
    for _ in range(4):
        await buy(harness, anna, category="coffee")
    replies = await owner(harness).send("/segment regulars")
    assert (
        "regulars" in str(replies[-1])
        and "tier:regular" in str(replies[-1])
        and "1 customer (" in str(replies[-1])
    )
    replies = await owner(harness).send("/segment")
    assert "yoga-no-massage" in str(replies[-1]) and "rfm:at_risk" in str(replies[-1])


async def test_opted_out_blocked_and_forgotten_customers_are_never_counted(harness: Harness) -> None:
    for tg_id in (1001, 1002, 1003, 1004):
        await customer(harness, tg_id)
    await harness.chat(1002).send("/stop")
    harness.emu.block(1003)
    await harness.services["customers"].repo.set_unreachable(
        (await customer(harness, 1003)).id, harness.clock.now()
    )
    forgotten = await customer(harness, 1004)
    await harness.services["customers"].repo.forget(forgotten.id, harness.clock.now())
    view = await harness.services["segments"].view("everyone")
    assert view.count == 1 and view.sample[0].first_name == "Anna"


async def test_customers_are_refused_segments(harness: Harness) -> None:
    await customer(harness, 1001)
    replies = await harness.chat(1001).send("/segment everyone")
    assert "only for the team" in str(replies[-1])


EXPRESSIONS = [  # the owner (900) is in the population but never in a segment: not a customer
    ("everyone", {"anna", "ivan", "olena", "petro"}),
    ("tag:vip", {"anna"}),
    ("!tag:vip", {"ivan", "olena", "petro"}),
    ("lang:ru", {"ivan"}),
    ("lang:uk,ru", {"ivan", "olena"}),
    ("lang:en", {"anna", "petro"}),  # Petro's Telegram speaks German: he gets the default language
    ("source:instagram", {"olena"}),
    ("tier:regular", {"anna"}),
    ("type:episodic", {"ivan"}),
    ("tier:new", {"olena", "petro"}),
    ("purchases=0", {"petro"}),
    ("purchases>=2", {"anna", "ivan"}),
    ("purchases:1", {"olena"}),
    ("spent>1000", {"anna", "ivan"}),
    ("spent<=500", {"olena", "petro"}),
    ("last_purchase>30d", {"ivan", "olena"}),
    ("last_purchase<=30d", {"anna"}),
    ("last_purchase>=200d", {"olena"}),
    ("bought:yoga", {"anna", "ivan"}),
    ("bought:yoga !bought:massage", {"anna"}),
    ("bought:massage,coffee", {"anna", "ivan", "olena"}),
    ("birthday:today", {"anna"}),
    ("birthday:week", {"anna", "ivan"}),
    ("birthday:feb", {"olena"}),
    ("rfm:loyal", {"anna"}),
    ("rfm:at_risk", {"ivan"}),
    ("rfm:lost", {"olena"}),
    ("rfm:none", {"petro"}),
    ("joined<1d", {"petro"}),  # the others first came with their (older) purchases
    ("yoga-no-massage", set()),  # its last_purchase>30d leaves Anna (yesterday) out
    ("regulars lang:en", {"anna"}),
]


async def _population(harness: Harness) -> dict[int, str]:
    """Five people with known languages, tags, sources, purchases and birthdays (today is 5 January)."""
    people = {
        "owner": await customer(harness, 900, "Owner"),
        "anna": await customer(harness, 1001, "Anna"),
        "ivan": await customer(harness, 1002, "Ivan", "ru"),
        "olena": await customer(harness, 1003, "Olena", "uk"),
        "petro": await customer(harness, 1004, "Petro", "de"),
    }
    repo, now = harness.services["customers"].repo, harness.clock.now()
    await repo.add_tag(people["anna"].id, "vip", now)
    await harness.services["db"].execute(
        "UPDATE customers SET source = 'instagram' WHERE id = ?", (people["olena"].id,)
    )
    await repo.set_birthday(people["anna"].id, 5, 1, None, now)
    await repo.set_birthday(people["ivan"].id, 10, 1, None, now)
    await repo.set_birthday(people["olena"].id, 29, 2, None, now)
    for days in (1, 5, 9, 20):
        await buy(harness, people["anna"], "400", "yoga" if days == 1 else "coffee", days_ago=days)
    await buy(harness, people["ivan"], "800", "yoga", days_ago=70)
    await buy(harness, people["ivan"], "900", "massage", days_ago=90)
    await buy(harness, people["olena"], "300", "coffee", days_ago=300)
    return {c.id: name for name, c in people.items()}


async def test_every_filter_selects_exactly_the_expected_customers(harness: Harness) -> None:
    names = await _population(harness)
    segments = harness.services["segments"]
    for expression, expected in EXPRESSIONS:
        segment = segments.parse(expression)
        found = {names[i] for i in await segments.repo.ids(segment.filters)}
        assert found == expected, expression
        assert await segments.count(segment) == len(expected), expression


@pytest.mark.parametrize(
    ("expression", "word", "expected"),
    [
        ("purchases>>2", 1, "whole number"),
        ("spent>lots", 1, "amount of money"),
        ("last_purchase>soon", 1, "number of days"),
        ("lang:fr", 1, "the bot speaks en, ru, uk"),
        ("bought:yogaa", 1, "did you mean yoga?"),
        ("birthday:someday", 1, "unknown period"),
        ("rfm:champion", 1, "did you mean champions?"),
        ("tag:VIP! tier:new", 1, "not a tag"),
        ("tier:new vip", 2, "saved segment name"),
        ("tier:new everyone", 2, "stands alone"),
        ("tag:", 1, "expected a value"),
        ("tag:a,,b", 1, "empty value"),
        ("purchases:x", 1, "whole number"),
        ("tier", 1, "expected a value after tier"),
    ],
)
async def test_mistakes_name_the_word_and_what_was_expected(
    harness: Harness, expression: str, word: int, expected: str
) -> None:
    with pytest.raises(SegmentError) as caught:
        harness.services["segments"].parse(expression)
    assert caught.value.index == word and expected in caught.value.message


def test_a_wrong_saved_segment_stops_the_content_file_with_its_name(tmp_path: Path) -> None:
    text = example_content_path().read_text("utf-8").replace('regulars: "tier:regular"', 'regulars: "tier:gold"')
    broken = tmp_path / "content.yaml"
    broken.write_text(text, "utf-8")
    with pytest.raises(ContentError, match=r"segments\.saved\.regulars: word 1 `tier:gold`: unknown tier"):
        load_content(broken)


def test_birthday_periods_cover_the_right_days() -> None:
    assert birthday_days("today", date(2026, 3, 1)) == ((3, 1),)
    week = birthday_days("week", date(2026, 12, 29)) or ()
    assert (1, 4) in week and (1, 5) not in week and len(week) == 7  # across the new year
    assert (2, 29) in (birthday_days("tomorrow", date(2027, 2, 27)) or ())  # 29 Feb celebrated on 28 Feb
    assert (2, 29) not in (birthday_days("tomorrow", date(2028, 2, 27)) or ())  # a leap year has its own
    assert len(birthday_days("next_month", date(2026, 1, 31)) or ()) == 29  # 28 days and 29 Feb
    assert birthday_days("feb", date(2026, 1, 1)) == tuple((2, d) for d in range(1, 30))
    assert birthday_days("soon", date(2026, 1, 1)) is None


def test_button_lines() -> None:
    buttons = parse_buttons("Book | https://example.com/b?x=1|2\n\nI'm in | interested\nGift | coupon")
    assert [(b.text, b.url, b.action) for b in buttons] == [
        ("Book", "https://example.com/b?x=1|2", None),
        ("I'm in", None, "interested"),
        ("Gift", None, "coupon"),
    ]
    for bad, reason in (
        ("Book https://x.com", "Label | target"),
        ("| https://x.com", "Label | target"),
        ("Book | www.example.com", "neither a link"),
        ("A | coupon\nB | coupon", "One coupon button"),
        ("\n".join(f"B{n} | interested" for n in range(9)), "At most 8"),
        ("x" * 41 + " | interested", "keep it to 40"),
    ):
        with pytest.raises(InputError, match=reason):
            parse_buttons(bad)


def test_moments_are_read_in_the_business_zone() -> None:
    from zoneinfo import ZoneInfo

    kyiv = ZoneInfo("Europe/Kyiv")
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # 14:00 in Kyiv
    assert parse_when("18:30", now, kyiv) == datetime(2026, 1, 5, 16, 30, tzinfo=UTC)
    assert parse_when("13:00", now, kyiv) == datetime(2026, 1, 6, 11, 0, tzinfo=UTC)  # passed today: tomorrow
    assert parse_when("tomorrow 9:05", now, kyiv) == datetime(2026, 1, 6, 7, 5, tzinfo=UTC)
    assert parse_when("04.01 10:00", now, kyiv).year == 2027  # a day already gone this year: next year
    assert parse_when("2026-07-01 10:00", now, kyiv) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)  # summer time
    for bad, reason in (
        ("31.02 10:00", "not a real date"),
        ("noon", "could not read"),
        ("2028-01-01 10:00", "year"),
    ):
        with pytest.raises(InputError, match=reason):
            parse_when(bad, now, kyiv)
    assert parse_when("05.01.2026 14:01", now, kyiv) - now == timedelta(minutes=1)


async def test_a_language_is_its_code_whatever_the_region_or_case(harness: Harness) -> None:
    """`lang:` compares the code (migration 0022's `language_code`): `uk-UA` is Ukrainian, `RU` Russian, a
    chosen language wins over Telegram's, and a code the bot does not offer means the default (English)."""
    names = {
        (await customer(harness, tg_id, name, language)).id: name
        for tg_id, name, language in (
            (1101, "oksana", "uk-UA"),
            (1102, "boris", "RU"),
            (1103, "pierre", "fr-CA"),
            (1104, "maria", "de"),
        )
    }
    maria = next(i for i, name in names.items() if name == "maria")
    await harness.services["customers"].repo.set_chosen_language(maria, "uk")
    segments = harness.services["segments"]
    for expression, expected in (
        ("lang:uk", {"oksana", "maria"}),
        ("lang:ru", {"boris"}),
        ("lang:en", {"pierre"}),
        ("lang:en,ru", {"pierre", "boris"}),
        ("!lang:en", {"oksana", "maria", "boris"}),
    ):
        found = {names[i] for i in await segments.repo.ids(segments.parse(expression).filters)}
        assert found == expected, expression
