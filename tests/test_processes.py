"""Several bot processes on one PostgreSQL database: what one process changes, the others follow.

Two apps, each with its own connection pool and listening connection, serve the webhook on their own
ports; the emulator's webhook is pointed at one or the other (`Pair.route`), as a load balancer would send
the next update to either. Every test first makes the second app read the state in question, so what it
kept in memory would be stale without the signal (`storage.signals`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.app import WEBHOOK_PATH, App, create_app, serve_webhook
from bot.sandbox.emulator import Emulator
from console.auth import COOKIE
from flows.clock import FakeClock
from storage import postgres_signals
from storage.signals import CHANNEL, STAFF
from tests.conftest import OWNER_ID, Harness, make_settings
from tests.console_helpers import http_login
from tests.handoff_helpers import MANAGERS, texts
from tests.loyalty_helpers import CASHIER_ID, card_code, hire
from tests.test_running import free_port

pytestmark = pytest.mark.engines("postgresql", reason="several processes share a database only on PostgreSQL")

SECRET = "s3cret-token-of-at-least-32-characters"
PRICES = "Single class — 300 ₴"


@dataclass
class Node:
    """One bot process: its app, the webhook it serves and a harness over it (for the test helpers)."""

    app: App
    url: str
    stop: asyncio.Event
    serving: asyncio.Task[None]
    harness: Harness

    async def settled(self) -> None:
        """Every change committed so far was heard here and applied."""
        await self.app.services["signals"].settled()


@dataclass
class Pair:
    emu: Emulator
    a: Node
    b: Node

    async def route(self, node: Node) -> None:
        """The next updates go to `node` (the load balancer's choice), once it heard every change so far."""
        await node.settled()
        await node.app.bot.set_webhook(
            node.url, secret_token=SECRET, allowed_updates=node.app.dp.resolve_used_update_types()
        )


async def start_node(emu: Emulator, tmp_path: Path, clock: FakeClock, **overrides: Any) -> Node:
    port = free_port()
    settings = make_settings(
        tmp_path,  # the same path: the same database for both
        emu.api_base,
        webhook_url=f"http://127.0.0.1:{port}",
        webhook_host="127.0.0.1",
        webhook_port=port,
        webhook_secret=SECRET,
        **overrides,
    )
    app = await create_app(settings, clock=clock)
    stop = asyncio.Event()
    calls = len(emu.calls)
    serving = asyncio.create_task(serve_webhook(app, stop, scheduler=False))
    await emu.wait_for_call("setWebhook", after=calls)
    harness = Harness(emu, settings, clock)
    harness.app = app
    return Node(app, f"http://127.0.0.1:{port}{WEBHOOK_PATH}", stop, serving, harness)


async def stop_node(node: Node) -> None:
    node.stop.set()
    await node.serving
    await node.app.close()


@pytest.fixture
async def pair(emu: Emulator, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Pair]:
    a = await start_node(emu, tmp_path, clock)
    b = await start_node(emu, tmp_path, clock)
    try:
        yield Pair(emu, a, b)
    finally:
        await stop_node(b)
        await stop_node(a)


async def test_a_cashier_hired_through_one_process_sells_through_another(pair: Pair) -> None:
    anna = pair.a.harness.chat(1001, first_name="Anna")
    await pair.route(pair.b)
    code = await card_code(anna)
    assert await pair.b.app.services["staff"].role_of(CASHIER_ID) is None  # B keeps the team in memory now
    await pair.route(pair.a)
    cashier = await hire(pair.a.harness)
    await pair.route(pair.b)
    replies = await cashier.send(f"/sale {code} 1500")
    assert "1,500" in texts(replies) or "1 500" in texts(replies), texts(replies)
    assert await pair.b.app.services["purchases_repo"].count() == 1


async def test_a_revoke_through_one_process_ends_access_through_another(pair: Pair) -> None:
    await pair.route(pair.a)
    code = await card_code(pair.a.harness.chat(1001, first_name="Anna"))
    cashier = await hire(pair.a.harness)
    assert await pair.b.app.services["staff"].role_of(CASHIER_ID) == "cashier"  # heard, and kept
    assert await pair.a.app.services["staff"].revoke(CASHIER_ID, OWNER_ID)
    await pair.route(pair.b)
    replies = await cashier.send(f"/sale {code} 100")
    assert await pair.b.app.services["purchases_repo"].count() == 0, texts(replies)


async def test_content_saved_through_one_process_answers_in_another(pair: Pair) -> None:
    anna = pair.a.harness.chat(1001, first_name="Anna")
    await pair.route(pair.b)
    assert "Fresh help from the console" not in texts(await anna.send("/help"))
    edits = pair.a.app.services["content_edits"]
    current = await edits.current()
    saved = await edits.save_text("help", {"en": "Fresh help from the console."}, OWNER_ID, current.version)
    assert saved.ok, saved
    await pair.route(pair.b)
    assert "Fresh help from the console." in texts(await anna.send("/help"))
    assert pair.b.app.services["live_content"].version == saved.version


async def test_a_late_switch_never_takes_a_process_back_to_an_older_version(pair: Pair) -> None:
    edits, live_b = pair.a.app.services["content_edits"], pair.b.app.services["live_content"]
    first = await edits.save_text("help", {"en": "First."}, OWNER_ID, (await edits.current()).version)
    await pair.b.settled()
    older = live_b.current
    second = await edits.save_text("help", {"en": "Second."}, OWNER_ID, first.version)
    await pair.b.settled()
    await live_b.switch(older, version=first.version)  # as a signal heard late would ask
    assert live_b.version == second.version
    assert "Second." in str(live_b.current.texts_for("en")("help"))


async def test_a_phrasing_taught_through_one_process_is_answered_by_another(pair: Pair) -> None:
    anna, boris = pair.a.harness.chat(1001), pair.a.harness.chat(1002, first_name="Boris")
    owner = pair.a.harness.chat(OWNER_ID, first_name="Owner")
    await pair.route(pair.b)
    assert PRICES not in texts(await boris.send("is ther a studnet discount"))  # B's index, before
    await pair.route(pair.a)
    await anna.send("Is there a student discount?")
    group = [m for m in await owner.send("/questions") if "student discount" in (m.plain_text or "") and m.buttons]
    assert group
    await owner.click("Another entry…", message=group[0])
    assert "now answered by" in texts(await owner.click("💳 Prices", message=group[0]))
    await pair.route(pair.b)
    assert PRICES in texts(await boris.send("is ther a studnet discount"))


async def test_a_broadcast_begun_through_one_process_continues_through_another(pair: Pair) -> None:
    boss = pair.a.harness.chat(OWNER_ID, first_name="Owner")
    await pair.route(pair.a)
    await boss.send("/broadcast")
    await pair.route(pair.b)
    assert "Now send the message" in texts(await boss.send("everyone"))


async def test_a_console_session_made_on_one_process_is_accepted_by_another(pair: Pair) -> None:
    await pair.route(pair.a)
    client = await http_login(pair.a.harness)
    try:
        cookie = next(c.value for c in client.cookie_jar if c.key == COOKIE)
        base_b = await pair.b.app.start_console()
        async with client.get(f"{base_b}/", headers={"Cookie": f"{COOKIE}={cookie}"}, allow_redirects=False) as r:
            assert r.status == 200, r.headers.get("Location")
    finally:
        await client.close()


async def test_after_its_listening_connection_is_cut_a_process_reads_the_team_again(pair: Pair) -> None:
    b_staff = pair.b.app.services["staff"]
    assert await b_staff.role_of(CASHIER_ID) is None
    signals = pair.b.app.services["signals"]
    heard: list[str] = []

    async def note() -> None:
        heard.append("staff")

    signals.subscribe(STAFF, note)
    conn = await asyncpg.connect(pair.a.harness.settings.database_url.get_secret_value())  # type: ignore[union-attr]
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'nurture-bot signals' AND datname = current_database()"
        )
    finally:
        await conn.close()
    # Neither process heard of this change (it bypassed the flows): only a reconnect's re-read finds it.
    await pair.a.app.db.execute(
        "INSERT INTO staff (tg_id, role, name, added_by, added_at) VALUES (?, 'cashier', 'Olena', ?, ?)",
        (CASHIER_ID, OWNER_ID, "2026-01-01 00:00:00"),
    )
    await pair.b.settled()
    assert heard == ["staff"]
    assert await b_staff.role_of(CASHIER_ID) == "cashier"
    await pair.a.settled()  # A's listener came back as well


async def test_the_managers_group_moved_as_one_process_learned_is_used_by_another(
    emu: Emulator, tmp_path: Path, clock: FakeClock
) -> None:
    moved = MANAGERS - 1
    a = await start_node(emu, tmp_path, clock, manager_chat_id=MANAGERS)
    b = await start_node(emu, tmp_path, clock, manager_chat_id=MANAGERS)
    try:
        assert b.app.services["handoff"].is_manager_chat(MANAGERS)
        await a.app.services["sender"].on_migrate(MANAGERS, moved)  # Telegram told A, sending there
        await b.settled()
        assert b.app.services["handoff"].is_manager_chat(moved)
        assert b.app.services["feedback"].alert_chats == (moved,)
    finally:
        await stop_node(b)
        await stop_node(a)


async def test_a_listening_connection_gone_silent_is_replaced_and_everything_read_again(
    emu: Emulator, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_signals, "HEARTBEAT", 0.05)  # seconds of the network, not of the clock
    monkeypatch.setattr(postgres_signals, "HEARTBEAT_WAIT", 0.3)
    node = await start_node(emu, tmp_path, clock)
    try:
        signals = node.app.services["signals"]
        read_again = asyncio.Event()

        async def note() -> None:
            read_again.set()

        signals.subscribe(STAFF, note)
        silent = signals._conn
        await silent.remove_listener(CHANNEL, signals._heard)  # open, but deaf: as a dropped network path
        await asyncio.wait_for(read_again.wait(), 5)
        assert signals._conn is not silent and silent.is_closed()
        await node.settled()
    finally:
        await stop_node(node)
