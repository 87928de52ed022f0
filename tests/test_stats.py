"""/stats end to end: every figure against a hand-computed fixture, periods, charts, roles and forged buttons.

The fixture (times 12:00 UTC; "now" is Monday 5 January 2026, 14:00 in Kyiv; 30 days back is 6 December):

    customer  joined      purchases (amount)                                         notes
    A 2001    2024-10-01  2025-12-10 100, 2025-12-20 200                              win-back from 12-08; lead won
    B 2002    2024-10-01  2025-06-01 50, 2025-12-28 150 (40 points paid)               lead lost
    C 2003    2024-10-01  2024-11-01 80                                               win-back from 12-20
    D 2004    2024-10-01  2024-12-01 120, 2025-12-30 300 (D's first points expire)     lead won before the period
    E 2005    2025-12-20  —                                                           opted out
    F 2006    2025-12-14  2025-12-15 90                                               lead open
    G 2007    2024-10-01  2025-09-01, 10-01, 11-01, 11-20: 40 each                      regular
    H 2008    2024-10-01  2025-10-01 30, 2025-10-05 30                                forgot us

Last 30 days: purchases A1 100, F1 90, A2 200, B2 150, D2 300 → 5 purchases, 4 buyers, 840.00, average
168.00, frequency 1.25, repeat rate 3/4 = 75 %, new 190.00 (23 %), returning 650.00 (77 %).
Customers 8 (the owner is not one), new 2 (E, F), reachable 6 (not E, not H).
Base: one-off C, F; episodic A, B, D, H; regular G. Lifetime so far 1,310 / 7 = 187.14.
Projection: the last 365 days have 12 purchases by 6 buyers for 1,110.00 → check 92.50, 2 a year; of the
year before's buyers (C, D) one came back → churn 1/2 → 2 years → 92.50 × 2 × 2 = 370.00.
Sleeping: C (one purchase, > 30 days) and H (4-day rhythm → asleep since 13 October) = 2, reachable 1 (C).
Points in the period: earned A1 3 + 50 welcome, F1 2 + 50 welcome, A2 10, B2 (150 − 40) × 5 % = 5, D2 15
= 135 issued; 40 redeemed; D's 53 points from December 2024 expired at D2 = 53 expired.
Coupons: cookies for the 2nd purchases of A, B and D = 3 issued, A's redeemed = 1 (33 %).
Leads: 3 (A won, B lost, F open); questions: 4 asked, 1 unanswered; win-back: 2 entered, 1 bought (A).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

from PIL import Image

from bot.sandbox.driver import ChatDriver
from flows.analytics import Period
from flows.messenger import Button, Outgoing
from flows.purchases import NewPurchase
from storage.leads import insert_lead
from storage.outbox import NewMessage
from tests.conftest import OWNER_ID, Harness

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, 0, tzinfo=UTC)


async def join(harness: Harness, tg_id: int, when: datetime) -> int:
    harness.clock.set(when)
    customer = await harness.services["customers"].repo.refresh_profile(
        tg_id, f"Customer {tg_id}", None, None, "en", when
    )
    await harness.services["customers"].repo.record_start(customer.id, None, True, when)  # they opened the bot
    return customer.id


async def buy(harness: Harness, customer_id: int, amount: str, when: datetime, points: int = 0) -> None:
    """A purchase through the one recording path, at its own moment (as a cashier would record it)."""
    harness.clock.set(when)
    await harness.services["purchases"].record(
        NewPurchase(customer_id, Decimal(amount), "telegram", points_to_spend=points, notify=False)
    )


async def lead(harness: Harness, customer_id: int, when: datetime, outcome: str | None) -> None:
    db, leads = harness.services["db"], harness.services["handoff"].leads
    async with db.transaction() as tx:
        lead_id = await insert_lead(tx, customer_id, "manager", None, None, OWNER_ID, None, None, when)
        assert lead_id is not None
        if outcome:
            await leads.close(tx, lead_id, outcome, OWNER_ID, "Owner", when)


async def build_fixture(harness: Harness) -> dict[str, int]:
    s = harness.services
    tg = {name: 2001 + n for n, name in enumerate("ABCDEFGH")}
    ids = {name: await join(harness, tg[name], at(2024, 10, 1)) for name in "ABCDGH"}
    await buy(harness, ids["C"], "80", at(2024, 11, 1))
    await buy(harness, ids["D"], "120", at(2024, 12, 1))
    await buy(harness, ids["B"], "50", at(2025, 6, 1))
    for month, day in ((9, 1), (10, 1), (11, 1), (11, 20)):
        if (month, day) == (10, 1):
            await buy(harness, ids["H"], "30", at(2025, 10, 1))
        await buy(harness, ids["G"], "40", at(2025, month, day))
        if (month, day) == (10, 1):
            await buy(harness, ids["H"], "30", at(2025, 10, 5))
    await lead(harness, ids["D"], at(2025, 11, 1), "won")
    harness.clock.set(at(2025, 12, 8))
    assert await s["sequences"].enroll(ids["A"], "win-back")
    # Its first step is delivered on 9 December (the emulator refuses chats nobody opened, so the delivery is
    # written as the sender would): only contact earns a sequence the credit for A's purchase.
    delivered = await s["db"].execute(
        "INSERT INTO outbox (idempotency_key, customer_id, chat_id, kind, payload, enrollment_id, step_index,"
        " due_at, state, created_at, sent_at) SELECT 'test:win-back:A', e.customer_id, ?, 'sequence', '{}', e.id, 0,"
        " ?, 'sent', ?, ? FROM enrollments e WHERE e.customer_id = ? AND e.sequence = 'win-back'",
        (tg["A"], *["2025-12-09 09:00:00"] * 3, ids["A"]),
    )
    assert delivered == 1
    await buy(harness, ids["A"], "100", at(2025, 12, 10))
    ids["F"] = await join(harness, tg["F"], at(2025, 12, 14))
    await buy(harness, ids["F"], "90", at(2025, 12, 15))
    ids["E"] = await join(harness, tg["E"], at(2025, 12, 20))
    await s["customers"].repo.set_opted_out(ids["E"], True, at(2025, 12, 20))
    assert await s["sequences"].enroll(ids["C"], "win-back")
    await buy(harness, ids["A"], "200", at(2025, 12, 20))
    await buy(harness, ids["B"], "150", at(2025, 12, 28), points=40)
    await buy(harness, ids["D"], "300", at(2025, 12, 30))
    harness.clock.set(at(2026, 1, 2))
    [cookie] = await s["coupons"].repo.of_customer(ids["A"])
    await s["coupons"].redeem(cookie.code, OWNER_ID)
    await lead(harness, ids["A"], at(2026, 1, 2), "won")
    await lead(harness, ids["B"], at(2026, 1, 3), "lost")
    await lead(harness, ids["F"], at(2026, 1, 3), None)
    await s["customers"].repo.forget(ids["H"], at(2026, 1, 3))
    log = s["faq"].log
    await log.record(ids["G"], "old question", "old question", "missed", None, 0, at(2025, 11, 1))
    for outcome in ("answered", "answered", "suggested", "missed"):
        await log.record(ids["A"], "question", "question", outcome, None, 0.5, at(2026, 1, 4))
    harness.clock.set(NOW)
    return ids


def owner(harness: Harness) -> ChatDriver:
    return harness.chat(OWNER_ID, first_name="Owner")


def line(text: str, label: str) -> str:
    """The value after `label: ` in the answer."""
    found = [row for row in text.splitlines() if row.startswith(f"{label}: ")]
    assert found, f"no line {label!r} in:\n{text}"
    return found[0].removeprefix(f"{label}: ")


async def test_stats_match_the_hand_computed_fixture(harness: Harness) -> None:
    await build_fixture(harness)
    boss = owner(harness)
    replies = await boss.send("/stats")
    text = "\n".join(str(m) for m in replies if m.kind == "text")
    assert "Stats, last 30 days (Dec 6, 2025 – Jan 5, 2026)" in text
    expected = {
        "Customers": "8 in total, 2 new",
        "Active (bought)": "4",
        "Reachable now": "6",
        "Purchases": "5",
        "Revenue": "840.00 UAH",
        "Average check": "168.00 UAH",
        "Purchase frequency": "1.25 per buyer",
        "Repeat purchase rate": "75%",
        "From new customers": "190.00 UAH (23%)",
        "From returning customers": "650.00 UAH (77%)",
        "One-off (1 purchase)": "2",
        "Episodic (2–3)": "4",
        "Regular (4+)": "1",
        "Lifetime value so far": "187.14 UAH per buyer",
        "Lifetime value, projected": "370.00 UAH = 92.50 UAH × 2 a year × 2 years",
        "Sleeping": "2 (1 reachable for win-back)",
        "Points issued": "135",
        "Points redeemed": "40",
        "Points expired": "53",
        "Coupons issued": "3",
        "Coupons redeemed": "1 (33%)",
        "Leads": "3",
        "Won": "1 (33%)",
        "Lost": "1",
        "Questions asked": "4",
        "Unanswered questions": "1 (see /questions)",
        "Win back sleeping customers": "2 → 1 bought (50%)",
    }
    assert {label: line(text, label) for label in expected} == expected
    assert "<b>Broadcasts</b>\n<i>no broadcasts delivered in this period</i>" in "\n".join(
        m.text or "" for m in replies
    )


async def test_all_time_from_the_buyer_summary_equals_the_purchases(harness: Harness) -> None:
    await build_fixture(harness)
    analytics = harness.services["analytics"]
    summary = await analytics.stats(analytics.period("all"), charts=False)
    scanned = await analytics.stats(Period("all", datetime(2000, 1, 1, tzinfo=UTC), NOW), charts=False)
    figures = ("purchases", "buyers", "revenue", "revenue_new", "revenue_returning", "repeat_buyers")
    assert {f: getattr(summary, f) for f in figures} == {f: getattr(scanned, f) for f in figures}
    assert (summary.purchases, summary.buyers, summary.revenue, summary.frequency) == (
        14,
        7,
        Decimal("1310.00"),
        Decimal("2.00"),
    )
    assert summary.repeat_rate == 5 / 7


async def test_frequency_is_purchases_per_unique_buyer(harness: Harness) -> None:
    """The issue's example: 100 unique buyers with 134 purchases in a year → 1.34."""
    for n in range(100):
        customer_id = await join(harness, 3000 + n, at(2025, 2, 1))
        await buy(harness, customer_id, "10", at(2025, 3, 1))
        if n < 34:
            await buy(harness, customer_id, "10", at(2025, 9, 1))
    harness.clock.set(NOW)
    replies = await owner(harness).send("/stats 365d")
    text = str(replies[0])
    assert line(text, "Purchase frequency") == "1.34 per buyer"
    assert (line(text, "Active (bought)"), line(text, "Purchases")) == ("100", "134")


async def test_stats_sends_the_two_charts_as_valid_pngs(harness: Harness) -> None:
    await build_fixture(harness)
    replies = await owner(harness).send("/stats")
    photos = [m for m in replies if m.kind == "photo"]
    assert len(photos) == 2
    assert "orange part is first purchases" in (photos[0].caption or "")
    assert "first purchase fell in that month" in (photos[1].caption or "")
    for photo in photos:
        data = photo.file_bytes or b""
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "PNG" and image.width >= 600 and image.height >= 300


async def test_charts_on_an_empty_database_are_still_pictures(harness: Harness) -> None:
    replies = await owner(harness).send("/stats")
    assert line(str(replies[0]), "Purchases") == "0"
    assert line(str(replies[0]), "Average check") == "—"
    assert [m.kind for m in replies].count("photo") == 2
    assert all((m.file_bytes or b"").startswith(b"\x89PNG") for m in replies if m.kind == "photo")


async def test_unknown_period_gets_a_short_explanation(harness: Harness) -> None:
    replies = await owner(harness).send("/stats fortnight")
    assert [str(m) for m in replies] == [
        "Unknown period 'fortnight'. Use one of: 7d, 30d, 90d, 365d, month, year, all (default 30d),"
        " or two dates: 2025-12-01 2025-12-31."
    ]


async def test_period_button_shows_that_period_in_place(harness: Harness) -> None:
    await build_fixture(harness)
    boss = owner(harness)
    await boss.send("/stats")
    edited = await boss.click("all")
    assert len(edited) == 1 and edited[0].edits == 1
    assert "Stats, all time (to Jan 5, 2026)" in str(edited[0])
    assert line(str(edited[0]), "Purchases") == "14"
    assert "• all" in [label for row in edited[0].buttons for label, _ in row]


async def test_viewing_stats_is_audited(harness: Harness) -> None:
    boss = owner(harness)
    await boss.send("/stats 7d")
    row = await harness.services["db"].fetch_one(
        "SELECT actor_tg_id, action, details FROM audit_log WHERE action = 'stats'"
    )
    assert row is not None and (row[0], row[1]) == (OWNER_ID, "stats") and '"7d"' in row[2]


async def test_a_customer_cannot_see_stats(harness: Harness) -> None:
    await build_fixture(harness)
    anna = harness.chat(2001)
    for command in ("/stats", "/stats all"):
        replies = await anna.send(command)
        assert [str(m) for m in replies] == ["This is only for the team of the business."]
    assert await harness.services["db"].fetch_value("SELECT COUNT(*) FROM audit_log WHERE action = 'stats'") == 0


async def test_a_forged_stats_button_in_a_customer_chat_is_refused(harness: Harness) -> None:
    from handlers.stats import StatsCb

    anna = harness.chat(1001)
    await anna.send("/start")
    customer = await harness.services["customers"].repo.by_tg_id(1001)
    assert customer is not None and customer.tg_id is not None
    forged = Outgoing("x", buttons=[[Button("All time", data=StatsCb(period="all").pack())]])
    await harness.services["outbox"].enqueue(
        NewMessage("forge", customer.tg_id, "notice", forged.to_payload(), NOW, customer.id, True), NOW
    )
    await harness.tick()
    before = len(anna.messages())
    await anna.click("All time")
    assert anna.last_callback_answer is not None
    assert anna.last_callback_answer.text == "This is only for the team of the business."
    assert len(anna.messages()) == before  # nothing computed, nothing sent


async def test_a_customer_gets_a_short_refusal_for_every_team_command(harness: Harness) -> None:
    from handlers.fallback import TEAM_COMMANDS

    anna = harness.chat(1001)
    await anna.send("/start")
    for command in sorted(TEAM_COMMANDS):
        replies = await anna.send(f"/{command}")
        assert [str(m) for m in replies] == ["This is only for the team of the business."], command
    assert await harness.services["db"].fetch_value("SELECT COUNT(*) FROM audit_log") == 0
