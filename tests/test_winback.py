"""Win-back and dates: sleeping customers enter the win-back sequence with a coupon; holidays start theirs.

The harness starts on Monday 5 January 2026, 14:00 in Kyiv; the daily run is at 10:00 local (08:00 UTC).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import yaml

from bot.sandbox.driver import ChatDriver
from flows.content import Content, ContentError, example_content_path, load_content
from storage.date_triggers import FELL_ASLEEP_SQL
from tests.conftest import OWNER_ID, Harness
from tests.loyalty_helpers import card_code, hire

WIN_BACK = "We haven't seen you for a while"
HOLIDAY = "For 8 March, a gift from us"


def received(chat: ChatDriver, text: str) -> int:
    return sum(text in (m.plain_text or "") for m in chat.messages())


async def go_to(harness: Harness, moment: datetime) -> None:
    """Jump to a moment and run the jobs a few times, as the scheduler would (one message per chat per second)."""
    harness.clock.set(moment)
    for _ in range(4):
        await harness.advance(seconds=2)


def utc(month: int, day: int, hour: int = 8, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def customer_with_sales(harness: Harness, *days: tuple[int, int]) -> tuple[ChatDriver, ChatDriver]:
    """Anna signs up today; the cashier records a sale at 12:00 UTC on each (month, day)."""
    anna = harness.chat(1001)
    await anna.send("/start")
    cashier = await hire(harness)
    code = await card_code(anna)
    for month, day in days:
        await go_to(harness, utc(month, day, 12))
        await cashier.send(f"/sale {code} 300")
        await harness.tick()
    return anna, cashier


async def test_a_regular_falls_asleep_after_twice_their_usual_interval(harness: Harness) -> None:
    anna, _ = await customer_with_sales(harness, (1, 5), (1, 15))  # every 10 days → asleep 20 days later
    await go_to(harness, utc(2, 4))  # 4 February, daily run: asleep only from 12:00 UTC
    await go_to(harness, utc(2, 4, 20))
    assert received(anna, WIN_BACK) == 0
    await go_to(harness, utc(2, 5))  # the next daily run finds her
    await go_to(harness, utc(2, 5, 9))  # the step goes at 11:00 in Kyiv
    [message] = [m for m in anna.messages() if WIN_BACK in m.plain_text]
    assert "🎁 15% off your next visit: " in message.plain_text
    coupons = await harness.services["coupons"].repo.of_customer(await stored_id(harness))
    assert [c.campaign for c in coupons if c.origin == "seq"] == ["comeback"]


async def stored_id(harness: Harness, tg_id: int = 1001) -> int:
    customer = await harness.services["customers"].repo.by_tg_id(tg_id)
    assert customer is not None
    return customer.id


async def test_a_one_off_buyer_falls_asleep_after_the_triggers_days(harness: Harness) -> None:
    anna, _ = await customer_with_sales(harness, (1, 5))
    await go_to(harness, utc(2, 4, 9))  # 30 days after the purchase is 4 February 12:00 UTC
    assert received(anna, WIN_BACK) == 0
    await go_to(harness, utc(2, 5))
    await go_to(harness, utc(2, 5, 9))
    assert received(anna, WIN_BACK) == 1


async def test_win_back_comes_once_per_sleep(harness: Harness) -> None:
    anna, _ = await customer_with_sales(harness, (1, 5))
    for month, day in ((2, 5), (2, 6), (3, 20), (4, 10)):  # still asleep, long past the 60-day re-entry
        await go_to(harness, utc(month, day))
        await go_to(harness, utc(month, day, 9))
    assert received(anna, WIN_BACK) == 1


async def test_coming_back_counts_as_the_win_back_conversion(harness: Harness) -> None:
    anna, cashier = await customer_with_sales(harness, (1, 5))
    await go_to(harness, utc(2, 5))
    await go_to(harness, utc(2, 5, 9))
    [coupon] = [
        c
        for c in await harness.services["coupons"].repo.of_customer(await stored_id(harness))
        if c.origin == "seq"
    ]
    await go_to(harness, utc(2, 7, 12))
    await cashier.send(f"/sale {await card_code(anna)} 400 yoga {coupon.code}")
    await harness.tick()
    owner = harness.chat(OWNER_ID, first_name="Owner")
    replies = await owner.send("/stats 90d")
    assert "Win back sleeping customers: 1 → 1 bought (100%)" in str(replies[0])
    assert "Coupons redeemed: 1" in str(replies[0])


@pytest.mark.engines("sqlite", reason="reads SQLite's query plan (PostgreSQL indexes the same moment: 0006)")
async def test_the_daily_win_back_reads_only_the_customers_due(harness: Harness) -> None:
    """The query is two index ranges on purchase_totals: cost follows who fell asleep, not the customer count."""
    plan = await harness.services["db"].fetch_all(f"EXPLAIN QUERY PLAN {FELL_ASLEEP_SQL}", ("a", "b", "a", "b"))
    details = " / ".join(row["detail"] for row in plan)
    assert "INDEX purchase_totals_sleeps (<expr>>? AND <expr><?)" in details
    assert "INDEX purchase_totals_one_off (purchases=? AND last_at>? AND last_at<?)" in details
    assert "SCAN purchase_totals" not in details


async def test_a_holiday_starts_its_sequence_for_subscribed_customers_once(harness: Harness) -> None:
    anna, boris = harness.chat(1001), harness.chat(1002, first_name="Boris")
    await anna.send("/start")
    await boris.send("/start")
    await boris.send("/stop")
    await go_to(harness, utc(3, 6))  # two days before: nothing yet
    assert received(anna, HOLIDAY) == 0
    await go_to(harness, utc(3, 7))  # days_before: 1 → 7 March, the daily run at 10:00, sent at 10:00
    await go_to(harness, utc(3, 7, 8, 1))
    [message] = [m for m in anna.messages() if HOLIDAY in m.plain_text]
    assert "🎁 A free flower tea: " in message.plain_text
    assert received(boris, HOLIDAY) == 0  # he said /stop
    await harness.restart()
    harness.clock.set(utc(3, 7, 9))
    assert await harness.services["sequences"].holidays(date(2026, 3, 7)) == 0  # the same day again: no-op
    await go_to(harness, utc(3, 8))
    await go_to(harness, utc(3, 8, 9))
    assert received(anna, HOLIDAY) == 1


def example() -> dict[str, Any]:
    return yaml.safe_load(example_content_path().read_text("utf-8"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw["dates"].append({"name": "x", "month": 2, "day": 30}), "30.2 is not a day of the year"),
        (
            lambda raw: raw["dates"].append({"name": "x", "month": 2, "day": 3, "date": "2026-02-03"}),
            "give either month and day",
        ),
        (lambda raw: raw["sequences"][-2]["trigger"].update(holiday="xmas"), "unknown date 'xmas'"),
        (lambda raw: raw["sequences"][-2]["steps"][0].update(coupon="nope"), "unknown coupon campaign 'nope'"),
        (lambda raw: raw["sequences"][-2]["trigger"].pop("holiday"), "a holiday trigger needs holiday"),
    ],
)
def test_dates_and_offers_are_checked_when_the_content_loads(tmp_path: Any, change: Any, message: str) -> None:
    raw = example()
    change(raw)
    path = tmp_path / "content.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    with pytest.raises(ContentError, match=message):
        load_content(path)


def test_the_example_content_has_a_holiday_and_a_win_back_offer() -> None:
    content: Content = load_content(example_content_path())
    assert [d.name for d in content.dates] == ["womens-day"]
    assert content.sequence("win-back").steps[0].coupon == "comeback"  # type: ignore[union-attr]
