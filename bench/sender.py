"""The outbox sender against the emulator with Telegram's limits on (30/s overall, 1/s per chat).

nurture-bot is built by `create_app` with a 25/s send rate, quiet hours off and a contact budget
large enough not to interfere. Messages are queued straight into the outbox (their text is their
idempotency key), then `Jobs.drain()` runs as the scheduler runs it: every second, one at a time, a
run that would start while another is busy is skipped. The clock is the real one.
"""

from __future__ import annotations

import asyncio
import json
import math
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.common import bench_settings, table
from bot.app import App, create_app
from bot.sandbox.emulator import Emulator
from flows.clock import SystemClock
from storage.timefmt import to_db

RATE = 25.0
PER_CHAT_INTERVAL = 1.0  # the sender's and the emulator's per-chat pace
TICK = 1.0  # bot/scheduler.py runs the drain every second
FIRST_CHAT = 70_000
VARIANTS = [(500, 1), (50, 5), (10, 10)]  # (chats, messages per chat)


@dataclass
class Figures:
    chats: int
    per_chat: int
    sender: str
    seconds: float = 0.0
    sent: int = 0
    drains: int = 0
    too_many: int = 0
    duplicates: int = 0
    missing: int = 0

    @property
    def queued(self) -> int:
        return self.chats * self.per_chat

    @property
    def limit(self) -> float:
        """What the limits allow: the configured rate, or one message per chat per second if lower."""
        return min(RATE, self.chats / PER_CHAT_INTERVAL)

    def row(self) -> list[object]:
        rate = self.sent / self.seconds
        return [
            self.sender,
            f"{self.chats} x {self.per_chat}",
            self.sent,
            self.seconds,
            self.drains,
            rate,
            rate / RATE,
            self.limit,
            rate / self.limit,
            self.too_many,
            self.duplicates,
            self.missing,
        ]


HEADERS = [
    "sender",
    "chats x msgs",
    "sent",
    "seconds",
    "drains",
    "msgs/s",
    "of 25/s",
    "limit/s",
    "of limit",
    "429s",
    "dupes",
    "missing",
]


async def queue(app: App, emu: Emulator, chats: int, per_chat: int) -> None:
    """Customers who started the bot, and their messages due now, inserted with SQL."""
    now = to_db(app.clock.now())
    customers, rows = [], []
    for chat_id in range(FIRST_CHAT, FIRST_CHAT + chats):
        emu.user(chat_id, f"Customer {chat_id}").started = True
        customers.append((chat_id, f"Customer {chat_id}", now, now))
        for n in range(per_chat):
            key = f"bench:{chat_id}:{n}"
            payload = json.dumps({"text": key, "photo": None, "buttons": []})
            rows.append((key, chat_id, chat_id, payload, now, now))
    async with app.db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO customers (tg_id, first_name, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?)", customers
        )
        await tx.executemany(
            "INSERT INTO outbox (idempotency_key, customer_id, chat_id, kind, payload, due_at, created_at)"
            " SELECT ?, id, ?, 'broadcast', ?, ?, ? FROM customers WHERE tg_id = ?",
            [(key, chat, payload, due, created, chat) for key, chat, _, payload, due, created in rows],
        )


async def drain_like_the_scheduler(app: App) -> tuple[float, int]:
    """Drain every TICK seconds until nothing is pending; returns (seconds, drains)."""
    started = time.monotonic()
    drains = 0
    while True:
        await app.jobs.drain()
        drains += 1
        if not (await app.services["outbox"].counts_by_state()).get("pending"):
            return time.monotonic() - started, drains
        elapsed = time.monotonic() - started
        await asyncio.sleep(math.ceil(elapsed / TICK) * TICK - elapsed)  # the next fire time not yet missed


def check(emu: Emulator, figures: Figures) -> None:
    """429s from the emulator; every queued key must be in its chat exactly once."""
    figures.too_many = sum(call.status == 429 for call in emu.calls_of("sendMessage"))
    seen: Counter[str] = Counter()
    for chat_id in range(FIRST_CHAT, FIRST_CHAT + figures.chats):
        seen.update(message.plain_text or "" for message in emu.messages(chat_id))
    figures.duplicates = sum(count - 1 for count in seen.values() if count > 1)
    expected = {
        f"bench:{c}:{n}" for c in range(FIRST_CHAT, FIRST_CHAT + figures.chats) for n in range(figures.per_chat)
    }
    figures.missing = len(expected - set(seen))


async def run_variant(folder: Path, chats: int, per_chat: int, database_url: str | None = None) -> Figures:
    """One variant on a fresh SQLite file in `folder`, or on the (fresh) PostgreSQL database given."""
    figures = Figures(chats, per_chat, "as shipped" if database_url is None else "PostgreSQL")
    async with Emulator() as emu:  # Telegram's limits: 30/s overall, bursts of 10 then 1/s per chat
        settings = bench_settings(
            folder / f"sender-{chats}x{per_chat}.db",
            emu.api_base,
            send_rate_per_second=RATE,
            contact_budget_per_day=10_000,
            contact_budget_per_week=10_000,
            database_url=database_url,
        )
        app = await create_app(settings, clock=SystemClock())
        try:
            await queue(app, emu, chats, per_chat)
            figures.seconds, figures.drains = await drain_like_the_scheduler(app)
            figures.sent = (await app.services["outbox"].counts_by_state()).get("sent", 0)
            check(emu, figures)
        finally:
            await app.close()
    return figures


async def run(variants: list[tuple[int, int]]) -> list[Figures]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        return [await run_variant(folder, chats, per_chat) for chats, per_chat in variants]


def main(variants: list[tuple[int, int]] = VARIANTS) -> None:
    results = asyncio.run(run(variants))
    print(f"sender: rate {RATE:g}/s, emulator limits on (30/s overall, 1/s per chat), drain every {TICK:g}s")
    print(table(HEADERS, [figures.row() for figures in results]))
