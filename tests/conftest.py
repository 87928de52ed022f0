"""Shared fixtures: a real bot, over real HTTP, against the local Bot API emulator, on a fresh SQLite file
(or a fresh PostgreSQL database with NURTURE_TEST_ENGINE=postgresql, see tests/engines.py)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, create_app
from bot.polling import PollingLimits
from bot.sandbox.driver import ChatDriver
from bot.sandbox.emulator import Emulator
from bot.settings import Settings, load_settings
from flows.clock import FakeClock
from flows.outbox import DrainReport
from storage.db import Database
from tests import engines

OWNER_ID = 900
TOKEN = "123456:test-token"


@dataclass
class Harness:
    """One running bot: its emulator, app, clock and the polling task; can be restarted on the same data."""

    emu: Emulator
    settings: Settings
    clock: FakeClock
    app: App = field(init=False)
    _polling: asyncio.Task[None] | None = None
    # Production's polling loop, concurrent. Tests move the fake clock by hours between steps, so
    # parking slow updates and giving up stuck ones are off here (tests/test_polling.py turns them on):
    # a confirmed update is then always a handled one, which `emu.wait_processed` relies on.
    limits: PollingLimits = field(
        default_factory=lambda: PollingLimits(update_timeout=math.inf, park_after=math.inf)
    )

    async def start(self) -> App:
        self.app = await create_app(self.settings, clock=self.clock)
        self._polling = asyncio.create_task(
            self.app.run_polling(handle_signals=False, scheduler=False, limits=self.limits)
        )
        return self.app

    async def stop(self) -> None:
        if self._polling is not None:
            await self.app.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
            self._polling = None
        await self.app.close()

    async def restart(self) -> App:
        await self.stop()
        return await self.start()

    async def tick(self) -> DrainReport:
        """Run the periodic jobs once, as the scheduler would."""
        return await self.app.tick()

    async def advance(self, **delta: float) -> DrainReport:
        """Move the clock forward (e.g. `minutes=5`) and run the periodic jobs."""
        self.clock.advance(timedelta(**delta))
        return await self.app.tick()

    def chat(self, user_id: int = 1001, **kwargs: Any) -> ChatDriver:
        kwargs.setdefault("first_name", "Anna")
        return ChatDriver(self.emu, user_id, **kwargs)

    @property
    def services(self) -> dict[str, Any]:
        return self.app.services


def make_settings(tmp_path: Path, api_base: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "telegram_api_url": api_base,
        "database_path": tmp_path / "bot.db",
        "owner_ids": str(OWNER_ID),
        "timezone": "Europe/Kyiv",
        "console_port": 0,  # the console, when a test starts it, on any free port
    }
    values.update(overrides)
    if engines.ON_POSTGRES and "database_url" not in values:
        values["database_url"] = engines.database_url_for(Path(values["database_path"]))
    return load_settings(_env_file=None, **values)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "engines(*names, reason): the engines this test can run on, and why not on the others"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip, saying why, what cannot run on this session's engine (tests/engines.py)."""
    for item in items:
        marker = item.get_closest_marker("engines")
        if marker is not None and engines.ENGINE not in marker.args:
            item.add_marker(pytest.mark.skip(reason=f"not on {engines.ENGINE}: {marker.kwargs['reason']}"))
        elif engines.ON_POSTGRES and not engines.RUN_ALL:
            why = engines.NOT_ON_POSTGRES.get(item.path.stem) or engines.NOT_ON_POSTGRES.get(item.path.parent.name)
            if why:
                item.add_marker(pytest.mark.skip(reason=f"not on postgresql: {why}"))


@pytest.fixture(autouse=True)
def _fresh_databases() -> Iterator[None]:
    """On PostgreSQL, drop the databases a test used once it ends (the disk stays small)."""
    yield
    if engines.ON_POSTGRES:
        engines.forget_databases()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh, migrated database on the engine under test, for tests of the storage layer alone."""
    opened = await Database.open(engines.target_for(tmp_path))
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def databases(tmp_path: Path) -> AsyncIterator[tuple[Database, Database]]:
    """Two pools on one fresh database: what two bot processes have."""
    target = engines.target_for(tmp_path)
    first = await Database.open(target)
    second = await Database.open(target)
    try:
        yield first, second
    finally:
        await second.close()
        await first.close()


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    """Override (or parametrize) to change the emulator's limits for a test."""
    return {}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def emu(emulator_options: dict[str, Any], clock: FakeClock) -> AsyncIterator[Emulator]:
    # The emulator's rate limits run on the test's clock: when the bot waits out a 429, time moves for both.
    emulator = Emulator(**{"monotonic": clock.monotonic, **emulator_options})
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change settings for every test there."""
    return {}


@pytest.fixture
async def harness(
    emu: Emulator, tmp_path: Path, settings_overrides: dict[str, Any], clock: FakeClock
) -> AsyncIterator[Harness]:
    settings = make_settings(tmp_path, emu.api_base, **settings_overrides)
    h = Harness(emu, settings, clock)
    await h.start()
    try:
        yield h
    finally:
        await h.stop()


@pytest.fixture
def chat(harness: Harness) -> ChatDriver:
    return harness.chat()
