"""Every owner/staff view, for an owner who reads en, ru and uk: one way of writing numbers, money, plural
words and dates per locale (flows/formatting.py), and no leftovers such as "(s)", "1 customers" or `{count}`;
and the words of the views the flows write come from the catalogue (flows/i18n.py) in the reader's language.

The fixture has 1, 2, 5 and 21 of things (the edge cases of Russian and Ukrainian plural rules): customers with
1, 2, 5 and 21 purchases of 1,500.50 each (so money needs grouping and decimals), 21 customers in all.
Views read by the whole team in the managers' chat (the lead card) are written in the
business's own language, so they are checked against that locale.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.sandbox.driver import ChatDriver
from flows.formatting import count, duration, money
from flows.i18n import load_catalogue
from flows.purchases import NewPurchase
from flows.report_html import render_report
from storage.leads import insert_lead
from tests.broadcast_helpers import wizard
from tests.conftest import OWNER_ID, Harness

AMOUNT = "1500.50"
PURCHASES = {2101: 1, 2102: 2, 2103: 5, 2104: 21}  # customer tg id → purchases
CUSTOMERS = 21

ENGLISH_NUMBER = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])|(?<![\d.,])\d+\.\d{2}(?![\d.])")
SPACED_NUMBER = re.compile(
    r"(?<![\d.,])\d{1,3}(?:[\u00a0\u202f ]\d{3})+(?:,\d+)?(?![\d])|(?<![\d.,])\d+,\d{2}(?![\d,])"
)
ONE_WITH_PLURAL = re.compile(
    r"(?:^|[\s(>+·])1 (customers|purchases|points|clicks|people|days|leads|years|messages)\b", re.M
)
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
CURRENCY = re.compile(r"UAH|₴|грн")


async def _fixture(harness: Harness) -> None:
    """21 customers who opened the bot; four of them bought 1, 2, 5 and 21 times; a win-back, a lead, questions."""
    s = harness.services
    now = harness.clock.now()
    ids = []
    for n in range(CUSTOMERS):
        tg_id = 2101 + n
        customer = await s["customers"].repo.refresh_profile(tg_id, f"Guest{n}", None, None, "en", now)
        await s["customers"].repo.record_start(customer.id, None, True, now)
        ids.append(customer.id)
        for k in range(PURCHASES.get(tg_id, 0)):
            await s["purchases"].record(
                NewPurchase(
                    customer.id,
                    Decimal(AMOUNT),
                    "api",
                    external_id=f"fx{tg_id}-{k}",
                    purchased_at=now - timedelta(days=k * 3 + 1),
                    notify=False,
                )
            )
    async with s["db"].transaction() as tx:
        await insert_lead(tx, ids[0], "manager", None, None, OWNER_ID, None, None, now - timedelta(minutes=1432))
    for n in range(5):
        await s["faq"].log.record(ids[n], "sauna?", "sauna", "missed", None, 0, now - timedelta(hours=n + 1))


@dataclass
class Owner:
    chat: ChatDriver
    language: str

    async def say(self, command: str) -> list[str]:
        return [m.plain_text or "" for m in await self.chat.send(command)]


async def stats(owner: Owner, harness: Harness) -> list[str]:
    return [text for text in await owner.say("/stats") if text]


async def report(owner: Owner, harness: Harness) -> list[str]:
    analytics = harness.services["analytics"]
    figures = await analytics.stats(analytics.period(None))
    page = render_report(
        figures, "Café", harness.services["settings"].zone, owner.language, b"", b"", harness.clock.now()
    )
    return [re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", page, flags=re.S))]


async def sequences(owner: Owner, harness: Harness) -> list[str]:
    return await owner.say("/sequences")


async def broadcasts(owner: Owner, harness: Harness) -> list[str]:
    return await owner.say("/broadcasts")


async def progress(owner: Owner, harness: Harness) -> list[str]:
    return [m.plain_text or "" for m in owner.chat.messages() if (m.plain_text or "").startswith("📣 ")]


async def segment(owner: Owner, harness: Harness) -> list[str]:
    return await owner.say("/segment everyone")


async def leads(owner: Owner, harness: Harness) -> list[str]:
    return await owner.say("/leads")


async def questions(owner: Owner, harness: Harness) -> list[str]:
    return await owner.say("/questions")


async def sale(owner: Owner, harness: Harness) -> list[str]:
    buyer = await harness.services["customers"].repo.by_tg_id(2104)
    card = await harness.services["loyalty"].card(buyer.id)
    return await owner.say(f"/sale {card.card_code} 1500")


async def lead_card(owner: Owner, harness: Harness) -> list[str]:
    handoff = harness.services["handoff"]
    [(lead, _)] = await handoff.leads.open_leads()
    return [re.sub(r"<[^>]+>", "", await handoff.card_text(lead))]


View = Callable[[Owner, Harness], Awaitable[list[str]]]
TEAM = "team"  # read in the managers' chat: the business's language
VIEWS: list[tuple[str, View, str]] = [
    ("/stats and its charts' captions", stats, "owner"),
    ("report HTML", report, "owner"),
    ("/sequences", sequences, "owner"),
    ("/broadcasts", broadcasts, "owner"),
    ("broadcast progress", progress, "owner"),  # in its author's language
    ("/segment", segment, "owner"),
    ("/leads", leads, "owner"),
    ("/questions", questions, "owner"),
    ("cashier's sale confirmation", sale, "owner"),
    ("lead card", lead_card, TEAM),
]


def _problems(text: str, locale: str) -> list[str]:
    found = []
    if "(s)" in text:
        found.append("a '(s)' plural")
    found += [f"'1 {word}'" for word in ONE_WITH_PLURAL.findall(text)]
    found += [f"placeholder {p}" for p in PLACEHOLDER.findall(text)]
    if "0 days ago" in text:
        found.append("'0 days ago'")
    if ".." in text.replace("...", ""):
        found.append("a double full stop")
    wrong = SPACED_NUMBER if locale == "en" else ENGLISH_NUMBER
    found += [f"number {n!r} not in {locale} format" for n in wrong.findall(text)]
    return found


@pytest.mark.parametrize("language", ["en", "ru", "uk"])
async def test_every_owner_view_speaks_one_number_language(harness: Harness, language: str) -> None:
    await _fixture(harness)
    await wizard(harness, "everyone")  # a broadcast for /broadcasts and its progress message
    await harness.advance(minutes=5)
    chat = harness.chat(OWNER_ID, first_name="Owner", language_code=language)
    await chat.send("/help")
    me = await harness.services["customers"].repo.by_tg_id(OWNER_ID)
    await harness.services["customers"].repo.set_chosen_language(me.id, language)  # as /language would
    owner = Owner(chat, language)
    default = harness.services["content"].business.default_language
    marks: dict[str, set[str]] = {}
    failures = []
    for name, view, reader in VIEWS:
        locale = default if reader == TEAM else language
        texts = await view(owner, harness)
        assert texts and any(texts), f"{name}: nothing rendered"
        for text in texts:
            failures += [f"{name} ({locale}): {problem}" for problem in _problems(text, locale)]
            marks.setdefault(locale, set()).update(CURRENCY.findall(text))
    assert not failures, "\n".join(failures)
    for locale, seen in marks.items():
        assert len(seen) <= 1, f"currency written as {seen} in {locale}"
    stats_text = "\n".join(await stats(owner, harness))
    assert marks[language] == set(CURRENCY.findall(money(Decimal(AMOUNT), "UAH", language)))  # the helper's way
    if language != "en":
        assert SPACED_NUMBER.search(stats_text), stats_text  # the grouping really is the locale's


@pytest.mark.parametrize(
    ("n", "en", "ru", "uk"),
    [
        (1, "1 customer", "1 клиент", "1 клієнт"),
        (2, "2 customers", "2 клиента", "2 клієнти"),
        (5, "5 customers", "5 клиентов", "5 клієнтів"),
        (21, "21 customers", "21 клиент", "21 клієнт"),
    ],
)
def test_count_chooses_the_form_by_each_languages_rules(n: int, en: str, ru: str, uk: str) -> None:
    assert count(n, "customer", "customers", "en") == en
    assert count(n, "customer", "customers", "ru") == en  # English words follow English rules
    assert count(n, "клиент", "клиентов", "ru", few="клиента", many="клиентов") == ru
    assert count(n, "клієнт", "клієнтів", "uk", few="клієнти", many="клієнтів") == uk


def test_durations_in_each_language() -> None:
    waited = timedelta(minutes=1432)  # was "waited 1432 min"
    assert duration(waited, "en") == "23 h 52 min"
    assert duration(timedelta(hours=2, minutes=15), "ru") == "2 ч 15 мин"
    assert duration(timedelta(hours=2, minutes=15), "uk") == "2 год 15 хв"
    assert duration(timedelta(days=1, minutes=5), "en", parts=4) == "1 d 5 min"


# Views whose words the flows write from the catalogue (flows/locales/*/flows_staff.po).
async def progress_now(owner: Owner, harness: Harness) -> list[str]:
    """The progress message as it is rendered now, in its author's (the owner's) current language."""
    broadcasts = harness.services["broadcasts"]
    [latest] = await broadcasts.repo.recent(1)
    return [re.sub(r"<[^>]+>", "", await broadcasts.progress_text(latest))]


CATALOGUE_VIEWS: list[tuple[str, View]] = [
    ("/stats and its charts' captions", stats),
    ("report HTML", report),
    ("broadcast progress", progress_now),
]
_PIECE = re.compile(r"\{[^{}]*\}|<[^>]*>|\n")


def english_pieces(language: str) -> set[str]:
    """The English wording of every translated team text: its pieces between {fields} and tags, of a few words
    (short ones such as "Won" could be a name), where the translation says something else."""
    pieces = set()
    for message in load_catalogue(language):
        if not message.id or not message.string:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        translated = " ".join(message.string) if isinstance(message.string, tuple) else message.string
        for source in sources:
            for piece in _PIECE.split(source):
                piece = piece.strip(" .,:;()·—")
                if len(piece) >= 12 and " " in piece and piece not in translated:
                    pieces.add(piece)
    return pieces


@pytest.mark.parametrize("language", ["ru", "uk"])
async def test_the_flows_views_speak_the_readers_words(harness: Harness, language: str) -> None:
    await _fixture(harness)
    await wizard(harness, "everyone")
    await harness.advance(minutes=5)
    chat = harness.chat(OWNER_ID, first_name="Owner", language_code=language)
    await chat.send("/help")
    me = await harness.services["customers"].repo.by_tg_id(OWNER_ID)
    await harness.services["customers"].repo.set_chosen_language(me.id, language)
    owner = Owner(chat, language)
    english = english_pieces(language)
    assert len(english) > 100  # the catalogue is really read
    for name, view in CATALOGUE_VIEWS:
        text = "\n".join(await view(owner, harness))
        assert re.search(r"[а-яіїєґ]{4}", text), f"{name}: no {language} words in {text[:200]!r}"
        leftovers = sorted(piece for piece in english if piece in text)
        assert not leftovers, f"{name} ({language}) still says {leftovers}"
