"""Long messages and everyone else: do five 4,000-character messages from one customer hold up the others?

One nurture-bot (as `create_app` builds it, polling as in production) on the in-process emulator (rate
limits off). Other customers ask a short FAQ question at a steady rate (each from a new chat, so every
reply is theirs alone); in some runs one customer sends five different 4,000-character messages at
once, half a second in. The latency of each short question is measured from the moment it was due (not
when a blocked sender got round to it) to the moment the bot's answer reached the emulator.

Three conditions in one run, rounds alternating their order after a warm-up:
- short questions only;
- with the five long messages, as the bot reads them now (`Faq.ask_many`: at most three pieces, 45
  words, from the first 600 characters);
- with the five long messages matched as before this change (`Faq.ask` on the whole text, cut at
  400 characters), by swapping `ask_many` on the running bot.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import bench_settings, table
from bench.hotpath import unpaced
from bot.app import App, create_app
from bot.sandbox.emulator import Emulator
from flows.faq import AskedMany, Faq
from storage.customers import Customer

QUESTION = "do you have parking?"
RATE = 25  # short questions a second
DURATION = 4.0  # seconds of short questions per round
LONG_AT = 0.5  # seconds in, the long messages arrive
LONG_COUNT = 5
LONG_CHARS = 4000
LONG_USER = 10_000
FIRST_USER = 100_000
_WORDS = Path(__file__).resolve().parent.parent / "README.md"


@dataclass
class Condition:
    name: str
    long: bool
    as_before: bool = False
    latencies: list[float] = field(default_factory=list)

    def row(self, baseline: Condition) -> list[object]:
        ms = sorted(1000 * x for x in self.latencies)
        p50, p95 = _quantile(ms, 0.5), _quantile(ms, 0.95)
        base95 = _quantile(sorted(1000 * x for x in baseline.latencies), 0.95)
        return [self.name, len(ms), p50, p95, ms[-1], p95 / base95]


def _quantile(sorted_ms: list[float], q: float) -> float:
    return statistics.quantiles(sorted_ms, n=100, method="inclusive")[round(q * 100) - 1]


def long_messages(seed: int) -> list[str]:
    """Five different letters of about 4,000 characters: sentences of words from the README (varied
    words, so no cache makes the later ones cheaper than the first)."""
    words = [w.strip("`*()[],.:;|#>\"'") for w in _WORDS.read_text().split()]
    pool = [w for w in words if len(w) >= 3 and w.isalpha()]
    rng = random.Random(seed)
    letters = []
    for _ in range(LONG_COUNT):
        sentences: list[str] = []
        while sum(len(s) + 1 for s in sentences) < LONG_CHARS:
            sentences.append(" ".join(rng.choices(pool, k=rng.randint(8, 20))).capitalize() + ".")
        letters.append(" ".join(sentences)[:LONG_CHARS])
    return letters


def match_as_before(faq: Faq) -> Callable[..., Any]:
    """`ask_many` as the bot answered before: the whole text through `ask` (which cuts it at 400)."""

    async def ask_many(customer: Customer, text: str, *, remember: bool = True) -> AskedMany:
        return AskedMany(await faq.ask(customer, text, remember=remember), [])

    return ask_many


async def run_condition(
    emu: Emulator, app: App, condition: Condition, users_from: int, seed: int, keep: bool
) -> int:
    """One round: short questions at RATE for DURATION (and the long messages if asked); returns the next
    free user id."""
    faq: Faq = app.services["faq"]
    original = faq.ask_many
    if condition.as_before:
        faq.ask_many = match_as_before(faq)  # type: ignore[method-assign]
    letters = long_messages(seed) if condition.long else []
    due: dict[int, float] = {}
    seen = len(emu.calls)
    count = int(RATE * DURATION)
    start = time.monotonic()
    sent = 0
    long_sent = False
    try:
        while sent < count or len(_answered(emu, seen, due)) < count:
            now = time.monotonic()
            if letters and not long_sent and now - start >= LONG_AT:
                for letter in letters:
                    emu.send_message(LONG_USER + seed, letter)
                long_sent = True
            # Everything due by now is sent, stamped with when it was due: a blocked loop delays the
            # sending here too, and the customer's wait started at the due time regardless.
            while sent < count and start + sent / RATE <= now:
                user = users_from + sent
                due[user] = start + sent / RATE
                emu.send_message(user, QUESTION)
                sent += 1
            if now - start > DURATION + 60:
                raise TimeoutError(f"{condition.name}: only {len(_answered(emu, seen, due))}/{count} answered")
            await asyncio.sleep(0.002)
    finally:
        faq.ask_many = original  # type: ignore[method-assign]
    if keep:
        answered = _answered(emu, seen, due)
        condition.latencies += [answered[user] - due[user] for user in due]
    await _settle(emu, seen, LONG_USER + seed, len(letters))
    return users_from + count


def _answered(emu: Emulator, seen: int, due: dict[int, float]) -> dict[int, float]:
    """When each short question's answer reached the emulator (its first sendMessage to that chat)."""
    found: dict[int, float] = {}
    for call in emu.calls[seen:]:
        chat = call.params.get("chat_id")
        if call.method == "sendMessage" and call.status is not None and chat is not None:
            user = int(chat)
            if user in due and user not in found:
                found[user] = call.at
    return found


async def _settle(emu: Emulator, seen: int, long_user: int, letters: int) -> None:
    """Wait until the long messages are answered too, so a round does not leak work into the next."""
    deadline = time.monotonic() + 60
    while letters and time.monotonic() < deadline:
        done = sum(
            1
            for c in emu.calls[seen:]
            if c.method == "sendMessage"
            and c.status is not None
            and str(c.params.get("chat_id")) == str(long_user)
        )
        if done >= letters:
            return
        await asyncio.sleep(0.01)


async def run(rounds: int) -> list[Condition]:
    conditions = [
        Condition("short questions only", long=False),
        Condition("+ 5 × 4,000 characters, now (ask_many: ≤ 3 pieces, 45 words, first 600 characters)", long=True),
        Condition(
            "+ 5 × 4,000 characters, as before (ask: whole text cut at 400 characters)", long=True, as_before=True
        ),
    ]
    async with Emulator(rate_limits=False) as emu:
        with tempfile.TemporaryDirectory() as tmp:
            app = unpaced(await create_app(bench_settings(Path(tmp) / "long.db", emu.api_base)))
            polled = len(emu.calls)
            task = asyncio.create_task(app.run_polling(handle_signals=False, scheduler=False))
            await emu.wait_for_call("getUpdates", after=polled)
            try:
                users, seed = FIRST_USER, 0
                for round_ in range(rounds + 1):  # round 0 warms up (imports, caches, the database)
                    order = conditions if round_ % 2 else conditions[::-1]
                    for condition in order:
                        seed += 1
                        users = await run_condition(emu, app, condition, users, seed, keep=round_ > 0)
                        emu.calls.clear()
            finally:
                await app.stop()
                await task
                await app.close()
    return conditions


def main(rounds: int = 3) -> None:
    conditions = asyncio.run(run(rounds))
    count = int(RATE * DURATION)
    print(
        f"longtext: {count} short FAQ questions at {RATE}/s from new customers per round; five different "
        f"{LONG_CHARS:,}-character messages from one customer at {LONG_AT} s; {rounds} rounds pooled"
    )
    headers = ["condition", "questions", "p50 ms", "p95 ms", "max ms", "p95 vs short only"]
    print(table(headers, [c.row(conditions[0]) for c in conditions]))
