"""Routers that can be built more than once.

aiogram attaches a Router to exactly one parent, but tests and the sandbox build a fresh Dispatcher per
bot (and a restart builds another). A `RouterSpec` records handlers with the usual decorators and
builds a new Router each time `build()` is called.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Router
from aiogram.filters import Filter
from aiogram.types import TelegramObject
from magic_filter import MagicFilter

Handler = Callable[..., Any]


class RouterSpec:
    def __init__(self, name: str, *, message_filters: tuple[Any, ...] = ()) -> None:
        self.name = name
        self._message_filters = message_filters
        self._handlers: list[tuple[str, tuple[Any, ...], Handler]] = []

    def _record(self, observer: str, filters: tuple[Any, ...]) -> Callable[[Handler], Handler]:
        def decorator(handler: Handler) -> Handler:
            self._handlers.append((observer, filters, handler))
            return handler

        return decorator

    def message(self, *filters: Any) -> Callable[[Handler], Handler]:
        return self._record("message", filters)

    def callback_query(self, *filters: Any) -> Callable[[Handler], Handler]:
        return self._record("callback_query", filters)

    def my_chat_member(self, *filters: Any) -> Callable[[Handler], Handler]:
        return self._record("my_chat_member", filters)

    def errors(self, *filters: Any) -> Callable[[Handler], Handler]:
        return self._record("errors", filters)

    def build(self) -> Router:
        router = Router(name=self.name)
        if self._message_filters:
            router.message.filter(*map(inline, self._message_filters))
        for observer, filters, handler in self._handlers:
            getattr(router, observer).register(handler, *map(inline, filters))
        return router


class InlineMagic(Filter):
    """A magic filter (`F.chat.type == "private"`) evaluated on the event loop.

    aiogram runs every synchronous filter through `asyncio.to_thread`; for a magic filter — a few
    attribute reads — the thread hop costs far more than the check, on every update and every router.
    """

    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> Any:
        return self.magic.resolve(event)


def inline(candidate: Any) -> Any:
    return InlineMagic(candidate) if isinstance(candidate, MagicFilter) else candidate
