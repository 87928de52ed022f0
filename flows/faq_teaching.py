"""The FAQ learns from its questions: the owner says what a missed question means, answers it with a new
entry or calls it "not our topic"; customers teach it too when enough of them pick the same suggestion.

What is learned lives in the database (storage/faq_teaching.py) and is added to the content's entries each
time the index is built — at start and after every change — so it takes effect at once, survives a restart
with an edited content file (a phrasing of an entry since removed is simply ignored) and can be removed.

Several processes: every change signals `storage.signals.FAQ_TEACHING` in its transaction, and every
process rebuilds its index (`refresh`), so a phrasing taught through one answers through all of them.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from pydantic import ValidationError
from rapidfuzz import fuzz, process

from flows.clock import Clock
from flows.content import Content, FaqEntry
from flows.faq import Faq
from flows.faq_index import Taught
from flows.i18n import N_
from flows.markup import html
from flows.matching import normalize, terms
from flows.team_text import TeamText
from storage.customers import Customer
from storage.faq_log import FaqQuestion
from storage.faq_teaching import FaqTeachingRepo, OwnerEntry, TaughtPhrasing, owner_entry_number, row_id
from storage.kv import KvRepo

SIMILAR = 80  # rapidfuzz token_set_ratio of two questions' meaningful words: "the same question"
CROWD = 3  # different customers tapping the same entry for similar questions teach it
GROUP_DAYS = 30  # the owner's list covers this many days
TAP_DAYS = 90  # taps this old still count towards the crowd
ANSWER_LIMIT = 3000  # characters the owner may type (escaped, it must still fit Telegram's 4,096)
QUESTION_LIMIT = 200  # characters of a question kept as a new entry's title
SUGGESTED = 3  # entries offered as one-tap buttons per group
_AWAITING = "faq_new_entry_answer:{}"  # kv: the owner's Telegram id → "question id:prompt message id"


@dataclass(frozen=True)
class QuestionGroup:
    """Similar questions the FAQ missed or was unsure of, with what they might mean."""

    questions: tuple[FaqQuestion, ...]  # the most asked wording first, as first asked
    entries: tuple[str, ...]  # likely entries: the ones customers tapped, then the ones offered

    @property
    def representative(self) -> FaqQuestion:
        return self.questions[0]

    @property
    def count(self) -> int:
        return len(self.questions)

    def texts(self) -> list[tuple[str, list[int]]]:
        """Each distinct wording once (as first asked) with the ids of the questions asked that way."""
        by: dict[str, tuple[str, list[int]]] = {}
        for question in self.questions:
            by.setdefault(normalize(question.text), (question.text, []))[1].append(question.id)
        return list(by.values())


@dataclass(frozen=True)
class Lesson:
    """The result of a teaching action, for the owner's confirmation."""

    status: Literal["done", "stale", "unknown_entry", "invalid"]
    entry: FaqEntry | None = None  # the entry taught (done) or the one that is gone
    phrasings: int = 0  # new phrasings
    questions: int = 0  # questions handled
    problem: TeamText | str = ""  # why the input is invalid (translated where shown)


@dataclass(frozen=True)
class Review:
    phrasings: list[TaughtPhrasing]
    entries: list[OwnerEntry]


def _key(text: str) -> str:
    """What a question is about for grouping: its meaningful words as stems, in order."""
    return " ".join(terms(text)) or normalize(text)


def group_questions(questions: Sequence[FaqQuestion], similar: int = SIMILAR) -> list[QuestionGroup]:
    """Greedy clusters of similar questions, most asked first: the most frequent wording not yet placed
    takes every unplaced wording at least `similar` alike (token_set_ratio of the meaningful words)."""
    by_key: dict[str, list[FaqQuestion]] = {}
    for question in sorted(questions, key=lambda q: q.id):  # each wording as first asked
        by_key.setdefault(_key(question.text), []).append(question)
    keys = sorted(by_key, key=lambda k: (-len(by_key[k]), -max(q.id for q in by_key[k])))
    scores = process.cdist(keys, keys, scorer=fuzz.token_set_ratio, score_cutoff=similar, workers=1)
    placed: set[int] = set()
    groups = []
    for i in range(len(keys)):
        if i in placed:
            continue
        members = [j for j in range(i, len(keys)) if j not in placed and (i == j or scores[i][j] >= similar)]
        placed.update(members)
        found = tuple(q for j in members for q in by_key[keys[j]])
        groups.append(QuestionGroup(found, _likely_entries(found)))
    return sorted(groups, key=lambda g: -g.count)


def _likely_entries(questions: Sequence[FaqQuestion]) -> tuple[str, ...]:
    chosen = Counter(q.chosen for q in questions if q.chosen)
    offered = Counter(e for q in questions for e in q.offered)
    ranked = [e for e, _ in chosen.most_common()] + [e for e, _ in offered.most_common()]
    return tuple(dict.fromkeys(ranked))[:SUGGESTED]


@dataclass(frozen=True)
class AwaitedAnswer:
    question_id: int  # a question of the group the new entry answers
    message_id: int  # the owner's prompt, to confirm on


@dataclass
class FaqTeaching:
    faq: Faq
    repo: FaqTeachingRepo
    kv: KvRepo
    clock: Clock
    # One rebuild at a time: of a local change's refresh and a signal's, the one that reads last builds last.
    _refreshing: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def refresh(self) -> None:
        """Rebuild the FAQ's index with everything taught (at start, and after every change)."""
        async with self._refreshing:
            owned, taught = await self.lessons(self.faq.content)
            self.faq.rebuild(owned, taught)

    async def lessons(self, content: Content) -> tuple[list[FaqEntry], list[Taught]]:
        """The owner's own entries (filed under `content`'s default language) and every taught phrasing."""
        default = content.business.default_language
        owned = [_as_entry(row, default) for row in await self.repo.owner_entries()]
        return [e for e in owned if e is not None], [Taught(p.text, p.entry) for p in await self.repo.phrasings()]

    async def chose(self, customer: Customer, question_id: int, entry_id: str) -> bool:
        """A customer tapped a suggestion for their question: record it, and when `CROWD` different
        customers picked the same entry for similar questions, learn their wordings as its phrasings.
        False (nothing recorded) for someone else's question or an entry that was not offered."""
        question = await self.faq.question_of(customer, question_id)
        if question is None or entry_id not in question.offered or question.taught_id is not None:
            return False
        await self.faq.log.choose(question_id, entry_id)
        now = self.clock.now()
        key = _key(question.text)
        picked = [
            q
            for q in await self.faq.log.chosen_for(entry_id, now - timedelta(days=TAP_DAYS))
            if fuzz.token_set_ratio(_key(q.text), key) >= SIMILAR
        ]
        if len({q.customer_id for q in picked}) >= CROWD:
            texts = QuestionGroup(tuple(picked), (entry_id,)).texts()
            if await self.repo.teach(texts, entry_id, "customers", None, now):
                await self.refresh()
        return True

    async def groups(self, days: int = GROUP_DAYS) -> list[QuestionGroup]:
        """Recent questions the FAQ missed or was unsure of and nobody taught yet, grouped by similarity."""
        return group_questions(await self.faq.log.open_questions(self.clock.now() - timedelta(days=days)))

    async def group_of(self, question_id: int) -> QuestionGroup | None:
        """The group a question belongs to now (None once it was taught, declined, forgotten or pruned)."""
        return next((g for g in await self.groups() if any(q.id == question_id for q in g.questions)), None)

    async def means(self, question_id: int, entry_id: str, by: int) -> Lesson:
        """ "These questions mean that entry": every wording of the group becomes one of its phrasings."""
        entry = self.faq.entry(entry_id)
        if entry is None:
            return Lesson("unknown_entry")
        return await self._teach(question_id, entry, by)

    async def not_our_topic(self, question_id: int, by: int) -> Lesson:
        """ "Not our topic": the group's wordings become examples that make similar questions declined."""
        return await self._teach(question_id, None, by)

    async def _teach(self, question_id: int, entry: FaqEntry | None, by: int) -> Lesson:
        group = await self.group_of(question_id)
        if group is None:
            return Lesson("stale")
        made = await self.repo.teach(group.texts(), entry.id if entry else None, "owner", by, self.clock.now())
        if not made:
            return Lesson("stale")
        await self.refresh()
        return Lesson("done", entry, len(made), group.count)

    async def new_entry(self, question_id: int, answer: str, by: int) -> Lesson:
        """A new entry answering the group: its question as the title, the owner's plain text as the answer."""
        group = await self.group_of(question_id)
        if group is None:
            return Lesson("stale")
        answer = answer.strip()
        question = group.representative.text.strip()[:QUESTION_LIMIT]
        default = self.faq.content.business.default_language
        problem = _answer_problem(answer, question, default)
        if problem:
            return Lesson("invalid", problem=problem)  # the owner is asked again
        entry_id = await self.repo.add_entry(default, question, answer, group.texts(), by, self.clock.now())
        if entry_id is None:
            return Lesson("stale")
        await self.refresh()
        return Lesson("done", self.faq.entry(entry_id), len(group.texts()), group.count)

    async def await_answer(self, owner: int, question_id: int, message_id: int) -> None:
        """The owner chose "new entry": their next message is its answer (kept in the database, so a
        restart in between loses nothing)."""
        await self.kv.set(_AWAITING.format(owner), f"{question_id}:{message_id}")

    async def awaited(self, owner: int) -> AwaitedAnswer | None:
        """The question whose new entry waits for this owner's answer, if any."""
        value = await self.kv.get(_AWAITING.format(owner)) or ""
        question, _, message = value.partition(":")
        return AwaitedAnswer(int(question), int(message)) if question.isdigit() and message.isdigit() else None

    async def stop_awaiting(self, owner: int) -> None:
        await self.kv.set(_AWAITING.format(owner), "")

    async def review(self) -> Review:
        """Everything taught, for the owner to look over: phrasings and the owner's own entries."""
        return Review(await self.repo.phrasings(), await self.repo.owner_entries())

    async def remove_phrasing(self, phrasing_id: str, by: int) -> bool:
        """Forget one learned phrasing (or "not our topic" example); its questions return to the list."""
        number = row_id(phrasing_id)
        removed = number is not None and await self.repo.remove_phrasing(number, by, self.clock.now())
        if removed:
            await self.refresh()
        return removed

    async def remove_entry(self, entry_id: str, by: int) -> bool:
        """Forget one of the owner's entries with its phrasings; its questions return to the list."""
        number = owner_entry_number(entry_id)
        removed = number is not None and await self.repo.remove_entry(number, by, self.clock.now())
        if removed:
            await self.refresh()
        return removed


def _entry(entry_id: str, language: str, question: str, answer: str) -> FaqEntry:
    """An owner's entry checked by the content model (lengths, non-empty), its answer escaped: it is plain
    text here. Validated under a stand-in id, since the owner's ids ('t.12') are outside content ids."""
    checked = FaqEntry(
        id="owner",
        title={language: question},
        questions={language: [question]},
        answer={language: str(html("{}", answer))},
    )
    return checked.model_copy(update={"id": entry_id})


def _answer_problem(answer: str, question: str, language: str) -> TeamText | str:
    if not answer:
        return TeamText(N_("The answer is empty."))
    if len(answer) > ANSWER_LIMIT:
        return TeamText(
            N_("The answer is {length} characters; {limit} at most."), length=len(answer), limit=ANSWER_LIMIT
        )
    try:
        _entry("owner", language, question, answer)
    except ValidationError as error:
        return TeamText.raw(str(error.errors()[0]["msg"]))  # the content model's own words
    return ""


def _as_entry(row: OwnerEntry, default: str) -> FaqEntry | None:
    try:
        return _entry(row.entry_id, default, row.question, row.answer)
    except ValidationError:  # stored before a stricter rule: leave it out rather than fail the start
        return None
