"""Finding a customer from what a person types: a name, a @username, a phone in any format, a card code.

One box takes all of them. What was typed is read every way it can be meant — a card code, a phone
number, words of a name — and each reading is one bounded, indexed query (storage/people.py); the
results are merged, exact matches (card, phone) first, without repeats.

    "Анна Ёлкина", "ann", "@anna_s"          → names and usernames (words are prefixes, case-folded)
    "+7 (912) 345-67-89", "8 912 345 67 89"  → the phone +79123456789 (the last ten digits decide)
    "345-67-89"                              → phones ending in those seven digits
    "ACD 4EF", "acd-4ef"                     → the card ACD4EF
    "#123"                                   → customer 123

Lists are segment expressions (flows/segments.py): the same parser, the same count as a broadcast's
audience, and a page of the customers it selects.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from flows.codes import looks_like, normalize
from flows.loyalty import CARD_CODE_LENGTH
from flows.segments import Segment, Segments
from storage.people import Found, PeopleRepo, SegmentPage

MAX_RESULTS = 20
MAX_QUERY = 100  # characters read from the box; a name or a phone is far shorter
MAX_WORDS = 5
MIN_WORD = 2  # a one-letter word would match a good part of any customer list
PAGE_SIZE = 50

_WORD = re.compile(r"\w+")
_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-]+$")
_CUSTOMER_ID = re.compile(r"^#(\d{1,12})$")
Lookup = Callable[[], Awaitable[list[Found]]]


@dataclass(frozen=True)
class Reading:
    """Every way a typed query can be meant; empty fields are readings that do not apply."""

    card: str | None = None
    customer_id: int | None = None
    phone_ending: str | None = None  # 10 or 7 digits
    phone_start: str | None = None  # the beginning of a number, with its country code
    names: str | None = None  # a full-text query: every word a prefix

    @property
    def empty(self) -> bool:
        return not (self.card or self.customer_id or self.phone_ending or self.phone_start or self.names)


def fold(word: str) -> str:
    """How names are indexed: case-folded, ё as е (the index folds case too; this makes both sides agree)."""
    return word.casefold().replace("ё", "е")


def read_query(text: str) -> Reading:
    """What someone typed into the search box, read every way it may be meant."""
    text = text.strip()[:MAX_QUERY]
    if not text:
        return Reading()
    card = normalize(text) if looks_like(text, CARD_CODE_LENGTH) else None
    if by_id := _CUSTOMER_ID.match(text):
        return Reading(customer_id=int(by_id.group(1)))
    if _PHONE_LIKE.match(text):
        digits = "".join(ch for ch in text if ch.isdigit())
        if len(digits) >= 10:
            return Reading(card=card, phone_ending=digits[-10:])
        if len(digits) >= 7:
            ending = digits if len(digits) == 7 else None
            return Reading(card=card, phone_ending=ending, phone_start=digits)
        return Reading(card=card)
    words = [fold(word) for word in _WORD.findall(text.lstrip("@"))]
    words = [word for word in words if len(word) >= MIN_WORD][:MAX_WORDS]
    # Quoted, every word is a plain term for the full-text index (no operator can be smuggled in).
    names = " ".join(f'"{word}"*' for word in words) or None
    return Reading(card=card, names=names)


@dataclass(frozen=True)
class Listing:
    count: int
    page: SegmentPage


@dataclass
class PeopleSearch:
    repo: PeopleRepo
    segments: Segments

    async def search(self, text: str, limit: int = MAX_RESULTS) -> list[Found]:
        """Customers matching what was typed, exact matches first; at most `limit`, none for a blank query."""
        reading = read_query(text)
        found: dict[int, Found] = {}
        for lookup in self._lookups(reading, limit):
            for customer in await lookup():
                found.setdefault(customer.id, customer)
            if len(found) >= limit:
                break
        return list(found.values())[:limit]

    def _lookups(self, reading: Reading, limit: int) -> list[Lookup]:
        repo = self.repo
        lookups: list[Lookup] = []
        if reading.customer_id is not None:
            lookups.append(partial(repo.by_id, reading.customer_id))
        if reading.card:
            lookups.append(partial(repo.by_card, reading.card))
        if reading.phone_ending:
            lookups.append(partial(repo.by_phone_ending, reading.phone_ending, limit))
        if reading.phone_start:
            lookups.append(partial(repo.by_phone_start, reading.phone_start, limit))
        if reading.names:
            lookups.append(partial(repo.by_names, reading.names, limit))
        return lookups

    def segment(self, expression: str) -> Segment:
        """Parse a list's filter; `SegmentError` (its message names the word and what was expected)."""
        return self.segments.parse(expression)

    async def count(self, segment: Segment) -> int:
        """The audience of the filter: the customers a broadcast to it would reach."""
        return await self.segments.count(segment)

    async def listing(self, segment: Segment, before: int | None = None, size: int = PAGE_SIZE) -> Listing:
        """The filter's audience count and a page of its customers (no page is read for an empty audience:
        that read would walk every customer to find none)."""
        count = await self.count(segment)
        page = await self.page(segment, before, size) if count else SegmentPage([], None)
        return Listing(count, page)

    async def page(self, segment: Segment, before: int | None = None, size: int = PAGE_SIZE) -> SegmentPage:
        """A page of the filter's customers, newest first; pass the page's `next_before` for the next one."""
        return await self.repo.segment_page(segment.filters, before, size)
