"""Exactly-once effects: a state-changing update re-delivered after a crash applies once.

The crash is simulated in-process at the worst moment: right after the handling's first write transaction
committed and before Telegram learnt the update was handled (polling: no getUpdates with a higher offset;
webhook: the POST never returned). The process is abandoned without its shutdown flush, then a new one
starts on the same database and emulator, which delivers the update again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, create_app, serve_webhook
from bot.sandbox.driver import ChatDriver
from bot.sandbox.emulator import Emulator
from flows.clock import FakeClock
from storage.db import Tx, current_update_id
from tests.conftest import Harness, make_settings
from tests.loyalty_helpers import MANAGER_ID, balance, card_code, customer, deliver, hire
from tests.test_running import free_port


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rate_limits": False}


class Crash(BaseException):
    """The process dies: nothing after this point runs (not an Exception, so nothing catches it)."""


def crash_after_next_effect(app: App) -> None:
    """The next write transaction committed while an update is handled is the last thing `app` does."""
    original = app.db.transaction

    @asynccontextmanager
    async def dying() -> AsyncIterator[Tx]:
        async with original() as tx:
            yield tx
        if current_update_id() is not None:
            raise Crash

    app.db.transaction = dying  # type: ignore[method-assign]


async def abandon(app: App) -> None:
    """What a killed process leaves: no shutdown flush; only sockets and the SQLite threads are released."""
    await app.bot.session.close()
    await app.db.close()


async def crash_polling(harness: Harness) -> None:
    assert harness._polling is not None
    with contextlib.suppress(Crash, asyncio.CancelledError):
        await harness._polling
    harness._polling = None
    await abandon(harness.app)


async def purchases_and_receipts(harness: Harness, tg_id: int = 1001) -> tuple[int, int]:
    buyer = await customer(harness, tg_id)
    purchases = await harness.services["purchases_repo"].of_customer(buyer.id)
    receipts = await harness.app.db.fetch_value(
        "SELECT COUNT(*) FROM outbox WHERE customer_id = ? AND idempotency_key LIKE 'receipt:%'", (buyer.id,)
    )
    return len(purchases), int(receipts)


async def test_a_sale_replayed_after_a_crash_in_polling_mode_is_recorded_once(
    harness: Harness, chat: ChatDriver
) -> None:
    code = await card_code(chat)
    await hire(harness)
    crash_after_next_effect(harness.app)
    update = harness.emu.send_message(5001, f"/sale {code} 1500")
    await crash_polling(harness)
    assert harness.emu.pending_updates()[0]["update_id"] == update["update_id"]  # never confirmed
    await harness.start()
    await harness.emu.wait_processed(update["update_id"])
    assert await purchases_and_receipts(harness) == (1, 1)
    assert await balance(harness) == 45 + 50  # 3% of 1500 and the welcome gift, once
    await deliver(harness, 2)
    assert sum("Thank you for your purchase" in str(m) for m in chat.messages()) == 1


async def test_a_points_correction_replayed_after_a_crash_applies_once(harness: Harness, chat: ChatDriver) -> None:
    code = await card_code(chat)
    await hire(harness, MANAGER_ID, "manager", "Ira")
    crash_after_next_effect(harness.app)
    update = harness.emu.send_message(MANAGER_ID, f"/points {code} +75 sorry for the wait")
    await crash_polling(harness)
    harness.clock.advance(timedelta(seconds=30))  # the restart takes a while
    await harness.start()
    await harness.emu.wait_processed(update["update_id"])
    assert await balance(harness) == 75
    entries = await harness.app.db.fetch_value("SELECT COUNT(*) FROM points_ledger")
    assert entries == 1


async def test_the_processed_mark_commits_with_the_effect_not_behind_it(
    harness: Harness, chat: ChatDriver
) -> None:
    code = await card_code(chat)
    cashier = await hire(harness)
    await cashier.send(f"/sale {code} 1000")
    # No flush has run: the mark of the sale's update is in the database anyway, with the purchase.
    last = max(u for (u,) in await harness.app.db.fetch_all("SELECT update_id FROM processed_updates"))
    marked = await harness.app.db.fetch_value(
        "SELECT COUNT(*) FROM processed_updates WHERE update_id = ?", (last,)
    )
    assert marked == 1
    assert await harness.services["purchases_repo"].count() == 1


async def test_a_sale_replayed_after_a_crash_in_webhook_mode_is_recorded_once(
    emu: Emulator, tmp_path: Path, clock: FakeClock
) -> None:
    port = free_port()
    settings = make_settings(
        tmp_path,
        emu.api_base,
        webhook_url=f"http://127.0.0.1:{port}",
        webhook_host="127.0.0.1",
        webhook_port=port,
        webhook_secret="s3cret-token",
    )

    async def serve() -> tuple[App, asyncio.Event, asyncio.Task[None]]:
        app = await create_app(settings, clock=clock)
        stop = asyncio.Event()
        calls = len(emu.calls)
        serving = asyncio.create_task(serve_webhook(app, stop, scheduler=False))
        await emu.wait_for_call("setWebhook", after=calls)
        return app, stop, serving

    app, stop, serving = await serve()
    chat = ChatDriver(emu, 1001, first_name="Anna")
    await chat.send("/start")
    code = await card_code(chat)
    harness = Harness(emu, settings, clock)
    harness.app = app
    cashier = await hire(harness)
    crash_after_next_effect(app)
    update = emu.send_message(cashier.user_id, f"/sale {code} 1500")
    await emu.wait_processed(update["update_id"])  # the POST failed: Telegram will send it again
    stop.set()
    await serving
    await abandon(app)

    app, stop, serving = await serve()
    harness.app = app
    try:
        await emu.redeliver(update)
        assert await purchases_and_receipts(harness) == (1, 1)
        assert await balance(harness) == 95
    finally:
        stop.set()
        await serving
        await app.close()
