"""Wiring the running content: who follows a content switch (see `flows.content_live` for why this shape).

Every service that keeps the content is listed here; `tests/test_content_live.py` walks the running
services and fails if one that holds a `Content` is left on the old version after a switch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flows.content import Content
from flows.content_live import Commit, LiveContent, replaced
from flows.faq_setup import index_builder
from flows.intent import BuyingIntent

if TYPE_CHECKING:
    from bot.app import App

# Services that read `self.content` whenever they need it: replacing the attribute is all they need.
HOLDERS = (
    "sequences",
    "handoff",
    "menus",
    "segments",
    "broadcasts",
    "analytics",
    "loyalty",
    "coupons",
    "purchases",
    "sales",
    "feedback",
)


def follow_content(live: LiveContent, app: App) -> None:
    """Register every follower of `live` in the running app (once, after it is built)."""
    services, data = app.services, app.dp.workflow_data
    live.hold(app, services["loyalty"].notices, *(services[name] for name in HOLDERS))
    maps: list[Any] = [services, data]
    live.rebuild(maps, "content", lambda new, _: new)  # what handlers and the middleware read per update
    live.rebuild(maps, "onboarding", replaced)
    live.rebuild(maps, "buying_intent", lambda new, _: BuyingIntent(new))
    live.follow(_api(app))
    live.follow(_faq(services))
    live.after(_faq_catch_up(services))
    live.after(_menus(services, live.current))


def _api(app: App) -> Any:
    """The purchases API, when it runs (it may start later, from `app.content`)."""

    async def prepare(new: Content) -> Commit:
        def commit() -> None:
            if app.api is not None:
                app.api.content = new

        return commit

    return prepare


def _faq(services: dict[str, Any]) -> Any:
    """The FAQ's lexicon and index rebuilt for the new entries (with what it was taught), put in place
    together with the content."""
    faq, teaching = services["faq"], services["faq_teaching"]

    async def prepare(new: Content) -> Commit:
        owned, taught = await teaching.lessons(new)
        commit: Commit = faq.switched(new, index_builder(new), owned, taught)
        return commit

    return prepare


def _faq_catch_up(services: dict[str, Any]) -> Any:
    """A lesson taught while the switch was being prepared is in the index from now on too."""

    async def after(_: Content) -> None:
        await services["faq_teaching"].refresh()

    return after


def _menus(services: dict[str, Any], content: Content) -> Any:
    """The command menus are per language: set again when the business's languages change."""
    shown = [(content.business.default_language, tuple(content.business.languages))]

    async def after(new: Content) -> None:
        languages = (new.business.default_language, tuple(new.business.languages))
        if languages != shown[0]:
            shown[0] = languages
            await services["menus"].announce()

    return after
