"""What-if variants for `hotpath --what-if` and `sender --what-if`: recommended fixes, in this process only.

They do not change the product: each patches one freshly built App, so the figures show what a fix
would buy before anyone writes it. They lean on private attributes (aiosqlite's worker, the
Database's lock), which is acceptable for an experiment and not for product code.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.types import Message

from bot.app import App
from flows.outbox import DrainReport, Sender
from storage import customers as customers_storage
from storage.customers import Customer
from storage.outbox import QueuedMessage
from storage.timefmt import to_db


def _filters(router: Router) -> Iterator[FilterObject]:
    for observer in router.observers.values():
        for handler in [observer._handler, *observer.handlers]:
            yield from handler.filters or []
    for child in router.sub_routers:
        yield from _filters(child)


def async_filters(app: App) -> int:
    """Fix A: every synchronous filter (`F.…` magic filters) runs inline instead of via asyncio.to_thread.

    aiogram runs any non-coroutine callback with `asyncio.to_thread`, so each `F.chat.type == "private"`
    is a round trip through the default thread pool. Returns how many filters were converted.
    """
    converted = 0
    for item in _filters(app.dp):
        if not item.awaitable:
            item.callback = _inline(item.callback)
            item.awaitable = True
            converted += 1
    return converted


def _inline(callback: Any) -> Any:
    async def run(*args: Any, **kwargs: Any) -> Any:
        return callback(*args, **kwargs)

    return run


def _upsert_one(
    conn: sqlite3.Connection, update_id: int, stamp: str, values: tuple[Any, ...]
) -> sqlite3.Row | None:
    fresh = conn.execute(
        "INSERT INTO processed_updates (update_id, seen_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (update_id, stamp),
    ).rowcount
    return conn.execute(customers_storage._UPSERT, values).fetchone() if fresh == 1 else None


def batched_upsert(app: App) -> None:
    """Fix D: group commit. Upserts of updates handled at the same moment share one
    writer-thread call and one transaction, so the hand-off and the COMMIT are paid once per batch."""
    db = app.db
    writer = db._writer
    repo = app.services["customers"].repo
    waiting: list[tuple[tuple[Any, ...], asyncio.Future[sqlite3.Row | None]]] = []

    async def flush() -> None:
        await asyncio.sleep(0)  # let the other updates of this moment join the batch
        while waiting:
            batch = waiting[:]
            del waiting[:]
            async with db._lock:
                try:
                    rows = await writer._execute(
                        partial(_upsert_batch_in_thread, writer._conn, [b[0] for b in batch])
                    )
                except Exception as exc:
                    for _, future in batch:
                        future.set_exception(exc)
                    continue
            for (_, future), row in zip(batch, rows, strict=True):
                future.set_result(row)

    async def upsert_seen(
        update_id: int,
        tg_id: int,
        first_name: str | None,
        last_name: str | None,
        username: str | None,
        language: str | None,
        now: datetime,
    ) -> Customer | None:
        stamp = to_db(now)
        future: asyncio.Future[sqlite3.Row | None] = asyncio.get_running_loop().create_future()
        waiting.append(
            ((update_id, stamp, (tg_id, first_name, last_name, username, language, stamp, stamp)), future)
        )
        if len(waiting) == 1:
            asyncio.get_running_loop().create_task(flush())
        row = await future
        return None if row is None else customers_storage._customer(row)

    repo.upsert_seen = upsert_seen


def _upsert_batch_in_thread(
    conn: sqlite3.Connection, batch: list[tuple[int, str, tuple[Any, ...]]]
) -> list[sqlite3.Row | None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        rows = [_upsert_one(conn, update_id, stamp, values) for update_id, stamp, values in batch]
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return rows


def write_behind(app: App) -> None:
    """Fix E (instead of D): a returning customer whose names did not change comes from memory; the
    refresh of last-seen and the update's dedupe mark are queued and written in the background, in
    batches. First contact and changed names still go through the shipped upsert.

    This takes the write off the update's path, at a price a product fix must pay: evict the cached
    customer on every write to it (all in CustomersRepo), and accept that a replay arriving before the
    batch commits (webhook retries, `handle_as_tasks=False`) is not recognised.
    """
    db, writer = app.db, app.db._writer
    repo = app.services["customers"].repo
    upsert_now = repo.upsert_seen
    known: dict[int, Customer] = {}
    behind: list[tuple[int, str, tuple[Any, ...]]] = []
    flushing: list[asyncio.Task[None]] = []

    async def flush() -> None:
        await asyncio.sleep(0.05)
        batch = behind[:]
        del behind[:]
        async with db._lock:
            await writer._execute(partial(_upsert_batch_in_thread, writer._conn, batch))

    async def upsert_seen(
        update_id: int,
        tg_id: int,
        first_name: str | None,
        last_name: str | None,
        username: str | None,
        language: str | None,
        now: datetime,
    ) -> Customer | None:
        cached = known.get(tg_id)
        if cached is None or (cached.first_name, cached.last_name, cached.username) != (
            first_name,
            last_name,
            username,
        ):
            customer = await upsert_now(update_id, tg_id, first_name, last_name, username, language, now)
            if customer is not None:
                known[tg_id] = customer
            return customer
        stamp = to_db(now)
        behind.append((update_id, stamp, (tg_id, first_name, last_name, username, language, stamp, stamp)))
        if len(behind) == 1:
            flushing.append(asyncio.get_running_loop().create_task(flush()))
        return cached

    close = app.close

    async def close_after_flush() -> None:
        await asyncio.gather(*flushing)
        await close()

    repo.upsert_seen = upsert_seen
    app.close = close_after_flush  # type: ignore[method-assign]


def known_in_memory(app: App) -> None:
    """Fix G: two reads every plain text makes, 6 of its round trips, come from memory: the sender's
    staff role (the `sales` router's `IsStaff()`) and whether the customer has an open lead (`handoff`'s
    `InConversation()`). Loaded once here; a product fix would refresh them on every staff change and
    lead open/close (or return the open lead with the customer's row)."""
    staff_repo, leads = app.services["staff"].repo, app.services["handoff"].leads
    read_lead = leads.open_for
    roles: dict[int, str] | None = None
    open_leads: set[int] | None = None

    async def role(tg_id: int) -> str | None:
        nonlocal roles
        if roles is None:
            roles = {member.tg_id: member.role for member in await staff_repo.active()}
        return roles.get(tg_id)

    async def open_for(customer_id: int) -> Any:
        nonlocal open_leads
        if open_leads is None:
            rows = await app.db.fetch_all("SELECT customer_id FROM leads WHERE state IN ('open', 'taken')")
            open_leads = {row[0] for row in rows}
        return await read_lead(customer_id) if customer_id in open_leads else None

    staff_repo.role = role
    leads.open_for = open_for


# Routers whose message handlers are all Command / CommandStart filters.
COMMAND_ROUTERS = ("deeplinks", "start", "profile", "sequences", "lead_stats", "loyalty", "staff")


async def _is_command(message: Message) -> bool:
    return (message.text or message.caption or "").startswith("/")


def commands_gate(app: App) -> None:
    """Fix C: routers whose message handlers are all commands check "is it a command?" once, first.

    As shipped, a plain text is parsed by every `Command` filter of these routers before the FAQ
    router (or the fallback) answers it.
    """
    for router in app.dp.sub_routers:
        if router.name in COMMAND_ROUTERS:
            handler = router.message._handler
            handler.filters = [FilterObject(_is_command), *(handler.filters or [])]


VARIANTS: dict[str, list[Callable[[App], object]]] = {
    "A: async filters": [async_filters],
    "A+C+D": [async_filters, commands_gate, batched_upsert],
    "A+C+D+G": [async_filters, commands_gate, batched_upsert, known_in_memory],
    "A+C+E+G": [async_filters, commands_gate, write_behind, known_in_memory],
}


class PacedSender(Sender):
    """Fix F (sender): one drain keeps going while it holds due rows. A chat that got a message less
    than a second ago waits for its turn inside the drain (the first ready row goes next) instead of
    being skipped until a later drain; as shipped it is skipped, and the next drain, exactly 1 s later,
    finds it 1 s minus a few ms after its last message and skips it again."""

    async def drain(self, limit: int = 500) -> DrainReport:
        report = DrainReport()
        async with self._lock:
            waiting = await self.outbox.due(self.clock.now(), limit)
            held: set[int] = set()  # chats whose next row waits for a reply target: nothing overtakes it
            gate = asyncio.Semaphore(self.policy.concurrency)
            async with asyncio.TaskGroup() as group:
                while rows := [r for r in waiting if r.chat_id not in held]:
                    row = next((r for r in rows if not self._too_soon_for(r.chat_id)), None)
                    if row is None:
                        await self.clock.sleep(self._until_a_chat_is_free(rows))
                        continue
                    waiting.remove(row)
                    if not await self._allowed(row, report):
                        continue
                    resolved = await self._resolve_reply(row)
                    if resolved is None:
                        held.add(row.chat_id)
                        report.add("waiting")
                        continue
                    await gate.acquire()
                    await self._pace()
                    if not await self.outbox.claim(resolved.id, self.clock.now()):
                        gate.release()
                        continue
                    self._last_to_chat[resolved.chat_id] = self.clock.monotonic()
                    group.create_task(self._send(resolved, report, gate))
        self._forget_old_chats()
        return report

    def _until_a_chat_is_free(self, rows: list[QueuedMessage]) -> float:
        now, policy = self.clock.monotonic(), self.policy
        free_at = (
            self._last_to_chat[r.chat_id]
            + (policy.per_group_interval if r.chat_id < 0 else policy.per_chat_interval)
            for r in rows
        )
        return max(0.001, min(free_at) - now)


def paced_sender(app: App) -> None:
    old = app.jobs.sender
    app.jobs.sender = PacedSender(old.outbox, old.customers, old.messenger, old.clock, old.policy)
