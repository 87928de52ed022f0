"""Who the customer is: recorded on every update, /start with its source, opt-out and forgetting.

`_RecentIds` (the update ids this process handled lately) is a shortcut, not the record: it skips a
re-delivery before any read. With several processes a re-delivery may reach another one, which does not
know the id; there the processed mark in the database decides (`storage.db.write_mark`), as it does after
a restart.
"""

from __future__ import annotations

import re
from collections import deque
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from flows.clock import Clock
from storage.customers import Customer, CustomersRepo
from storage.db import Handling, handling
from storage.timefmt import to_db

_SOURCE_PAYLOAD = re.compile(r"^src[-_]([A-Za-z0-9_-]{1,40})$")


def source_from_payload(payload: str | None) -> str | None:
    """`src-instagram` → `instagram`; anything else (unknown, malformed, too long) → None, never an error."""
    if not payload:
        return None
    match = _SOURCE_PAYLOAD.match(payload.strip())
    return match.group(1).lower() if match else None


RECENT_UPDATES = 20_000  # handled update ids kept in memory to recognise re-deliveries


class _RecentIds:
    """A bounded set of update ids: membership in O(1), the oldest forgotten first."""

    def __init__(self, ids: list[int]) -> None:
        self._order: deque[int] = deque(sorted(ids))
        self._ids = set(self._order)

    def add(self, update_id: int) -> bool:
        """Add an id; False if it was there already."""
        if update_id in self._ids:
            return False
        self._ids.add(update_id)
        self._order.append(update_id)
        if len(self._order) > RECENT_UPDATES:
            self._ids.discard(self._order.popleft())
        return True


def _profile_changed(
    customer: Customer, first_name: str | None, last_name: str | None, username: str | None, language: str | None
) -> bool:
    same = (customer.first_name, customer.last_name, customer.username) == (first_name, last_name, username)
    return not same or (language is not None and language != customer.language)


@dataclass(frozen=True)
class StartOutcome:
    customer: Customer
    resubscribed: bool
    returning: bool


@dataclass
class Customers:
    repo: CustomersRepo
    clock: Clock
    _recent: _RecentIds | None = field(default=None, repr=False)

    async def seen(
        self,
        update_id: int,
        tg_id: int,
        first_name: str | None,
        last_name: str | None,
        username: str | None,
        language: str | None,
        *,
        starting: bool = True,
    ) -> Customer | None:
        """The customer behind an incoming update, created or refreshed; None if the update was handled before.

        This runs on every update, so a returning customer whose profile did not change costs one read;
        their last-seen time is written behind, by `flush`.

        Consent: a new record made by /start (`starting`, how everyone's first contact with a bot begins) is
        subscribed; one made by any other update is not, until /start. That is someone who writes again
        after /forget: a new person, and one who never agreed to marketing.
        """
        if not await self._first_time(update_id):
            return None
        now = self.clock.now()
        customer = await self.repo.by_tg_id(tg_id)
        if customer is None or _profile_changed(customer, first_name, last_name, username, language):
            customer = await self.repo.refresh_profile(
                tg_id, first_name, last_name, username, language, now, subscribed=starting
            )
        self.repo.note_seen(customer.id, now)
        return customer

    async def first_handling(self, update_id: int) -> bool:
        """True the first time an update without a customer (a group message) is seen."""
        return await self._first_time(update_id)

    def handling(self, update_id: int) -> AbstractContextManager[Handling]:
        """The block that handles an update: its first write transaction commits the processed mark too.

        A re-delivered update (after a crash between the effect and Telegram's acknowledgement) then finds
        the mark and changes nothing, whether this process remembers it or not.
        """
        return handling(update_id, to_db(self.clock.now()))

    def handled(self, current: Handling) -> None:
        """After the handling: an update that changed nothing gets its mark written behind, by `flush`.

        Losing such a mark in a crash costs at most a repeated read-only answer; an update that changed
        something already committed its mark with the change.
        """
        if not current.marked:
            self.repo.note_handled(current.update_id, current.seen_at)

    async def flush(self) -> int:
        """Write what was noted behind (a periodic job and shutdown call it; a crash loses at most that)."""
        return await self.repo.flush_handled()

    async def _first_time(self, update_id: int) -> bool:
        if self._recent is None:
            self._recent = _RecentIds(await self.repo.recent_update_ids(RECENT_UPDATES))
        return self._recent.add(update_id)

    async def start(self, customer: Customer, payload: str | None) -> StartOutcome:
        """Handle /start: remember where they came from (first touch wins) and opt them in.

        /start is the marketing consent: a new record starts opted out until its first /start.
        """
        returning = customer.onboarded or customer.onboarding_step is not None
        was_out = await self.repo.record_start(
            customer.id, source_from_payload(payload), first=not returning, now=self.clock.now()
        )
        fresh = await self.repo.get(customer.id)
        assert fresh is not None
        return StartOutcome(fresh, resubscribed=was_out and returning, returning=returning)

    async def opt_out(self, customer: Customer) -> bool:
        """Stop marketing messages; False when the customer had already opted out."""
        if customer.opted_out:
            return False
        await self.repo.set_opted_out(customer.id, True, self.clock.now())
        return True

    async def blocked_us(self, customer: Customer) -> None:
        """The customer blocked the bot: proactive messages stop and their sequences end."""
        await self.repo.set_unreachable(customer.id, self.clock.now())

    async def unblocked_us(self, customer: Customer) -> None:
        """The customer restarted the bot: they can be written to again (marketing only if opted in)."""
        await self.repo.set_reachable(customer.id, self.clock.now())

    async def choose_language(self, customer: Customer, language: str) -> None:
        """Remember a language the customer picked themselves (it beats Telegram's)."""
        await self.repo.set_chosen_language(customer.id, language)

    async def tags(self, customer: Customer) -> list[str]:
        """The customer's tags, oldest first."""
        return await self.repo.tags(customer.id)
