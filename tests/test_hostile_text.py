"""People's text reaches every HTML view literally: no parse error, no link or formatting the bot did not write.

Table-driven: each entry of VIEWS drives one screen with every hostile string in HOSTILE (as a customer's
name, a message, a code …) and names the chats to look at; `assert_literal` then checks what Telegram
(the emulator, which parses HTML as strictly as Telegram) made of it. Adding a view is one line in VIEWS.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import pytest

from bot.sandbox.driver import ChatDriver
from bot.sandbox.emulator import SentMessage
from flows.report_html import render_report
from tests import broadcast_helpers
from tests.conftest import OWNER_ID, Harness
from tests.handoff_helpers import FORUM, group_messages, manager_chat, settle
from tests.loyalty_helpers import CASHIER_ID, MANAGER_ID, card_code, deliver, hire

HOSTILE = [
    "Eve <script>",
    '<a href="https://evil.example">bank</a>',
    "&amp; &lt;",
    "<b>bold",
    "</i>",
    "{name} {business}",
    "%s %(name)s",
    "Tom & Jerry 🍕",
    "\u202eevil",
    "Ω" * 300,
]
SHOWN = 40  # long values may be clipped on screen; this much of each must appear literally


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rate_limits": False}


def customers(harness: Harness) -> list[ChatDriver]:
    """One customer per hostile string, the string as their first name and (with a prefix) their username
    (Telegram allows only letters, digits and _ there, but imports and the API are not Telegram)."""
    return [harness.chat(2000 + i, first_name=value, username=f"u_{value}") for i, value in enumerate(HOSTILE)]


def usernames() -> list[str]:
    return [f"@u_{value}"[:SHOWN] for value in HOSTILE]


@dataclass(frozen=True)
class Seen:
    """What a view produced: the bot messages to inspect and the hostile strings that must appear in them."""

    messages: list[SentMessage]
    values: list[str]


View = Callable[[Harness], Awaitable[Seen]]


# --- views ------------------------------------------------------------------------------------------


async def onboarding_welcome(harness: Harness) -> Seen:
    people = customers(harness)
    for person in people:
        await person.send("/start")
    return Seen([m for p in people for m in p.messages()], HOSTILE)


async def sale_by_command(harness: Harness) -> Seen:
    cashier = await hire(harness)
    for person in customers(harness):
        await cashier.send(f"/sale {await card_code(person)} 100")
    return Seen(cashier.messages(), HOSTILE)


async def sale_dialog(harness: Harness) -> Seen:
    cashier = await hire(harness)
    for person in customers(harness):
        await cashier.send(f"/start card-{await card_code(person)}")
        await cashier.send("200")
        await cashier.click("No category")
        await cashier.click("Record")
    return Seen(cashier.messages(), HOSTILE)


async def _ask_to_spend(harness: Harness, yes: bool) -> Seen:
    cashier = await hire(harness)
    people = customers(harness)
    codes = [await card_code(person) for person in people]
    for code in codes:
        await cashier.send(f"/sale {code} 1000")
    await deliver(harness, 1)
    for person, code in zip(people, codes, strict=True):
        await cashier.send(f"/start card-{code}")
        await cashier.send("200")
        await cashier.click("No category")
        await cashier.click("with points")
        await deliver(harness, 1)
        request = await person.wait_for_text("suggests paying")
        await person.click("Yes" if yes else "No", message=request)
        await deliver(harness, 1)
    return Seen(cashier.messages(), HOSTILE)


async def spend_declined(harness: Harness) -> Seen:
    return await _ask_to_spend(harness, yes=False)


async def spend_accepted(harness: Harness) -> Seen:
    return await _ask_to_spend(harness, yes=True)


def _word(value: str) -> str:
    return value.replace(" ", "")


async def redeem_unknown_code(harness: Harness) -> Seen:
    cashier = await hire(harness)
    for value in HOSTILE:
        await cashier.send(f"/redeem {_word(value)}")
    return Seen(cashier.messages(), [_word(value) for value in HOSTILE])


async def staff_commands_echo_arguments(harness: Harness) -> Seen:
    """Unknown cards and categories are quoted back to the staff member who typed them."""
    manager = await hire(harness, MANAGER_ID, role="manager")
    code = await card_code(harness.chat(1001))
    for value in HOSTILE:
        await manager.send(f"/sale {_word(value)} 100")
        await manager.send(f"/points {_word(value)} +5 typo")
        await manager.send(f"/redeem ABCD2345 {_word(value)}")
        await manager.send(f"/sale {code} 100 {_word(value)}x")  # an unknown category
    return Seen(manager.messages(), [_word(value) for value in HOSTILE])


async def segment_errors(harness: Harness) -> Seen:
    """A segment expression that does not parse is shown back with the wrong word marked."""
    owner = harness.chat(OWNER_ID, first_name="Owner")
    for value in HOSTILE:
        await owner.send(f"/segment {value}")
        await owner.send(f"/broadcast {value}")
    return Seen(owner.messages(), HOSTILE)


async def profile(harness: Harness) -> Seen:
    people = customers(harness)
    for person in people:
        await person.send("/profile")
    return Seen([m for p in people for m in p.messages()], HOSTILE + usernames())


async def lead_cards_and_relays(harness: Harness) -> Seen:
    """Reply mode (no forum): the card names the customer and quotes them; each copy has a header."""
    await manager_chat(harness, forum=False)
    people = customers(harness)
    for person, value in zip(people, HOSTILE, strict=True):
        await person.send(f"Do you have {value}?")  # a question the FAQ cannot answer: on the card
        await person.send("/manager")
        await person.send(value)  # relayed to the managers while the lead is open
    await settle(harness, rounds=len(HOSTILE) * 4)
    asked = [f"Do you have {value}?"[:SHOWN] for value in HOSTILE]
    return Seen(group_messages(harness), HOSTILE + usernames() + asked)


async def leads_report(harness: Harness) -> Seen:
    await manager_chat(harness, forum=False)
    for person in customers(harness):
        await person.send("/manager")
    owner = harness.chat(OWNER_ID, first_name="Owner")
    return Seen(await owner.send("/leads"), HOSTILE)


async def questions_report(harness: Harness) -> Seen:
    asked = [f"Do you rent a zorblax {value}?" for value in HOSTILE]
    for person, question in zip(customers(harness), asked, strict=True):
        await person.send(question)
    owner = harness.chat(OWNER_ID, first_name="Owner")
    return Seen(await owner.send("/questions"), [question[:SHOWN] for question in asked])


async def segment_samples(harness: Harness) -> Seen:
    """One customer per segment (by what they spent), so each sample line is a known hostile name."""
    cashier = await hire(harness)
    for i, person in enumerate(customers(harness)):
        await person.send("/start")  # only people who started the bot are marketing recipients
        await cashier.send(f"/sale {await card_code(person)} {100 * (i + 1)}")
    owner = harness.chat(OWNER_ID, first_name="Owner")
    for i in range(len(HOSTILE)):
        await owner.send(f"/segment spent>{100 * (i + 1) - 1} !spent>{100 * (i + 1)}")
    return Seen(owner.messages(), HOSTILE + usernames())


async def team_list(harness: Harness) -> Seen:
    for i, value in enumerate(HOSTILE):
        await hire(harness, 5100 + i, name=value)
    owner = harness.chat(OWNER_ID, first_name="Owner")
    return Seen(await owner.send("/staff"), HOSTILE)


async def points_reasons(harness: Harness) -> Seen:
    """A manager's free-text reason reaches the customer: in the notice and in /balance's history."""
    manager = await hire(harness, MANAGER_ID, role="manager")
    anna = harness.chat(1001)
    code = await card_code(anna)
    for delta, value in enumerate(HOSTILE, 1):  # distinct amounts: distinct corrections
        await manager.send(f"/points {code} +{delta} {value}")
    await deliver(harness, len(HOSTILE) + 1)
    await anna.send("/balance")
    return Seen(anna.messages(), HOSTILE)


async def stats_with_broadcast_titles(harness: Harness) -> Seen:
    """/stats names each broadcast by its first words (what a manager typed, shown as typed)."""
    await broadcast_helpers.customer(harness, 1001)
    for value in HOSTILE:
        await broadcast_helpers.wizard(harness, "everyone", text=value)
        await deliver(harness, 2)
        await harness.advance(days=2)  # past the spacing, and within the weekly contact budget
    owner = harness.chat(OWNER_ID, first_name="Owner")
    return Seen(await owner.send("/stats"), HOSTILE)


async def low_score_alerts(harness: Harness) -> Seen:
    """Without a managers' group, a low satisfaction score alerts the owners, naming the customer."""
    owner = harness.chat(OWNER_ID, first_name="Owner")
    await owner.send("/help")  # the owner has talked to the bot, so it may write to them
    cashier = await hire(harness)
    people = customers(harness)
    for person in people:
        await person.send("/start")  # the satisfaction question is marketing: only for people who started
        await cashier.send(f"/sale {await card_code(person)} 100")
    await harness.advance(hours=24)
    await deliver(harness, 2)
    for person in people:
        await person.click("1", message=await person.wait_for_text("How was your visit"))
    await deliver(harness, len(HOSTILE))
    return Seen(owner.messages(), HOSTILE + usernames())


VIEWS: dict[str, View] = {
    "onboarding welcome": onboarding_welcome,
    "/sale": sale_by_command,
    "sale dialog": sale_dialog,
    "spending declined": spend_declined,
    "spending accepted": spend_accepted,
    "/redeem unknown code": redeem_unknown_code,
    "staff commands echo arguments": staff_commands_echo_arguments,
    "segment errors": segment_errors,
    "/profile": profile,
    "lead cards and relays": lead_cards_and_relays,
    "/leads": leads_report,
    "/questions": questions_report,
    "/segment samples": segment_samples,
    "/staff": team_list,
    "/points reasons in /balance": points_reasons,
    "/stats broadcast titles": stats_with_broadcast_titles,
    "low-score alerts to owners": low_score_alerts,
}
# Views run with a managers' group (reply mode, for cards and relays) unless they need to run without one.
SETTINGS: dict[str, dict[str, Any]] = {"low-score alerts to owners": {}}


# --- the check --------------------------------------------------------------------------------------


def parse_errors(harness: Harness) -> list[str]:
    return [
        f"{call.method}: {call.description}"
        for call in harness.emu.calls
        if call.status is not None and call.status >= 400 and "parse entities" in (call.description or "")
    ]


def utf16(text: str) -> int:
    """Telegram counts entity offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def text_of(message: SentMessage) -> str:
    return message.plain_text or ""


def assert_literal(seen: Seen) -> None:
    """Each value appears as typed, no entity starts or ends inside it, and no link points to the attacker."""
    texts = [text_of(m) for m in seen.messages]
    for value in seen.values:
        shown = value[:SHOWN]
        hits = [(m, i) for m, text in zip(seen.messages, texts, strict=True) if (i := text.find(shown)) >= 0]
        assert hits, f"{value!r} not shown literally; messages: {texts}"
        for message, start in hits:
            start, end = utf16(text_of(message)[:start]), utf16(text_of(message)[:start] + shown)
            for entity in message.entities:
                lo, hi = entity["offset"], entity["offset"] + entity["length"]
                assert not (start < lo < end or start < hi < end), f"entity {entity} inside {value!r}"
    for message in seen.messages:
        for entity in message.entities:
            assert "evil.example" not in str(entity.get("url", "")), f"a link the bot did not write: {entity}"


@pytest.mark.parametrize(
    ("view", "settings_overrides"), [(name, SETTINGS.get(name, FORUM)) for name in VIEWS], ids=list(VIEWS)
)
async def test_hostile_text_is_shown_literally(harness: Harness, view: str) -> None:
    seen = await VIEWS[view](harness)
    assert parse_errors(harness) == []
    assert_literal(seen)


@pytest.mark.parametrize("settings_overrides", [FORUM])
async def test_the_cashier_is_told_when_a_customer_named_like_a_tag_declines(harness: Harness) -> None:
    """The case seen in the wild: the notice failed to send (Telegram refused the HTML)."""
    seen = await spend_declined(harness)
    assert sum("declined paying with points" in str(m) for m in seen.messages) == len(HOSTILE)
    assert CASHIER_ID in {m.chat_id for m in seen.messages}


class _PageReader(HTMLParser):
    """The tags and the visible text of the report page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


async def test_the_html_report_shows_hostile_titles_as_text(harness: Harness) -> None:
    """The report page is HTML too: broadcast titles and the business name are text, never tags."""
    await stats_with_broadcast_titles(harness)
    analytics = harness.services["analytics"]
    stats = await analytics.stats(analytics.period("30d"))
    business = '<img src=x onerror="alert(1)"> & Co'
    page = render_report(stats, business, harness.settings.zone, "en", b"png", b"png", harness.clock.now())
    reader = _PageReader()
    reader.feed(page)
    text = "".join(reader.text)
    assert reader.tags <= {"html", "head", "meta", "title", "style", "body", "h1", "p", "section", "h2", "table"} | {
        "tr", "td", "figure", "img", "figcaption"
    }  # fmt: skip
    assert page.count("<img") == 2  # the two charts, not the business name
    for value in [*HOSTILE, business]:
        assert value[:SHOWN] in text, value
