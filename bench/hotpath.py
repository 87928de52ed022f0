"""End-to-end updates/s: a bare aiogram echo bot and nurture-bot, on one emulator, in one run.

Both bots poll the same in-process emulator (rate limits off) with the same polling mode
(`handle_as_tasks=True`, 64 concurrent updates). N text messages from U users are queued at once;
the clock stops when the bot's N-th answer (`sendMessage`) has returned. Rounds alternate the bots
so drift hits both; the first round is a warm-up and is not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import gc
import io
import pstats
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.methods.base import Response
from aiogram.types import LinkPreviewOptions, Message, Update, User

from bench.common import TOKEN, bench_settings, median, table
from bot.app import App, create_app
from bot.sandbox.emulator import ApiCall, Emulator
from flows.pacing import Budget
from handlers.middlewares import CustomerMiddleware, InFlightMiddleware
from handlers.routing import LeanDispatcher
from storage.customers import Customer

POLLING = {"handle_as_tasks": True, "polling_timeout": 25, "tasks_concurrency_limit": 64}
FIRST_USER = 50_000
CHATTER = "thanks!"  # plain text with no FAQ words: answered with the content's `free_text`
QUESTION = "do you have parking?"  # matched by the example FAQ: answered with that entry
TOLERANCE = 0.25
Patches = Sequence[Callable[[App], object]]
# The emulator's limits are off here and so is the bot's pacing: the outbound layer still runs for every
# answer (its per-chat turn and budget check are part of the hot path), but a budget this size never waits.
UNPACED = Budget(global_per_second=1e6, chat_per_second=1e6, chat_burst=10**6, group_burst=10**6)


def unpaced(app: App) -> App:
    app.services["sender"].pacer.configure(UNPACED)
    return app


@dataclass
class Contender:
    """One bot that can start and stop polling on the emulator."""

    name: str
    start: Callable[[], Awaitable[None]]
    stop: Callable[[], Awaitable[None]]
    close: Callable[[], Awaitable[None]]
    text: str  # what every user sends
    is_answer: Callable[[str], bool]
    rates: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)

    def row(self, baseline: Contender) -> list[object]:
        rate, cpu_ms = median(self.rates), median(self.cpu_ms)
        return [
            self.name,
            rate,
            min(self.rates),
            max(self.rates),
            1000 / rate,
            cpu_ms,
            rate / median(baseline.rates),
            median(baseline.cpu_ms) / cpu_ms,
        ]


class AnswerCounter:
    """Counts the bot's finished sendMessage calls since it was made, scanning only new calls."""

    def __init__(self, emu: Emulator, is_answer: Callable[[str], bool]) -> None:
        self._calls = emu.calls
        self._seen = len(emu.calls)
        self._open: list[ApiCall] = []
        self._is_answer = is_answer
        self.done = 0
        self.failed = 0

    def count(self) -> int:
        self._open.extend(c for c in self._calls[self._seen :] if c.method == "sendMessage")
        self._seen = len(self._calls)
        still = []
        for call in self._open:
            if call.status is None:
                still.append(call)
            else:
                self.done += 1
                self.failed += call.status != 200 or not self._is_answer(str(call.params.get("text")))
        self._open = still
        return self.done


async def measure(
    emu: Emulator, contender: Contender, updates: int, users: int, timeout: float = 60.0
) -> tuple[float, float]:
    """Queue `updates` messages at once; return (updates/s until all are answered, CPU ms per update)."""
    counter = AnswerCounter(emu, contender.is_answer)
    for i in range(updates):
        emu.send_message(FIRST_USER + i % users, contender.text)
    started, cpu = time.perf_counter(), time.process_time()
    deadline = started + timeout
    while counter.count() < updates:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"only {counter.done}/{updates} answers within {timeout}s")
        await asyncio.sleep(0.002)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if counter.failed:
        raise RuntimeError(f"{contender.name}: {counter.failed} answers failed or were not the expected text")
    return updates / elapsed, 1000 * cpu / updates


def polling_contender(
    name: str,
    emu: Emulator,
    bot: Bot,
    dp: Dispatcher,
    close: Callable[[], Awaitable[None]],
    text: str,
    is_answer: Callable[[str], bool],
) -> Contender:
    task: asyncio.Task[None] | None = None

    async def start() -> None:
        nonlocal task
        polled = len(emu.calls)
        task = asyncio.create_task(
            dp.start_polling(bot, handle_signals=False, close_bot_session=False, **POLLING)  # type: ignore[arg-type]
        )
        await emu.wait_for_call("getUpdates", after=polled)

    async def stop() -> None:
        await dp.stop_polling()
        assert task is not None
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return Contender(name, start, stop, close, text, is_answer)


def app_contender(name: str, emu: Emulator, app: App, text: str, is_answer: Callable[[str], bool]) -> Contender:
    """nurture-bot polling as in production: `App.run_polling` (bot/polling.py), 64 updates at once."""
    task: asyncio.Task[None] | None = None

    async def start() -> None:
        nonlocal task
        polled = len(emu.calls)
        app._stop_requested = False  # started again in every round
        task = asyncio.create_task(app.run_polling(handle_signals=False, scheduler=False))
        await emu.wait_for_call("getUpdates", after=polled)

    async def stop() -> None:
        await app.stop()
        assert task is not None
        await task

    return Contender(name, start, stop, app.close, text, is_answer)


def echo_bot(emu: Emulator) -> Contender:
    """The baseline: one Dispatcher, one handler answering the text; same Bot defaults as nurture-bot."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(emu.api_base))
    bot = Bot(
        TOKEN,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview=LinkPreviewOptions(is_disabled=True)),
    )
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    return polling_contender("aiogram echo", emu, bot, dp, session.close, CHATTER, lambda text: text == CHATTER)


async def nurture_bot(
    emu: Emulator, db_path: Path, name: str = "nurture-bot", patches: Patches = (), text: str = CHATTER
) -> Contender:
    """nurture-bot as `create_app` builds it: real middlewares, customer upsert, real handlers.

    CHATTER must get the `free_text` answer; any other text any answer but the error apology.
    """
    app = unpaced(await create_app(bench_settings(db_path, emu.api_base)))
    for patch in patches:
        patch(app)
    texts = app.content.texts_for("en")
    if text == CHATTER:
        expected = texts("free_text")
        return app_contender(name, emu, app, text, lambda reply: reply == expected)
    apology = texts("error_apology")
    return app_contender(name, emu, app, text, lambda reply: reply != apology)


async def hot_path_bot(emu: Emulator, db_path: Path) -> Contender:
    """The rule's subject: the echo handler behind nurture-bot's per-update hot path.

    The same Dispatcher setup as `create_app` (services as workflow data, the in-flight and customer
    middlewares on a real SQLite file) with the echo bot's single handler, so the difference to the
    echo bot is exactly the per-update cost every message pays before any feature runs.
    """
    app = unpaced(await create_app(bench_settings(db_path, emu.api_base)))
    dp = LeanDispatcher()
    dp.update.outer_middleware(InFlightMiddleware())
    dp.update.outer_middleware(CustomerMiddleware(app.services["customers"], app.content))

    @dp.message()
    async def echo(message: Message, customer: Customer) -> None:
        await message.answer(message.text or "?")

    dp.carry(app.services, *CustomerMiddleware.READS)

    return polling_contender("echo + hot path", emu, app.bot, dp, app.close, CHATTER, lambda text: text == CHATTER)


def forget_history(emu: Emulator, users: int) -> None:
    """Drop what the emulator remembers (calls, chat histories) and collect garbage, so rounds start equal."""
    emu.calls.clear()
    for user_id in range(FIRST_USER, FIRST_USER + users):
        emu.user(user_id)
        emu.chat(user_id).messages.clear()
    gc.collect()


async def run_round(emu: Emulator, contenders: list[Contender], updates: int, users: int, keep: bool) -> None:
    for contender in contenders:
        forget_history(emu, users)
        await contender.start()
        rate, cpu_ms = await measure(emu, contender, updates, users)
        await contender.stop()
        if keep:
            contender.rates.append(rate)
            contender.cpu_ms.append(cpu_ms)


def pin_response_types() -> list[type]:
    """Keep aiogram's `Response[T]` models alive for the whole run.

    aiogram builds `Response[method.__returning__]` on every call; pydantic caches the parametrized
    model only weakly, so after a garbage collection it is rebuilt (5-15 ms each, dozens per round),
    at random moments, in both bots. Pinning removes that noise from the comparison (`--no-pin` keeps it).
    """
    return [Response[Message], Response[bool], Response[list[Update]], Response[User]]


async def run(updates: int, users: int, rounds: int, question: bool, profile: bool) -> list[Contender]:
    """Warm-up round, then `rounds` measured rounds; the order of the bots alternates between rounds."""
    async with Emulator(rate_limits=False) as emu:
        with tempfile.TemporaryDirectory() as tmp:
            contenders = [
                echo_bot(emu),
                await hot_path_bot(emu, Path(tmp) / "hot.db"),
                await nurture_bot(emu, Path(tmp) / "help.db", "nurture-bot, /help", (), "/help"),
                await nurture_bot(emu, Path(tmp) / "nurture.db", "nurture-bot, plain text"),
            ]
            if question:
                contenders.append(
                    await nurture_bot(emu, Path(tmp) / "faq.db", "nurture-bot, FAQ question", (), QUESTION)
                )
            try:
                for round_ in range(rounds + 1):
                    order = contenders if round_ % 2 else contenders[::-1]
                    await run_round(emu, order, updates, users, keep=round_ > 0)
                if profile:
                    await profile_round(emu, contenders[-1], updates, users)
            finally:
                for contender in contenders:
                    await contender.close()
    return contenders


async def profile_round(emu: Emulator, contender: Contender, updates: int, users: int) -> None:
    """cProfile of one round (the event-loop thread only: SQLite work runs in aiosqlite's threads)."""
    await contender.start()
    profiler = cProfile.Profile()
    profiler.enable()
    await measure(emu, contender, updates, users)
    profiler.disable()
    await contender.stop()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(r"/(flows|handlers|storage|bot)/", 40)
    print(out.getvalue())


def main(
    updates: int = 1000,
    users: int = 200,
    rounds: int = 5,
    question: bool = False,
    profile: bool = False,
    pin: bool = True,
) -> None:
    pinned = pin_response_types() if pin else []
    contenders = asyncio.run(run(updates, users, rounds, question, profile))
    del pinned
    echo, nurture = contenders[:2]  # the rule compares the per-update hot path with the bare echo bot
    pins = "Response[T] pinned" if pin else "Response[T] not pinned"
    print(
        f"hotpath: {updates} updates ({CHATTER!r} unless named) from {users} users at once, median of {rounds} rounds, {pins}"
    )
    headers = ["bot", "updates/s", "min", "max", "ms/update", "CPU ms/update", "vs echo", "vs echo, CPU"]
    print(table(headers, [c.row(echo) for c in contenders]))
    ratio = median(nurture.rates) / median(echo.rates)
    verdict = "within" if ratio >= 1 - TOLERANCE else "NOT within"
    cpu_ratio = median(echo.cpu_ms) / median(nurture.cpu_ms)
    print(
        f"hot path / echo = {ratio:.2f} in updates/s, {cpu_ratio:.2f} in CPU per update: "
        f"{verdict} {TOLERANCE:.0%} of the bare echo bot"
    )
