"""Who the customer is: recorded on every update, /start with its source, opt-out and forgetting."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flows.clock import Clock
from storage.customers import Customer, CustomersRepo

_SOURCE_PAYLOAD = re.compile(r"^src[-_]([A-Za-z0-9_-]{1,40})$")


def source_from_payload(payload: str | None) -> str | None:
    """`src-instagram` → `instagram`; anything else (unknown, malformed, too long) → None, never an error."""
    if not payload:
        return None
    match = _SOURCE_PAYLOAD.match(payload.strip())
    return match.group(1).lower() if match else None


@dataclass(frozen=True)
class StartOutcome:
    customer: Customer
    resubscribed: bool
    returning: bool


@dataclass(frozen=True)
class Customers:
    repo: CustomersRepo
    clock: Clock

    async def seen(
        self,
        update_id: int,
        tg_id: int,
        first_name: str | None,
        last_name: str | None,
        username: str | None,
        language: str | None,
    ) -> Customer | None:
        """Create or refresh the customer behind an incoming update; None if the update was handled before."""
        return await self.repo.upsert_seen(
            update_id, tg_id, first_name, last_name, username, language, self.clock.now()
        )

    async def first_handling(self, update_id: int) -> bool:
        """True the first time an update without a customer (a group message) is seen."""
        return await self.repo.first_handling(update_id, self.clock.now())

    async def start(self, customer: Customer, payload: str | None) -> StartOutcome:
        """Handle /start: remember where they came from (first touch wins) and opt them back in."""
        returning = customer.onboarded or customer.onboarding_step is not None
        was_out = await self.repo.record_start(
            customer.id, source_from_payload(payload), first=not returning, now=self.clock.now()
        )
        fresh = await self.repo.get(customer.id)
        assert fresh is not None
        return StartOutcome(fresh, resubscribed=was_out, returning=returning)

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

    async def forget(self, customer: Customer) -> None:
        """Delete the customer's personal data, keeping anonymous figures."""
        await self.repo.forget(customer.id, self.clock.now())

    async def choose_language(self, customer: Customer, language: str) -> None:
        """Remember a language the customer picked themselves (it beats Telegram's)."""
        await self.repo.set_chosen_language(customer.id, language)

    async def tags(self, customer: Customer) -> list[str]:
        """The customer's tags, oldest first."""
        return await self.repo.tags(customer.id)
