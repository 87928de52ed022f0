"""Answering questions from the FAQ: match, log what was asked, and keep the misses for the owner."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from flows.clock import Clock
from flows.content import Content, FaqEntry
from flows.faq_index import FaqIndex, Taught, Verdict
from flows.matching import normalize
from storage.customers import Customer
from storage.faq_log import FaqCounts, FaqLogRepo, FaqQuestion
from storage.messages import MessagesRepo

MATCH_LIMIT = 400  # characters: a pasted essay is not a FAQ question, and matching time grows with words


@dataclass(frozen=True)
class Asked:
    verdict: Verdict
    question_id: int
    entry: FaqEntry | None  # the answer, when confident
    candidates: list[FaqEntry]  # the close call's options


def build_index(entries: Sequence[FaqEntry], taught: Sequence[Taught]) -> FaqIndex:
    return FaqIndex(entries, taught=taught)


@dataclass
class Faq:
    content: Content
    index: FaqIndex
    log: FaqLogRepo
    messages: MessagesRepo
    clock: Clock
    make_index: Callable[[Sequence[FaqEntry], Sequence[Taught]], FaqIndex] = build_index
    owner_entries: dict[str, FaqEntry] = field(default_factory=dict)  # added by the owner from /questions

    @property
    def entries(self) -> list[FaqEntry]:
        return [*self.content.faq, *self.owner_entries.values()]

    def entry(self, entry_id: str) -> FaqEntry | None:
        return self.content.faq_entry(entry_id) or self.owner_entries.get(entry_id)

    def rebuild(self, owner_entries: Sequence[FaqEntry], taught: Sequence[Taught]) -> None:
        """Match with the content's entries, the owner's and what was taught, from the next question on
        (called at start and after every change, so teaching needs no restart)."""
        owned = {entry.id: entry for entry in owner_entries}
        self.index = self.make_index([*self.content.faq, *owned.values()], taught)
        self.owner_entries = owned

    async def ask(self, customer: Customer, text: str, *, remember: bool = True) -> Asked:
        """Match a customer's question and record it (answered, suggested or missed)."""
        now = self.clock.now()
        if remember:
            await self.messages.remember(customer.id, "text", text, now)
        verdict = self.index.judge(text[:MATCH_LIMIT])
        if verdict.kind == "chatter":  # a greeting is not a question the FAQ is missing
            return Asked(verdict, 0, None, [])
        outcome = {"answer": "answered", "suggest": "suggested", "none": "missed"}[verdict.kind]
        question_id = await self.log.record(
            customer.id,
            text[:1000],
            normalize(text)[:300],
            outcome,
            verdict.entry,
            verdict.score,
            now,
            offered=verdict.candidates,
            declined=self._declined(verdict),
        )
        candidates = [entry for key in verdict.candidates if (entry := self.entry(key)) is not None]
        entry = self.entry(verdict.entry) if verdict.entry else None
        return Asked(verdict, question_id, entry, candidates)

    def _declined(self, verdict: Verdict) -> bool:
        """Declined because it is like a "not our topic" example: the owner has seen it already. The index
        says "none" above its `close` score only then (a weaker question is simply unknown)."""
        return verdict.kind == "none" and verdict.score >= self.index.close

    async def question_of(self, customer: Customer, question_id: int) -> FaqQuestion | None:
        """A question this customer asked (None for someone else's: callback data is never trusted)."""
        if not 0 < question_id < 2**63:  # forged data: SQLite's integers end there
            return None
        question = await self.log.get(question_id)
        return question if question is not None and question.customer_id == customer.id else None

    async def none_fit(self, customer: Customer, question_id: int) -> FaqQuestion | None:
        """The customer found none of the suggestions right: count the question as missing from the FAQ."""
        question = await self.question_of(customer, question_id)
        if question is not None and question.outcome == "suggested":
            await self.log.mark_missed(question_id)
        return question

    async def counts(self, days: int = 30) -> FaqCounts:
        """Answered, suggested and unanswered questions over the last `days`, with the top missing ones."""
        return await self.log.counts(self.clock.now() - timedelta(days=days))
