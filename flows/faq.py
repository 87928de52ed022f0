"""Answering questions from the FAQ: match, log what was asked, and keep the misses for the owner."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Literal

from flows.clock import Clock
from flows.content import Content, FaqEntry
from flows.faq_index import FaqIndex, Taught, Verdict
from flows.faq_llm import SecondOpinion, candidate_of
from flows.matching import normalize
from flows.media import Media
from flows.question_split import split_questions
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


@dataclass(frozen=True)
class AskedMany:
    """What a message with one or several questions gets: `first` is shown as a single question's
    reply would be; `also` are the other questions' entries, offered as buttons."""

    first: Asked
    also: list[FaqEntry]


ALSO_OFFERED = 3
EMOJI_ONLY_LIMIT = 100  # characters of a message without words that the matcher reads
_CHATTER = Asked(Verdict("chatter"), 0, None, [])


@dataclass
class Faq:
    content: Content
    make_index: Callable[[Sequence[FaqEntry], Sequence[Taught]], FaqIndex]  # flows.faq_setup.index_builder
    log: FaqLogRepo
    messages: MessagesRepo
    clock: Clock
    second_opinion: SecondOpinion | None = None  # a language model that may settle close calls (FAQ_LLM_URL)
    owner_entries: dict[str, FaqEntry] = field(default_factory=dict)  # added by the owner from /questions
    media: Media | None = None  # photos uploaded in the console, which answers may show
    index: FaqIndex = field(init=False)  # the content's entries until `rebuild` adds what was taught

    def __post_init__(self) -> None:
        self.index = self.make_index(self.content.faq, ())

    @property
    def entries(self) -> list[FaqEntry]:
        return [*self.content.faq, *self.owner_entries.values()]

    def entry(self, entry_id: str) -> FaqEntry | None:
        return self.content.faq_entry(entry_id) or self.owner_entries.get(entry_id)

    def rebuild(self, owner_entries: Sequence[FaqEntry], taught: Sequence[Taught]) -> None:
        """Match with the content's entries, the owner's and what was taught, from the next question on
        (called at start and after every change, so teaching needs no restart)."""
        self.switched(self.content, self.make_index, owner_entries, taught)()

    def switched(
        self,
        content: Content,
        make_index: Callable[[Sequence[FaqEntry], Sequence[Taught]], FaqIndex],
        owner_entries: Sequence[FaqEntry],
        taught: Sequence[Taught],
    ) -> Callable[[], None]:
        """The index for `content` built now; the returned call puts it in place together with the content
        (what `rebuild` does at once, and a content switch does when every service is ready)."""
        owned = {entry.id: entry for entry in owner_entries}
        index = make_index([*content.faq, *owned.values()], taught)

        def commit() -> None:
            self.content, self.make_index, self.index, self.owner_entries = content, make_index, index, owned

        return commit

    async def ask(self, customer: Customer, text: str, *, remember: bool = True) -> Asked:
        """Match a customer's question and record it (answered, suggested or missed)."""
        now = self.clock.now()
        if remember:
            await self.messages.remember(customer.id, "text", text, now)
        verdict = self.index.judge(text[:MATCH_LIMIT])
        if verdict.kind == "chatter":  # a greeting is not a question the FAQ is missing
            return Asked(verdict, 0, None, [])
        score = verdict.score
        decided_by: Literal["matcher", "model"] = "matcher"
        if verdict.kind == "suggest" and (picked := await self._second_opinion(customer, text, verdict)):
            verdict = replace(verdict, kind="answer", entry=picked, candidates=())
            decided_by = "model"
        if verdict.kind == "answer":  # no button will need its id: written behind
            normalized = normalize(text)[:300]
            self.log.note(customer.id, text[:1000], normalized, verdict.entry, score, now, decided_by=decided_by)
            return Asked(verdict, 0, self.entry(verdict.entry or ""), [])
        outcome = "suggested" if verdict.kind == "suggest" else "missed"
        question_id = await self.log.record(
            customer.id,
            text[:1000],
            normalize(text)[:300],
            outcome,
            verdict.entry,
            score,
            now,
            offered=verdict.candidates,
            declined=self._declined(verdict),
        )
        candidates = [entry for key in verdict.candidates if (entry := self.entry(key)) is not None]
        entry = self.entry(verdict.entry) if verdict.entry else None
        return Asked(verdict, question_id, entry, candidates)

    async def _second_opinion(self, customer: Customer, text: str, verdict: Verdict) -> str | None:
        """The candidate the language model picks for a close call, if one is configured and it picks."""
        if self.second_opinion is None:
            return None
        default = self.content.business.default_language
        language = customer.preferred_language or default
        entries = [entry for key in verdict.candidates if (entry := self.entry(key)) is not None]
        return await self.second_opinion.pick(text, [candidate_of(e, language, default) for e in entries])

    async def close(self) -> None:
        """Release the second opinion's HTTP session (at shutdown)."""
        if self.second_opinion is not None:
            await self.second_opinion.close()

    async def ask_many(self, customer: Customer, text: str, *, remember: bool = True) -> AskedMany:
        """A message that may hold several questions: each piece is matched and logged; the first piece
        the FAQ answers confidently is the reply (else the first real question's close call or miss),
        and the other pieces' entries are offered. Only the first few sentences of a long message are
        read (see `split_questions`), so its cost does not grow with its length."""
        if remember:
            await self.messages.remember(customer.id, "text", text, self.clock.now())
        # No words at all ("📍", "💰?"): the whole message, short as it is, for the matcher to read its emoji.
        pieces = split_questions(text) or ([text[:EMOJI_ONLY_LIMIT]] if text.strip() else [])
        asked = [await self.ask(customer, piece, remember=False) for piece in pieces]
        questions = [a for a in asked if a.verdict.kind != "chatter"]
        if not questions:
            return AskedMany(asked[0] if asked else _CHATTER, [])
        first = next((a for a in questions if a.entry is not None), questions[0])
        if first.entry is None:  # nothing answered for sure: the first question's choice, as for one question
            return AskedMany(first, [])
        also: dict[str, FaqEntry] = {}
        for other in questions:
            entry = other.entry or (other.candidates[0] if other.candidates else None)
            if other is not first and entry is not None and entry.id != first.entry.id:
                also.setdefault(entry.id, entry)
        return AskedMany(first, list(also.values())[:ALSO_OFFERED])

    def _declined(self, verdict: Verdict) -> bool:
        """Declined because it is like a "not our topic" example: the owner has seen it already."""
        return verdict.outside

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
