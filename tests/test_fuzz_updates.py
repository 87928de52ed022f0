"""Random update streams through the emulator to the real bot (hypothesis).

Texts (unicode digits, direction marks, 4096 characters, HTML-ish), commands with junk arguments from
customers, staff and the owner, forged callback data of every `CallbackData` factory in handlers/, contacts
(own and others'), photos, documents and voice, edited messages and group messages. After each stream:
no ERROR log record (the error handler logs there), no call the emulator refused (it answers a call that
breaks Telegram's rules with 400), no apology sent, and — for streams from customers — nothing changed that
a customer may not change.

Hypothesis runs in a worker thread and hands each update to the test's event loop, where the bot runs.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import handlers
from bot.sandbox.driver import ChatDriver
from tests.conftest import OWNER_ID, Harness
from tests.handoff_helpers import FORUM, MANAGERS
from tests.loyalty_helpers import CASHIER_ID, MANAGER_ID, card_code, hire

CUSTOMERS = (1001, 1002)
OTHER_GROUP = -100777
APOLOGIES = ("something went wrong", "что-то пошло не так", "щось пішло не так")
STREAM_TIMEOUT = 20.0
# Examples per test: enough to find the bugs this test found, within ~30 s on a loaded machine. Set
# FUZZ_EXAMPLES=2000 for a deeper search before a release.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "120"))


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(FORUM)


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rate_limits": False}


def callback_factories() -> list[type[CallbackData]]:
    """Every CallbackData subclass defined in handlers/ (importing each module registers them)."""
    for module in pkgutil.iter_modules(handlers.__path__):
        importlib.import_module(f"handlers.{module.name}")
    found: list[type[CallbackData]] = []
    pending = list(CallbackData.__subclasses__())
    while pending:
        factory = pending.pop()
        pending.extend(factory.__subclasses__())
        if factory.__module__.startswith("handlers."):
            found.append(factory)
    return sorted(found, key=lambda f: (f.__module__, f.__name__))


FACTORIES = callback_factories()
COMMANDS = (
    "start", "help", "language", "card", "balance", "coupons", "invite", "profile", "stop", "faq", "manager",
    "sale", "redeem", "points", "segment", "broadcast", "broadcasts", "preview", "sequences", "staff", "stats",
    "leads", "questions", "forget", "cancel", "nonsense",
)  # fmt: skip
WORDS = (
    "seg", "nob", "cp", "nol", "now", "later", "ok", "x", "take", "won", "lost", "rev", "inv", "cat", "rec", "pts",
    "p", "r", "c", "cy", "cn", "v", "skip", "toggle", "done", "phone", "birthday", "interests", "language", "en",
    "ru", "uk", "30d", "7d", "month", "all", "cashier", "manager", "yoga", "coffee", "welcome", "prices", "regulars",
)  # fmt: skip
ODD_TEXTS = (
    "x" * 4096,
    "²",
    "+²",
    "٣٠٠",
    "３００",
    "\u202e123\u202c",
    "\u200f",
    "<b>bold</b> <a href='https://evil.example'>link</a> &amp; <script>",
    "1e309",
    "9" * 60,
    "-0",
    "0001-01-01 00:00",
    "31.12.9999 23:59",
    "\x00\x07",
    " ",
    "🙂" * 50,
)
JUNK_ARGS = st.one_of(st.sampled_from(ODD_TEXTS), st.text(max_size=40))
ODD_NUMBERS = st.sampled_from(
    ("+²", "²", "+99999999999999999999", "1e309", "٥٠٠", "-5", "0", "1,000.005", "9" * 40, "500", "+50", "１２")
)
SEGMENTS = st.sampled_from(
    (
        "last_purchase>99999m", "purchases>=²", "spent>1e400", "joined<٣٠d", "birthday:999d", "tag:" + "x" * 30,
        "lang:ru,,uk", "!everyone", "rfm:lost,champions", "spent>NaN", "purchases>99999999999", "bought:²",
        "regulars", "everyone", "last_purchase>-1d", "tier:regular !tier:new",
    )
)  # fmt: skip
# Staff commands shaped as they are used, with odd values where the numbers, codes and dates go;
# `{card}` becomes a real customer's card code when played, so the command gets past the lookup.
STAFF_COMMANDS = st.one_of(
    st.builds(lambda n, rest: f"/points {{card}} {n} {rest}", ODD_NUMBERS, st.sampled_from(("thanks", "²"))),
    st.builds(
        lambda n, rest: f"/sale {{card}} {n} {rest}", ODD_NUMBERS, st.sampled_from(("", "yoga", "ABCD-EFGH"))
    ),
    st.builds(lambda code: f"/redeem {code} {{card}}", st.sampled_from(("ABCD-EFGH", "²", "x" * 300, "0000"))),
    st.builds(lambda command: f"/{command} {'x' * 4000} 100", st.sampled_from(("sale", "redeem", "points"))),
    st.builds(lambda expr: f"/segment {expr}", SEGMENTS),
    st.builds(lambda expr: f"/broadcast {expr}", SEGMENTS),
    st.builds(
        lambda period: f"/stats {period}", st.sampled_from(("99999d", "²d", "-1d", "0d", "month", "x" * 4000))
    ),
    st.builds(lambda name: f"/preview {name}", st.sampled_from(("welcome", "²", "x" * 100, ""))),
)
DEEP_LINKS = st.builds(
    lambda prefix, rest: f"/start {prefix}{rest}",
    st.sampled_from(("staff-", "card-", "ref-", "cp-", "")),
    st.one_of(
        st.sampled_from(("²", "٣٣٣", "x" * 60, "", "-", "{card}")), st.text(alphabet="abcXYZ0189-_²", max_size=20)
    ),
)
TEXTS = st.one_of(st.sampled_from(ODD_TEXTS), st.text(max_size=200), st.sampled_from(("hello", "price?", "skip")))


def _field_values(annotation: Any) -> st.SearchStrategy[Any]:
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.one_of(st.integers(-3, 40), st.sampled_from((2**31, 10**15, -(10**15))))
    return st.one_of(st.sampled_from(WORDS), st.sampled_from(("", "²", "٣", "x" * 20)), st.text(max_size=8))


def _packed(factory: type[CallbackData]) -> st.SearchStrategy[str | None]:
    """Valid-looking data: the factory's own fields with plausible and odd values (None if it cannot pack)."""
    fields = {name: _field_values(info.annotation) for name, info in factory.model_fields.items()}

    def pack(values: dict[str, Any]) -> str | None:
        try:
            return factory(**values).pack()
        except (ValueError, TypeError):  # a separator in a value, or over 64 bytes
            return None

    return st.fixed_dictionaries(fields).map(pack)


def _junk(factory: type[CallbackData]) -> st.SearchStrategy[str]:
    return st.builds(lambda rest: f"{factory.__prefix__}:{rest}", st.text(max_size=30))


CALLBACK_DATA = st.one_of(*(_packed(f) for f in FACTORIES), *(_junk(f) for f in FACTORIES)).filter(
    lambda data: data is not None and 0 < len(data.encode()) <= 64
)


@dataclass(frozen=True)
class Action:
    kind: str  # text | command | callback | contact | photo | document | voice | edit | group | reply | tick
    who: int
    value: str = ""
    own: bool = True

    def __repr__(self) -> str:  # short in hypothesis' falsifying example
        return f"{self.kind}({self.who}, {self.value[:60]!r}{'' if self.own else ', other'})"


def actions(people: tuple[int, ...], staff: tuple[int, ...] = ()) -> st.SearchStrategy[Action]:
    """Any kind of update from `people`; with `staff`, half of them are staff commands shaped as used."""
    who = st.sampled_from(people)
    anything = st.one_of(
        st.builds(Action, st.just("text"), who, TEXTS),
        st.builds(Action, st.just("command"), who, st.builds(_command, st.sampled_from(COMMANDS), JUNK_ARGS)),
        st.builds(Action, st.just("text"), who, st.one_of(ODD_NUMBERS, SEGMENTS)),  # answers to questions
        st.builds(Action, st.just("callback"), who, CALLBACK_DATA),
        st.builds(Action, st.just("callback"), who, CALLBACK_DATA),
        st.builds(Action, st.just("contact"), who, st.sampled_from(("+380501112233", "²", "", "+" + "9" * 30)), st.booleans()),
        st.builds(Action, st.sampled_from(("photo", "document", "voice")), who, st.one_of(st.just(""), TEXTS)),
        st.builds(Action, st.just("edit"), who, TEXTS),
        st.builds(Action, st.just("group"), who, st.one_of(TEXTS, st.builds(_command, st.sampled_from(COMMANDS), JUNK_ARGS)), st.booleans()),
        st.builds(Action, st.just("reply"), who, TEXTS),
        st.builds(Action, st.just("command"), who, DEEP_LINKS),
        st.builds(Action, st.just("tick"), who),
    )  # fmt: skip
    if not staff:
        return anything
    return st.one_of(anything, st.builds(Action, st.just("command"), st.sampled_from(staff), STAFF_COMMANDS))


def _command(name: str, args: str) -> str:
    """A command as Telegram delivers it: at most 4096 characters in all."""
    return (f"/{name} {args}".strip() if args.strip() else f"/{name}")[:4096]


class Player:
    """Applies actions to the running bot through the emulator, the way people and modified clients do."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.emu = harness.emu

    def chat(self, who: int, group: int | None = None) -> ChatDriver:
        return self.harness.chat(who, first_name=f"P{who}", chat_id=group)

    async def play(self, action: Action) -> None:
        if "{card}" in action.value:  # a real customer's card code, so the command gets past the lookup
            code = await card_code(self.chat(CUSTOMERS[0]))
            action = Action(action.kind, action.who, action.value.replace("{card}", code), action.own)
        chat = self.chat(action.who)
        if action.kind in ("text", "command"):
            await chat.send(action.value or ".")
        elif action.kind == "callback":
            await self._forged_press(chat, action.value)
        elif action.kind == "contact":
            await chat.share_contact(action.value or "+1", own=action.own)
        elif action.kind == "photo":
            await chat.send_photo(caption=action.value or None)
        elif action.kind == "document":
            await chat.send_document(caption=action.value or None)
        elif action.kind == "voice":
            await chat.send_voice(caption=action.value or None)
        elif action.kind == "edit":
            await self._edit(action.who, action.value or ".")
        elif action.kind == "reply":
            await self._reply_in_group(action.who, action.value or ".")
        elif action.kind == "group":
            await self.chat(action.who, MANAGERS if action.own else OTHER_GROUP).send(action.value or ".")
        else:
            await self.harness.advance(seconds=3)

    async def _forged_press(self, chat: ChatDriver, data: str) -> None:
        """A button with hand-made data under a bot message, pressed (as a modified client can send)."""
        markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="?", callback_data=data)]])
        sent = await self.harness.app.bot.send_message(chat.chat_id, "forged", reply_markup=markup)
        update = self.emu.press_button(chat.user_id, sent.message_id, data)
        await self.emu.wait_processed(update["update_id"], timeout=chat.timeout)

    async def _reply_in_group(self, who: int, text: str) -> None:
        """A reply in the managers' group to the bot's latest message there (a lead card: relayed)."""
        group = self.chat(who, MANAGERS)
        latest = self.emu.last_message(MANAGERS)
        await group.send(text, reply_to=latest.message_id if latest is not None else None)

    async def _edit(self, who: int, text: str) -> None:
        """The person edits the last message they sent in their chat (Telegram sends `edited_message`)."""
        own = [m for m in self.emu.chat(who).messages.values() if isinstance(m, dict) and m["from"]["id"] == who]
        if not own:
            return
        edited = {key: value for key, value in own[-1].items() if key not in ("text", "entities", "caption")}
        edited |= {"text": text, "edit_date": edited["date"] + 1}
        update = self.emu.push_update({"edited_message": edited})
        await self.emu.wait_processed(update["update_id"], timeout=5.0)


@dataclass
class Watch:
    """What a stream must not produce: error records, refused calls, apologies."""

    harness: Harness
    caplog: pytest.LogCaptureFixture
    calls: int = 0
    records: int = 0

    def mark(self) -> None:
        self.calls = len(self.harness.emu.calls)
        self.records = len(self.caplog.records)

    def problems(self) -> list[str]:
        found = [
            f"log {r.levelname}: {r.getMessage()}"
            + (f" ({r.exc_info[1]!r})" if r.exc_info and r.exc_info[1] else "")
            for r in self.caplog.records[self.records :]
            if r.levelno >= logging.ERROR
        ]
        for call in self.harness.emu.calls[self.calls :]:
            if call.status is not None and call.status >= 400 and call.method != "getUpdates":
                found.append(f"refused {call.method} {call.status}: {call.description} {call.params}")
            text = str(call.params.get("text") or "").lower()
            if any(apology in text for apology in APOLOGIES):
                found.append(f"apology sent by {call.method}")
        return found


async def protected(harness: Harness) -> tuple[Any, ...]:
    """Figures only staff, owners and the bot's own jobs may change."""
    row = await harness.app.db.fetch_one(
        "SELECT (SELECT COUNT(*) FROM purchases), (SELECT COALESCE(SUM(delta), 0) FROM points_ledger),"
        " (SELECT COUNT(*) FROM points_ledger WHERE kind = 'adjustment'),"
        " (SELECT COUNT(*) FROM staff), (SELECT COUNT(*) FROM broadcasts),"
        " (SELECT COUNT(*) FROM leads WHERE taken_by IS NOT NULL OR closed_by IS NOT NULL), (SELECT COUNT(*) FROM coupons WHERE redeemed_at IS NOT NULL)"
    )
    assert row is not None
    return tuple(row)


def run_property(
    harness: Harness,
    people: tuple[int, ...],
    check: Callable[[], Awaitable[list[str]]],
    examples: int,
    staff: tuple[int, ...] = (),
) -> Callable[[], None]:
    """A hypothesis test over streams of `people`'s actions, to be run in a worker thread."""
    loop = asyncio.get_running_loop()
    player = Player(harness)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(actions(people, staff), min_size=1, max_size=6))
    def stream(steps: list[Action]) -> None:
        current: list[Action] = []

        async def play_all() -> list[str]:
            for step in steps:
                current.append(step)
                await player.play(step)
            return await check()

        try:
            problems = asyncio.run_coroutine_threadsafe(play_all(), loop).result(STREAM_TIMEOUT)
        except TimeoutError:
            raise AssertionError(f"stuck at {current[-1]}; tasks wait at:\n{_waiting(loop)}") from None
        assert not problems, "\n".join(problems)

    return stream


def _waiting(loop: asyncio.AbstractEventLoop) -> str:
    """Where each task of the loop is suspended (file:line chains), to tell a hang from slowness."""
    lines = []
    for task in asyncio.all_tasks(loop):
        coro: Any = task.get_coro()
        where = []
        while coro is not None:
            frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
            if frame is not None:
                where.append(f"{frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno}")
            coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        lines.append(" > ".join(where))
    return "\n".join(lines)


async def prepare(harness: Harness) -> None:
    """Customers with cards and a purchase, a cashier and a manager, the managers' group."""
    harness.emu.group(MANAGERS, "Managers", forum=True)
    harness.emu.group(OTHER_GROUP, "Somewhere else")
    cashier = await hire(harness, CASHIER_ID, "cashier", "Olena")
    await hire(harness, MANAGER_ID, "manager", "Marta")
    for who in CUSTOMERS:
        code = await card_code(harness.chat(who, first_name=f"P{who}"))
        await cashier.send(f"/sale {code} 500")
    await harness.chat(OWNER_ID, first_name="Owner").send("/help")
    await harness.advance(seconds=3)


def test_every_callback_factory_is_fuzzed() -> None:
    names = {f.__name__ for f in FACTORIES}
    assert {"SaleCb", "SpendCb", "LeadCb", "StaffCb", "WizCb", "BcCtlCb", "SeqCb", "ForgetCb"} <= names
    assert len(FACTORIES) >= 16


async def test_customers_cannot_break_the_bot_or_change_what_is_not_theirs(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await prepare(harness)
    caplog.set_level(logging.WARNING)
    watch = Watch(harness, caplog)
    before: list[tuple[Any, ...]] = []

    async def check() -> list[str]:
        found = watch.problems()
        after = await protected(harness)
        if after != before[-1]:
            found.append(f"a customer changed protected data: {before[-1]} -> {after}")
        watch.mark()
        return found

    before.append(await protected(harness))
    watch.mark()
    await asyncio.to_thread(run_property(harness, CUSTOMERS, check, examples=EXAMPLES))


async def test_junk_from_staff_owner_and_groups_gets_answers_not_errors(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await prepare(harness)
    caplog.set_level(logging.WARNING)
    watch = Watch(harness, caplog)

    async def check() -> list[str]:
        found = watch.problems()
        watch.mark()
        return found

    watch.mark()
    people = (*CUSTOMERS, CASHIER_ID, MANAGER_ID, OWNER_ID)
    staff = (CASHIER_ID, MANAGER_ID, OWNER_ID)
    await asyncio.to_thread(run_property(harness, people, check, examples=EXAMPLES, staff=staff))
