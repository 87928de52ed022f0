"""Onboarding after the welcome: phone, birthday and interests, each optional and skippable.

The step being waited for is stored on the customer, so someone who leaves half-way (or a bot restart)
picks up at the same question. Once onboarding has been gone through, a step can be re-opened alone
from the profile: answering it then ends there instead of moving on to the next step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum

from flows.clock import Clock
from flows.content import Content
from storage.customers import Customer, CustomersRepo

_DATE = re.compile(r"^\s*(\d{1,2})\s*[./\-\s]\s*(\d{1,2})(?:\s*[./\-\s]\s*(\d{2}|\d{4}))?\s*\.?\s*$")
_PHONE_DIGITS = re.compile(r"\D")


@dataclass(frozen=True)
class Birthday:
    day: int
    month: int
    year: int | None


def parse_birthday(text: str, today: date) -> Birthday | None:
    """Read `25.12`, `25/12`, `25-12-1990` or `25 12 90`; None when it is not a real date."""
    match = _DATE.match(text)
    if not match:
        return None
    day, month = int(match.group(1)), int(match.group(2))
    year = int(match.group(3)) if match.group(3) else None
    if year is not None and year < 100:
        year += 1900 if year > today.year % 100 else 2000
    try:
        date(year or 2000, month, day)  # 2000 is a leap year, so 29.02 is accepted without a year
    except ValueError:
        return None
    if year is not None and not (today.year - 120 <= year <= today.year):
        return None
    return Birthday(day, month, year)


def normalize_phone(phone: str) -> str:
    """Keep digits with a leading +, as Telegram sometimes sends the number without it."""
    digits = _PHONE_DIGITS.sub("", phone)
    return f"+{digits}"


class PhoneAnswer(Enum):
    SAVED = "saved"
    NOT_OWN = "not_own"


@dataclass(frozen=True)
class Onboarding:
    repo: CustomersRepo
    content: Content
    clock: Clock

    @property
    def steps(self) -> list[str]:
        return list(self.content.onboarding.steps)

    async def begin(self, customer: Customer) -> str | None:
        """The step to ask now after /start: the pending one, the first one, or None when done."""
        if customer.onboarding_step in self.steps:
            return customer.onboarding_step
        if customer.onboarded or not self.steps:
            if not customer.onboarded:
                await self.repo.set_onboarding(customer.id, None, onboarded=True)
            return None
        await self.repo.set_onboarding(customer.id, self.steps[0])
        return self.steps[0]

    async def advance(self, customer: Customer, finished: str) -> str | None:
        """After a step is answered or skipped: the next step, or None when onboarding is over."""
        following = self.steps[self.steps.index(finished) + 1 :] if finished in self.steps else []
        if customer.onboarded or not following:
            await self.repo.set_onboarding(customer.id, None, onboarded=True)
            return None
        await self.repo.set_onboarding(customer.id, following[0])
        return following[0]

    async def reopen(self, customer: Customer, step: str) -> None:
        """Ask one step again (from the profile)."""
        await self.repo.set_onboarding(customer.id, step)

    async def answer_phone(self, customer: Customer, phone: str, contact_user_id: int | None) -> PhoneAnswer:
        """Save the customer's own number; someone else's contact is refused."""
        if contact_user_id != customer.tg_id:
            return PhoneAnswer.NOT_OWN
        await self.repo.set_phone(customer.id, normalize_phone(phone), self.clock.now())
        return PhoneAnswer.SAVED

    async def answer_birthday(self, customer: Customer, text: str) -> Birthday | None:
        """Save a valid birthday and return it; None asks the customer to try again."""
        birthday = parse_birthday(text, self.clock.now().date())
        if birthday is not None:
            await self.repo.set_birthday(
                customer.id, birthday.day, birthday.month, birthday.year, self.clock.now()
            )
        return birthday

    def interest_tags(self) -> list[str]:
        return [interest.tag for interest in self.content.onboarding.interests]

    async def toggle_interest(self, customer: Customer, tag: str) -> set[str]:
        """Switch one interest on or off; returns the customer's chosen interests."""
        if tag not in self.interest_tags():
            raise ValueError(f"unknown interest {tag!r}")
        chosen = await self.chosen_interests(customer)
        if tag in chosen:
            await self.repo.remove_tag(customer.id, tag, self.clock.now())
            chosen.discard(tag)
        else:
            await self.repo.add_tag(customer.id, tag, self.clock.now())
            chosen.add(tag)
        return chosen

    async def chosen_interests(self, customer: Customer) -> set[str]:
        """The interest tags the customer has, ignoring other tags."""
        tags = set(await self.repo.tags(customer.id))
        return {tag for tag in self.interest_tags() if tag in tags}
