"""The running content, switched whole while the bot runs, so an owner's edit needs no restart.

Why this shape. At start-up one validated `Content` is handed to some twenty services, and a few derive
state from it (the FAQ's index and lexicon, the buying-intent phrases, the command menus). Two ways to
change it at run time were weighed:

- rebuild every content-dependent service and swap the new ones into the Dispatcher's data: the services
  hold more than content (the sender's pacing and in-flight sends, the loaded broadcasts, the jobs' wiring,
  hooks between features), so rebuilding them would restart that state or need all of it carried over;
- keep the services and give each the new content, with listeners for what is derived from it. That is
  what this module does, in two phases so that nothing is ever half-applied:

1. *prepare* — every follower looks at the new content and does whatever may wait or fail (read what the
   FAQ was taught, build the new index) without changing anything, returning a *commit*;
2. *commit* — the commits run one after another with no `await` between them. The event loop runs one
   coroutine at a time, so no update, job or send can see some services on the new content and others
   on the old. If a prepare fails, nothing changed and the save is refused.

Afterwards *after*-listeners do what talks to the outside world (the command menus), best effort.

A handler receives `content` from the Dispatcher's data, copied when its update starts, so one update
reads one version throughout. A service method in flight across the switch may read the old version
before an `await` and the new one after it — the same as an update handled across a restart with a
changed content file, which the flows already allow for (an enrollment whose sequence or step is gone
ends; an answered FAQ entry that disappeared is looked up as missing). Sequences and the outbox need
nothing more: enrollments name their sequence and step, and a queued message was rendered when it was
queued, so the sender delivers it unchanged.

Switches are serialized by a lock; `persist` (writing the version) runs inside it, between prepare and
commit, so what is stored as newest and what runs never disagree within this process.

Several processes on one database: a version saved in one process is signalled to the others
(`storage.signals.CONTENT`, delivered when the save commits), and each switches to it through this same
`switch`, giving the stored version's id. `version` is the id running here; a switch to an id not newer
than it does nothing, so a late or repeated signal can never take a process back to an older version
(the check is made under the lock, where the switches of this process are ordered).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import replace
from typing import Any, TypeVar

from flows.content import Content

log = logging.getLogger(__name__)

Commit = Callable[[], None]
Prepare = Callable[[Content], Awaitable[Commit]]
After = Callable[[Content], Awaitable[None]]
T = TypeVar("T")


class LiveContent:
    """The current content and everyone who must follow it when it changes."""

    def __init__(self, content: Content) -> None:
        self.current = content
        self.version: int | None = None  # the stored version running (None: the content file, or not known)
        self._prepares: list[Prepare] = []
        self._afters: list[After] = []
        self._lock = asyncio.Lock()

    def follow(self, prepare: Prepare) -> None:
        """Call `prepare(new)` on every switch; the commit it returns must not await."""
        self._prepares.append(prepare)

    def after(self, listener: After) -> None:
        """Call `listener(new)` once a switch is in effect (for calls to the outside world)."""
        self._afters.append(listener)

    def hold(self, *holders: Any) -> None:
        """Objects with a `content` attribute that is simply replaced (most services)."""

        async def prepare(new: Content) -> Commit:
            def commit() -> None:
                for holder in holders:
                    holder.content = new

            return commit

        self.follow(prepare)

    def rebuild(
        self, maps: list[MutableMapping[str, Any]], name: str, make: Callable[[Content, Any], Any]
    ) -> None:
        """An immutable service derived from the content, remade by `make(new, old)` and put under `name`
        in each of `maps` (the services and the Dispatcher's data)."""

        async def prepare(new: Content) -> Commit:
            made = make(new, maps[0][name])

            def commit() -> None:
                for target in maps:
                    target[name] = made

            return commit

        self.follow(prepare)

    async def switch(
        self, new: Content, persist: Callable[[], Awaitable[T]] | None = None, *, version: int | None = None
    ) -> T | None:
        """Make `new` the content of every follower at once; `persist` (e.g. storing the version) runs after
        every follower prepared and before any commits, and its error leaves everything as it was.
        `version`: the stored version `new` is (another process saved it), ignored unless newer than the
        one running; `persist` may instead set `self.version` to the version it stored."""
        async with self._lock:
            if version is not None and self.version is not None and version <= self.version:
                return None
            commits = [await prepare(new) for prepare in self._prepares]
            result = await persist() if persist is not None else None
            for commit in commits:  # no await in this loop: see the module's docstring
                commit()
            self.current = new
            if version is not None:
                self.version = version
        for listener in self._afters:
            try:
                await listener(new)
            except Exception:  # the content is in effect; a menu that failed heals at the next start
                log.exception(
                    "after switching the content, %s failed", getattr(listener, "__qualname__", listener)
                )
        return result


def replaced(new: Content, old: T) -> T:
    """A frozen dataclass service with its `content` field replaced (`LiveContent.rebuild`'s `make`)."""
    return replace(old, content=new)  # type: ignore[type-var]
