"""Odd input gets a short specific answer, never a traceback: unicode digits, superscripts, huge numbers,
dates out of range, invisible marks — in staff commands, segment expressions and the content file."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from flows.content import ContentError, example_content_path, load_content
from flows.money import parse_amount
from flows.parsing import (
    MAX_DAYS,
    ParseError,
    parse_days,
    parse_moment,
    parse_points_delta,
    parse_telegram_id,
    parse_whole,
)
from tests.broadcast_helpers import customer, owner
from tests.conftest import Harness
from tests.loyalty_helpers import MANAGER_ID, balance, card_code, hire

KYIV = ZoneInfo("Europe/Kyiv")


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rate_limits": False}


# ---- the shared parsers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("30", 30), ("٣٠", 30), ("３０", 30), ("۳۰", 30), ("३०", 30), (" 1 000 ", 1000), ("\u200f42\u200e", 42)],
)
def test_whole_numbers_in_any_script_are_read(text: str, value: int) -> None:
    assert parse_whole(text) == value


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("²", "«²» is not a digit"),
        ("①", "«①» is not a digit"),
        ("", "got nothing"),
        ("   ", "got nothing"),
        ("\x00\x07", "got nothing"),
        ("12a", "digits only"),
        ("9" * 5000, "from 0 to 1 000 000 000"),
        ("-5", "digits only"),
    ],
)
def test_what_is_not_a_whole_number_is_named(text: str, answer: str) -> None:
    with pytest.raises(ParseError, match=answer):
        parse_whole(text)


def test_point_changes_are_signed_bounded_and_never_zero() -> None:
    assert parse_points_delta("+٥٠") == 50
    assert parse_points_delta("\u221220".replace("\u2212", "\u2212")) == -20
    assert parse_points_delta("−20") == -20  # the typographic minus
    assert parse_points_delta("7") == 7
    for text, answer in [
        ("+²", "«²» is not a digit"),
        ("0", "cannot be zero"),
        ("+99999999999", "At most 10 000 000 points"),
        ("+" + "9" * 400, "At most 10 000 000 points"),
        ("++5", "Write the change as"),
    ]:
        with pytest.raises(ParseError, match=answer):
            parse_points_delta(text)


def test_durations_in_days_are_bounded() -> None:
    assert parse_days("2w") == 14 and parse_days("3m") == 90 and parse_days("٣٠d") == 30
    with pytest.raises(ParseError, match="At most 36 500 days"):
        parse_days("99999m")
    with pytest.raises(ParseError, match="number of days"):
        parse_days("30y")


def test_moments_outside_the_years_a_business_lives_in_are_refused() -> None:
    assert parse_moment("2026-01-05 14:30", KYIV) == datetime(2026, 1, 5, 12, 30, tzinfo=UTC)
    assert parse_moment("٠٥.٠١.٢٠٢٦", KYIV) == datetime(2026, 1, 5, 10, tzinfo=UTC)  # a bare date: local noon
    for text in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "31.12.9999"):
        with pytest.raises(ParseError, match="year must be from 1970 to 2200"):
            parse_moment(text, KYIV)
    for text in ("", "x" * 10_000, "2026-13-45", "yesterday"):
        with pytest.raises(ParseError, match="Write the date as"):
            parse_moment(text, KYIV)


def test_telegram_ids_are_positive_and_fit_sqlite() -> None:
    assert parse_telegram_id("١٢٣") == 123
    for text in ("0", "-1", "²", str(2**70)):
        with pytest.raises(ParseError):
            parse_telegram_id(text)


def test_amounts_in_other_scripts_are_read_and_junk_is_refused() -> None:
    maximum = Decimal(1_000_000)
    assert parse_amount("١٥٠٠", maximum).value == Decimal("1500.00")
    assert parse_amount("１ ５００,５０", maximum).value == Decimal("1500.50")
    assert parse_amount("\u202e100\u200b", maximum).value == Decimal("100.00")  # invisible marks pasted along
    for text in ("²", "1e5", "NaN", "Infinity", "9" * 5000, "9" * 40, "0." + "0" * 40 + "1", ""):
        assert parse_amount(text, maximum).value is None, text


# ---- staff commands, end to end ------------------------------------------------------------------


async def test_points_with_a_superscript_or_a_huge_number_is_answered_not_raised(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    chat = harness.chat()
    code = await card_code(chat)
    manager = await hire(harness, MANAGER_ID, "manager", "Marta")
    caplog.set_level(logging.ERROR)
    replies = await manager.send(f"/points {code} +² thanks")
    assert "«²» is not a digit" in str(replies[-1])
    replies = await manager.send(f"/points {code} +99999999999999999999999 thanks")
    assert "At most 10 000 000 points" in str(replies[-1])
    replies = await manager.send(f"/points {code} +٥٠ thanks")
    assert "now has" in str(replies[-1])
    assert await balance(harness) == 50
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_segment_with_an_enormous_duration_is_answered_not_raised(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await customer(harness, 1001)
    caplog.set_level(logging.ERROR)
    boss = owner(harness)
    replies = await boss.send("/segment last_purchase>99999m")
    assert f"At most {MAX_DAYS:,} days".replace(",", " ") in str(replies[-1])
    replies = await boss.send("/segment purchases>=²")
    assert "«²» is not a digit" in str(replies[-1])
    replies = await boss.send("/segment joined<٣٠d spent>١٠٠")
    assert "customers" in str(replies[-1])
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_wizard_coupon_limit_with_a_superscript_is_answered(harness: Harness) -> None:
    await customer(harness, 1001)
    boss = owner(harness)
    await boss.send("/broadcast")
    await boss.send("everyone")
    await boss.send("Hello")
    await boss.send("Gift | coupon")
    await boss.click("free cookie")
    replies = await boss.send("²")
    assert "«²» is not a digit" in str(replies[-1]) and "whole number" in str(replies[-1])
    replies = await boss.send("٣")
    assert "When" in str(replies[-1]) or "Now" in str(replies[-1].keyboard)


# ---- the content file ------------------------------------------------------------------------------


def variant(tmp_path: Path, dotted: str, value: object) -> Path:
    raw = yaml.safe_load(example_content_path().read_text("utf-8"))
    target = raw
    *path, last = dotted.split(".")
    for part in path:
        target = target[int(part)] if part.isdigit() else target.setdefault(part, {})
    target[last] = value
    path_out = tmp_path / "content.yaml"
    path_out.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return path_out


@pytest.mark.parametrize(
    ("dotted", "value", "problem"),
    [
        ("loyalty.coupons.0.valid_days", 10**12, "must be at most 36500"),
        ("loyalty.welcome_points", 10**30, "must be at most 10000000"),
        ("loyalty.expire_after_days", 10**9, "must be at most 36500"),
        ("loyalty.satisfaction_after", "99999999999w", "out of range"),
        ("loyalty.satisfaction_after", "²d", "is not a duration"),
        ("loyalty.tiers.1.min_spend", "1e40", "must be at most 1000000000000"),
        ("segments.rfm.lapsing_days", 10**9, "must be at most 36500"),
        ("sequences.0.steps.0.delay", "-5", "out of range"),
        ("loyalty.coupons.0.ends", "9999-12-31", "year must be from 1970 to 2200"),
    ],
)
def test_extreme_content_values_name_file_key_and_problem(
    tmp_path: Path, dotted: str, value: object, problem: str
) -> None:
    path = variant(tmp_path, dotted, value)
    with pytest.raises(ContentError) as error:
        load_content(path)
    message = str(error.value)
    assert str(path) in message and problem in message, message
    assert dotted.split(".")[-1] in message, message


async def test_answers_quoting_a_huge_input_still_fit_in_a_message(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await customer(harness, 1001)
    caplog.set_level(logging.ERROR)
    boss = owner(harness)
    replies = await boss.send("/segment " + "x" * 4000)
    assert "at most 500 characters" in str(replies[-1])
    await boss.send("/broadcast")
    await boss.send("everyone")
    await boss.send("Hello")
    replies = await boss.send("x" * 4096)  # a button line
    assert "write Label | target" in str(replies[-1]) and len(str(replies[-1])) < 1000
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_the_fake_clock_moves_on_a_sleep_shorter_than_a_microsecond() -> None:
    from flows.clock import FakeClock

    clock = FakeClock()
    before = clock.monotonic()
    await clock.sleep(3e-7)  # a float remainder the sender may wait for; rounding to 0 spun it for ever
    assert clock.monotonic() > before


async def test_staff_commands_with_a_huge_code_are_answered_within_one_message(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    manager = await hire(harness, MANAGER_ID, "manager", "Marta")
    caplog.set_level(logging.ERROR)
    huge = "x" * 4070
    for command in (f"/sale {huge} 100", f"/redeem {huge}", f"/redeem ABCD-EFGH {huge}", f"/points {huge} +5 ok"):
        replies = await manager.send(command)
        assert len(str(replies[-1])) < 500, command[:20]
        assert "something went wrong" not in str(replies[-1])
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_stats_with_a_huge_period_names_the_periods(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    replies = await owner(harness).send("/stats " + "²" * 4000)
    assert "Unknown period" in str(replies[-1]) and "Use one of: 7d" in str(replies[-1])
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
