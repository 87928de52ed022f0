"""Routers that can be built more than once.

aiogram attaches a Router to exactly one parent, but tests and the sandbox build a fresh Dispatcher per
bot (and a restart builds another). A `RouterSpec` records handlers with the usual decorators and
builds a new Router each time `build()` is called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiogram import Dispatcher, Router
from aiogram.dispatcher.event.bases import REJECTED, UNHANDLED, SkipHandler
from aiogram.dispatcher.event.handler import FilterObject, HandlerObject
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.filters import Command, Filter
from aiogram.types import Message, TelegramObject
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
        router = LeanRouter(name=self.name)
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


class LeanRouter(Router):
    """A Router whose visits cost what they check.

    aiogram visits every router on every update in the order they were included, and at each one wraps
    the visit in the router's outer middlewares (a `functools.wraps` and a partial even when there are
    none), checks the router's filters, then each handler's, copying the update's data (forty-odd
    entries: the services) for every router, handler and filter it passes. A plain text from a customer
    goes past a dozen routers and twenty handlers on its way to the FAQ, so those copies cost more than
    answering it.

    Here a visit copies the data once per router and hands each filter only the names it asks for; a
    message that is not a command skips the handlers that need one (an aiogram `Command` filter) without
    asking them. Otherwise it is aiogram's order and meaning: a router's filters guard its handlers and
    its children, a filter's dict joins the data only if the handler's filters all pass, `SkipHandler`
    moves on to the next handler, the routers' inner middlewares wrap the handler. A router with outer
    middlewares of its own is visited the aiogram way.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Per event type: the observer's handler count when worked out, and each handler's command prefixes.
        self._sifted: dict[str, tuple[int, list[tuple[HandlerObject, str | None]]]] = {}

    async def propagate_event(self, update_type: str, event: TelegramObject, **kwargs: Any) -> Any:
        return await self._visit(update_type, event, kwargs)  # `kwargs` is already this visit's own copy

    async def _visit(self, update_type: str, event: TelegramObject, data: dict[str, Any]) -> Any:
        observer = self.observers.get(update_type)
        if observer is not None and len(observer.outer_middleware):
            return await super().propagate_event(update_type, event, **data)
        data["event_router"] = self
        if observer is not None:
            if observer._handler.filters:
                found = await _passes(observer._handler.filters, event, data)
                if found is None:
                    return UNHANDLED
                data.update(found)
            if observer.handlers:
                response = await self._trigger(observer, event, data)
                if response is REJECTED:
                    return UNHANDLED
                if response is not UNHANDLED:
                    return response
        for router in self.sub_routers:
            if isinstance(router, LeanRouter):
                response = await router._visit(update_type, event, dict(data))
            else:
                response = await router.propagate_event(update_type, event, **data)
            if response is not UNHANDLED:
                return response
        return UNHANDLED

    async def _trigger(self, observer: TelegramEventObserver, event: TelegramObject, data: dict[str, Any]) -> Any:
        """The first handler whose filters pass handles the event (aiogram's `TelegramEventObserver.trigger`)."""
        first = _first_char(event)
        for handler, prefixes in self._command_prefixes(observer):
            if prefixes is not None and (not first or first not in prefixes):
                continue  # its Command filter cannot pass: the text does not start with a command
            data["handler"] = handler
            found = await _passes(handler.filters or (), event, data)
            if found is None:
                continue
            data.update(found)
            try:
                wrapped = observer.outer_middleware.wrap_middlewares(observer._resolve_middlewares(), handler.call)
                return await wrapped(event, data)
            except SkipHandler:
                continue
        return UNHANDLED

    def _command_prefixes(self, observer: TelegramEventObserver) -> list[tuple[HandlerObject, str | None]]:
        """Each handler with the prefixes its `Command` filters leave possible (None: it has none). Worked
        out once per event type, and again if handlers were added since."""
        known = self._sifted.get(observer.event_name)
        if known is None or known[0] != len(observer.handlers):
            known = (len(observer.handlers), [(handler, _prefixes(handler)) for handler in observer.handlers])
            self._sifted[observer.event_name] = known
        return known[1]


async def _passes(
    filters: Sequence[FilterObject], event: TelegramObject, data: dict[str, Any]
) -> dict[str, Any] | None:
    """None if a filter refuses the event; else what the filters add to the data (a filter sees what the
    ones before it added). Each filter gets only the names it asks for, as aiogram gives them."""
    found: dict[str, Any] = {}
    for filter_ in filters:
        if filter_.awaitable and not filter_.varkw:
            asked = {name: data[name] for name in filter_.params if name in data}
            if found:
                asked.update((name, found[name]) for name in filter_.params if name in found)
            result = await filter_.callback(event, **asked)
        else:  # a plain function runs in a thread, as aiogram runs it
            result = await filter_.call(event, **{**data, **found})
        if not result:
            return None
        if isinstance(result, dict):
            found.update(result)
    return found


def _first_char(event: TelegramObject) -> str:
    """The first character of a message's text (or caption) as aiogram's `Command` reads it: after spaces."""
    if not isinstance(event, Message):
        return ""
    return (event.text or event.caption or "").lstrip()[:1]


def _prefixes(handler: HandlerObject) -> str | None:
    commands = [f.callback for f in handler.filters or () if isinstance(f.callback, Command)]
    if not commands:
        return None
    # Every Command filter must pass, so the first character must be a prefix of each of them.
    allowed = set(commands[0].prefix)
    for command in commands[1:]:
        allowed &= set(command.prefix)
    return "".join(sorted(allowed))


class LeanDispatcher(LeanRouter, Dispatcher):
    """The Dispatcher with `LeanRouter`'s visits (its own observers carry the per-update middlewares).

    No FSM: nothing here keeps aiogram's per-chat state (dialogs keep theirs in the database), and its
    middleware would build a context for every update. Call `carry` once the routers are in.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(disable_fsm=True, **kwargs)

    def carry(self, services: Mapping[str, Any], *always: str) -> None:
        """Put into the update's data only the services that some handler or filter asks for by name (and
        `always`, for middlewares that read the data). The data is copied at every router and filter
        aiogram visits, so each entry nobody reads costs on every update. A handler taking `**kwargs`
        gets them all."""
        wanted = asked_for(self)
        self.workflow_data.update(
            (name, value) for name, value in services.items() if wanted is None or name in wanted or name in always
        )


def asked_for(router: Router) -> set[str] | None:
    """The parameter names of every handler and filter under `router`, start-up and shutdown handlers
    included (they get the data too); None if one takes `**kwargs` (the Dispatcher's own update listener,
    which passes the data on, does not count)."""
    names: set[str] = set()
    for observer in router.observers.values():
        for handler in (observer._handler, *observer.handlers):
            for callable_ in (handler, *(handler.filters or ())):
                if callable_.varkw and not (isinstance(router, Dispatcher) and observer is router.update):
                    return None
                names |= callable_.params
    for handler in (*router.startup.handlers, *router.shutdown.handlers):
        if handler.varkw:
            return None
        names |= handler.params
    for child in router.sub_routers:
        below = asked_for(child)
        if below is None:
            return None
        names |= below
    return names
