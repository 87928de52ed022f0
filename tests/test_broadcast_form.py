"""The broadcast wizard as one form (flows/broadcast_form.py): every field checked as the wizard checks its
answers, Telegram's HTML subset and limits, coupons with stock, the schedule in the business's time, and
one broadcast per form however often it is submitted. The console's pages call exactly these."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot.sandbox.emulator_html import parse_html
from flows import telegram_html
from flows.broadcast_form import BroadcastForm, BroadcastRequest, Invalid, Preview
from flows.telegram_html import MarkupError, check_markup, render, sanitize
from tests.broadcast_helpers import buy, customer
from tests.conftest import OWNER_ID, Harness
from tests.loyalty_helpers import deliver

KEY = "k" * 32
SALE = BroadcastRequest(segment="bought:yoga", text="<b>Spring sale</b>: 20% off & more", key=KEY)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"contact_budget_per_day": 20, "contact_budget_per_week": 50, "quiet_hours": ""}


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rate_limits": False}


def form(harness: Harness) -> BroadcastForm:
    return BroadcastForm(harness.services["broadcasts"])


async def problems(harness: Harness, request: BroadcastRequest) -> dict[str, str]:
    with pytest.raises(Invalid) as caught:
        await form(harness).check(request)
    return {
        p.field: p.message.format(**p.values) + (f" {p.detail}" if p.detail else "") for p in caught.value.problems
    }


# ---- Telegram's HTML subset ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "<b>Bold</b> <i>it</i> <u>u</u> <s>s</s> <tg-spoiler>hidden</tg-spoiler>",
        '<strong>x</strong> <em>y</em> <span class="tg-spoiler">z</span> <a href="https://e.com/?a=1&amp;b=2">link</a>',
        '<pre><code class="language-python">print("hi")</code></pre> and <blockquote expandable>quote</blockquote>',
        "2 < 3 & Tom &amp; Jerry &lt;3 &#128512; &copy;",
    ],
)
def test_checked_markup_is_what_telegram_parses_with_the_same_visible_text(typed: str) -> None:
    checked = check_markup(typed)
    assert parse_html(checked.markup).text == checked.visible  # the emulator parses it as Telegram does


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("<script>alert(1)</script>", "unknown_tag"),
        ("<b>open", "unclosed"),
        ("<b>x</i>", "unexpected_end"),
        ("<b><i>x</b></i>", "mismatched"),
        ("x</b>", "unexpected_end"),
        ('<a href="javascript:alert(1)">x</a>', "bad_link"),
        ("<code><b>x</b></code>", "inside_code"),
        ('<span style="x">y</span>', "unknown_tag"),
        ("   ", "empty"),
        ("<b></b>", "empty"),
    ],
)
def test_markup_telegram_would_refuse_is_named(typed: str, code: str) -> None:
    with pytest.raises(MarkupError) as caught:
        check_markup(typed)
    assert caught.value.code == code


def test_limits_count_visible_characters_as_telegram_does() -> None:
    assert check_markup("<b>" + "a" * 4096 + "</b>").length == 4096  # tags do not count
    with pytest.raises(MarkupError, match="too_long"):
        check_markup("😀" * 2049)  # an emoji is two UTF-16 units: 4098
    with pytest.raises(MarkupError, match="too_long"):
        check_markup("a" * 1025, limit=1024)


def test_stored_markup_is_rebuilt_or_escaped_before_a_web_page_shows_it() -> None:
    assert sanitize('<b onclick="x()">hi</b>') == "<b>hi</b>"
    assert sanitize("<img src=x onerror=alert(1)>hi") == "hi"


# ---- the form's fields --------------------------------------------------------------------------------


async def test_audience_counts_the_segment_and_shows_a_sample(harness: Harness) -> None:
    yoga = await customer(harness, 1001, "Anna")
    await customer(harness, 1002, "Ivan")
    await buy(harness, yoga, category="yoga")
    audience = await form(harness).audience("bought:yoga")
    assert audience.view is not None and audience.view.count == 1 and audience.view.reachable == 2
    assert [s.first_name for s in audience.view.sample] == ["Anna"]
    wrong = await form(harness).audience("bought:yoga lst_purchase>30d")
    assert wrong.view is None and wrong.problem is not None and "last_purchase" in str(wrong.problem.detail)


async def test_each_field_gets_its_own_problem(harness: Harness) -> None:
    found = await problems(
        harness,
        BroadcastRequest(
            segment="tier:gold-ish",
            text="<blink>hi</blink>",
            photo="/etc/passwd",
            buttons="Book now https://example.com",
            coupon_limit="5",
            send_at="2020-01-01T10:00",
            key=KEY,
        ),
    )
    assert set(found) == {"segment", "text", "photo", "buttons", "coupon_limit", "send_at"}
    assert "<blink>" in found["text"] and "https://" in found["photo"] and "Label | target" in found["buttons"]
    assert "already passed" in found["send_at"] and "Europe/Kyiv" in found["send_at"]


async def test_a_caption_under_a_photo_is_held_to_1024_characters(harness: Harness) -> None:
    request = replace(SALE, text="a" * 2000)
    assert isinstance(form(harness).preview(request), Preview)
    with_photo = form(harness).preview(replace(request, photo="https://example.com/mats.jpg"))
    assert isinstance(with_photo, Invalid) and with_photo.problems[0].values == {"length": 2000, "limit": 1024}


async def test_coupon_choices_show_the_stock_and_a_sold_out_one_is_refused(harness: Harness) -> None:
    choices = {c.key: c.left for c in await form(harness).coupons()}
    assert choices["spring10"] == 5 and choices["cookie"] is None
    coupons = harness.services["coupons"]
    for n in range(5):
        await coupons.claim(await customer(harness, 1001 + n, f"C{n}"), "spring10")
    assert {c.key: c.left for c in await form(harness).coupons()}["spring10"] == 0
    found = await problems(harness, replace(SALE, segment="everyone", coupon="spring10"))
    assert found == {"coupon": "“10% off any class” has no coupons left."}


async def test_a_coupon_adds_its_button_and_a_coupon_button_needs_a_coupon(harness: Harness) -> None:
    preview = form(harness).preview(replace(SALE, coupon="cookie"))
    assert isinstance(preview, Preview) and [b.action for b in preview.buttons] == ["coupon"]
    found = await problems(harness, replace(SALE, buttons="Grab it | coupon"))
    assert "coupon" in found


# ---- submitting --------------------------------------------------------------------------------------


async def test_submit_sends_to_the_segment_only_and_twice_is_once(harness: Harness) -> None:
    yoga = await customer(harness, 1001, "Anna")
    await customer(harness, 1002, "Ivan")
    await buy(harness, yoga, category="yoga")
    first, created = await form(harness).submit(OWNER_ID, replace(SALE, buttons="Book | https://example.com/b"))
    again, created_again = await form(harness).submit(OWNER_ID, replace(SALE, text="changed"))
    assert created and not created_again and again.id == first.id
    await deliver(harness)
    [sale] = [m for m in harness.emu.messages(1001) if "Spring sale" in str(m)]
    assert sale.entities[0]["type"] == "bold" and "20% off & more" in str(sale)
    assert [label for row in sale.buttons for label, _ in row] == ["Book"]
    assert not [m for m in harness.emu.messages(1002) if "Spring sale" in str(m)]
    progress = await harness.services["broadcasts"].progress(await harness.services["broadcasts"].get(first.id))
    assert progress.broadcast.state == "done" and progress.counts.delivered == 1
    assert (await harness.services["broadcasts"].repo.recent(5))[0].id == first.id
    assert "broadcast_confirmed" in await harness.services["staff"].repo.audit_actions()


async def test_a_form_key_is_required_and_not_anyone_elses(harness: Harness) -> None:
    yoga = await customer(harness, 1001)
    await buy(harness, yoga, category="yoga")
    with pytest.raises(Invalid) as caught:
        await form(harness).submit(OWNER_ID, replace(SALE, key="short"))
    assert caught.value.of("key") is not None
    await form(harness).submit(OWNER_ID, SALE)
    with pytest.raises(Invalid):
        await form(harness).submit(OWNER_ID + 1, SALE)


async def test_scheduled_in_local_time_goes_out_then(harness: Harness) -> None:
    yoga = await customer(harness, 1001)
    await buy(harness, yoga, category="yoga")
    # The test clock starts on Monday 5 January 2026, 14:00 in Kyiv (12:00 UTC).
    broadcast, _ = await form(harness).submit(OWNER_ID, replace(SALE, send_at="2026-01-05T18:30"))
    assert broadcast.state == "scheduled" and broadcast.send_at is not None
    assert broadcast.send_at.isoformat().startswith("2026-01-05T16:30")
    await harness.advance(hours=4, minutes=29)
    assert not [m for m in harness.emu.messages(1001) if "Spring sale" in str(m)]
    await harness.advance(minutes=2)
    await deliver(harness)
    assert [m for m in harness.emu.messages(1001) if "Spring sale" in str(m)]


async def test_nobody_in_the_segment_is_refused(harness: Harness) -> None:
    await customer(harness, 1001)
    assert "segment" in await problems(harness, SALE)


def test_the_web_preview_keeps_formatting_and_escapes_everything_else() -> None:
    shown = render("<b>Prices</b> & <i>more</i>\n<a href='https://x.example/?a=1&b=2'>map</a>")
    assert shown.problems == []
    assert shown.html == (
        '<b>Prices</b> &amp; <i>more</i>\n<a href="https://x.example/?a=1&amp;b=2" rel="noopener noreferrer"'
        ' target="_blank">map</a>'
    )
    hostile = render('<script>alert("x")</script><img src=x onerror=alert(1)><a href="javascript:alert(1)">x</a>')
    assert "<script" not in hostile.html and "<img" not in hostile.html and "javascript" not in hostile.html
    assert hostile.problems[0].startswith("<script> is not a tag Telegram shows")
    assert render("<b>open").problems == ["<b> is not closed"] and render("<b>open").html == "<b>open</b>"
    assert telegram_html.problems("x</i>") == ["</i> closes a tag that is not open"]
    assert render("<tg-spoiler>secret</tg-spoiler>").html == '<span class="tg-spoiler">secret</span>'
