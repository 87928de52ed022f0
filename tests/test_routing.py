"""The routers' visits (`handlers.routing.LeanRouter`): cheaper than aiogram's, with aiogram's order and meaning.

A small Dispatcher of our kind polls the emulator; its handlers answer with what they were given, so each
test reads the routing's decisions from the replies.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, Filter
from aiogram.types import Message

from bot.sandbox.driver import ChatDriver
from bot.sandbox.emulator import Emulator
from handlers.routing import LeanDispatcher, RouterSpec, asked_for
from tests.conftest import Harness


class Gives(Filter):
    """Passes (or not) and adds `extra` to the handler's data."""

    def __init__(self, passes: bool, **extra: Any) -> None:
        self.passes = passes
        self.extra = extra

    async def __call__(self, message: Message) -> bool | dict[str, Any]:
        return self.extra if self.passes else False


class Sees(Filter):
    """Passes when the data holds `name` with `value` (what earlier filters added)."""

    def __init__(self, value: str) -> None:
        self.value = value

    async def __call__(self, message: Message, mark: str | None = None) -> bool:
        return mark == self.value


def routers() -> list[Router]:
    first = RouterSpec("first", message_filters=(F.chat.type == "private",))

    @first.message(Command("ping"))
    async def ping(message: Message) -> None:
        await message.answer("pong")

    @first.message(F.text == "skip me")
    async def skipping(message: Message) -> None:
        raise SkipHandler

    @first.message(F.text == "skip me")
    async def after_skip(message: Message) -> None:
        await message.answer("the next handler")

    @first.message(Gives(True, mark="half"), F.text == "never")  # passes one filter of two
    async def half(message: Message) -> None:
        await message.answer("half")

    @first.message(Sees("half"))  # the half-passed handler's data must not have stayed behind
    async def leaked(message: Message) -> None:
        await message.answer("leaked")

    @first.message(Gives(True, mark="both"), Sees("both"), F.text == "both")  # sees the first one's data
    async def both(message: Message, mark: str, service: str) -> None:
        await message.answer(f"both {mark} {service}")

    guarded = RouterSpec("guarded", message_filters=(Gives(False),))

    @guarded.message()
    async def behind_guard(message: Message) -> None:
        await message.answer("guard passed")

    last = RouterSpec("last")

    @last.message()
    async def anything(message: Message, mark: str | None = None) -> None:
        await message.answer(f"fallback {mark}")

    return [first.build(), guarded.build(), last.build()]


@contextlib.asynccontextmanager
async def polling(emu: Emulator, services: dict[str, Any]) -> AsyncIterator[LeanDispatcher]:
    bot = Bot(emu.token, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.api_base)))
    dp = LeanDispatcher()
    dp.include_routers(*routers())
    dp.carry(services)
    seen = len(emu.calls)
    task = asyncio.create_task(
        dp.start_polling(bot, handle_as_tasks=False, polling_timeout=1, handle_signals=False)
    )
    try:
        await emu.wait_for_call("getUpdates", after=seen)
        yield dp
    finally:
        await dp.stop_polling()
        await task
        await bot.session.close()


@pytest.fixture
async def chat(emu: Emulator) -> AsyncIterator[ChatDriver]:
    async with polling(emu, {"service": "the service", "unused": "nobody asks"}):
        yield ChatDriver(emu, 1001)


async def replies(chat: ChatDriver, text: str) -> list[str]:
    return [message.text or "" for message in await chat.send(text)]


async def test_a_command_reaches_its_handler_also_after_spaces(chat: ChatDriver) -> None:
    assert await replies(chat, "/ping") == ["pong"]
    assert await replies(chat, "   /ping") == ["pong"]  # as aiogram's Command reads it


async def test_a_text_that_is_no_command_passes_the_command_handlers(chat: ChatDriver) -> None:
    assert await replies(chat, "ping") == ["fallback None"]


async def test_skip_handler_moves_on_to_the_next_handler(chat: ChatDriver) -> None:
    assert await replies(chat, "skip me") == ["the next handler"]


async def test_a_filters_data_joins_only_when_all_the_handlers_filters_pass(chat: ChatDriver) -> None:
    # "half" added mark="half", then its second filter failed: the handlers after it do not see the mark
    # (the guarded router refuses, and "leaked" would answer if the mark had stayed).
    assert await replies(chat, "hello") == ["fallback None"]
    # "both": its second filter sees what its first one added, and so does the handler.
    assert await replies(chat, "both") == ["both both the service"]


async def test_the_dispatcher_carries_only_the_services_its_handlers_ask_for(emu: Emulator) -> None:
    async with polling(emu, {"service": "s", "unused": "u"}) as dp:
        assert "service" in dp.workflow_data
        assert "unused" not in dp.workflow_data
        assert asked_for(dp) is not None


async def test_the_bot_carries_what_its_handlers_ask_for_and_no_fsm(harness: Harness) -> None:
    data = harness.app.dp.workflow_data
    assert {"faq", "customers", "content", "staff", "handoff"} <= data.keys()
    assert "people_search" not in data  # the console's, no handler asks for it
    assert "people_search" in harness.services
    chat = harness.chat()
    replies = await chat.send("/start")
    assert replies


async def test_start_up_handlers_get_what_they_ask_for() -> None:
    dp = LeanDispatcher()
    dp.include_routers(*routers())
    greeted: list[str] = []

    async def on_start(greeting: str) -> None:
        greeted.append(greeting)

    dp.startup.register(on_start)
    dp.carry({"greeting": "hello", "unused": "u"})
    await dp.emit_startup(**dp.workflow_data)
    assert greeted == ["hello"]
    assert "unused" not in dp.workflow_data
