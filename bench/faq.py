"""How well and how fast the FAQ matcher answers: the blind evaluation of tests/faq_eval, per part and
language, and the latency of a question against a 100-entry FAQ.

`python -m bench faq` prints both parts; tune only on the figures of the tuning part (`--failures` lists
its misses, never the held-out ones).
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import resource
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bench.common import table
from flows.content import FaqEntry, example_content_path, load_content
from flows.faq_index import DEFAULT_TUNING, FaqIndex, Tuning
from flows.faq_setup import faq_concepts
from flows.faq_text import Concepts, lemmas_of
from flows.lemmas import lemma_options, words_of
from flows.lexicon import load_lexicon
from flows.markup import visible_text
from tests.faq_eval import BUSINESSES, EvalQuestion, load_business, load_questions
from tests.faq_eval_set import EVAL_SET


@dataclass
class Tally:
    """Outcomes of one group of questions."""

    asked: int = 0  # questions the FAQ answers
    right: int = 0  # ... answered confidently with the right entry
    offered: int = 0  # ... not answered, but the right entry is among the suggestions
    wrong: int = 0  # answered confidently with a wrong entry (out-of-scope ones included)
    outside: int = 0  # questions no entry answers
    outside_answered: int = 0  # ... answered confidently anyway
    misses: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.asked + self.outside

    @property
    def correct(self) -> int:
        """In scope: the right answer; out of scope: no confident answer."""
        return self.right + self.outside - self.outside_answered

    def row(self, name: str) -> list[object]:
        def share(n: int, of: int) -> str:
            return f"{n / of:.0%}" if of else "–"

        return [
            name,
            self.total,
            share(self.correct, self.total),
            share(self.right, self.asked),
            share(self.right + self.offered, self.asked),
            share(self.wrong, self.total),
            f"{self.outside_answered}/{self.outside}",
        ]


HEADER = [
    "group",
    "questions",
    "correct",
    "answered right",
    "right or offered",
    "confidently wrong",
    "outside answered",
]


@functools.cache
def shipped_concepts() -> Concepts:
    """The shipped lexicon, prepared once for every index the benchmark builds."""
    return faq_concepts(None)


def indexes(tuning: Tuning = DEFAULT_TUNING) -> dict[str, FaqIndex]:
    concepts = shipped_concepts()
    return {name: FaqIndex(load_business(name), concepts=concepts, tuning=tuning) for name in BUSINESSES}


def evaluate(questions: Iterable[EvalQuestion], by: dict[str, FaqIndex]) -> dict[str, Tally]:
    tallies: dict[str, Tally] = {}
    for item in questions:
        verdict = by[item.business].judge(item.q)
        for key in ("all", item.lang, f"kind:{item.kind}"):
            _count(tallies.setdefault(key, Tally()), item, verdict.kind, verdict.entry, verdict.candidates)
    return tallies


def _count(tally: Tally, item: EvalQuestion, kind: str, entry: str | None, candidates: Sequence[str]) -> None:
    confident = kind == "answer"
    if item.expect is None:
        tally.outside += 1
        tally.outside_answered += confident
        tally.wrong += confident
        if confident:
            tally.misses.append(f"[{item.business}] {item.q!r}: outside, answered {entry}")
        return
    tally.asked += 1
    if confident and entry == item.expect:
        tally.right += 1
        return
    tally.wrong += confident
    tally.offered += item.expect in candidates
    tally.misses.append(
        f"[{item.business}] {item.q!r}: expected {item.expect}, got {kind} {entry or list(candidates)}"
    )


def accuracy(show_failures: bool) -> None:
    by = indexes()
    for part in ("tune", "held_out"):
        tallies = evaluate(load_questions(part), by)
        order = ["all", "en", "ru", "uk", *sorted(k for k in tallies if k.startswith("kind:"))]
        print(f"\nFAQ evaluation, {part} part")
        print(table(HEADER, [tallies[k].row(k) for k in order if k in tallies]))
        if show_failures and part == "tune":
            print("\n".join(tallies["all"].misses))


# The values each dial may take in the search; the search sees only the tuning part.
DIALS: dict[str, tuple[float, ...]] = {
    "confident": (0.4, 0.45, 0.5, 0.55, 0.6),
    "margin": (0.04, 0.06, 0.08, 0.1, 0.12, 0.16),
    "clear_lead": (0.1, 0.15, 0.2, 0.25, 0.3, 0.4),
    "close": (0.15, 0.2, 0.25, 0.3),
    "answer_credit": (0.2, 0.35, 0.5, 0.7),
    "unknown_share": (0.2, 0.3, 0.45, 0.6, 0.8),
    "best_phrasing": (0.2, 0.35, 0.5, 0.65),
    "concept_boost": (1.0, 1.5, 2.0, 3.0),
    "question_word": (0.2, 0.35, 0.5, 0.75, 1.0),
    "snap_cutoff": (75, 80, 85, 90),
    "missing_topic": (0.5, 1.0, 1.5, 2.0, 3.0),
    "owned_topic": (0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6),
}
WRONG_COST = 4  # a confidently wrong answer costs four right ones


def objective(tuning: Tuning, questions: list[EvalQuestion]) -> float:
    """Correct less four times confidently wrong, on the tuning part and on the example studio's own
    tuning questions (tests/faq_eval_set.py EVAL_SET: an FAQ with many phrasings), so the dials suit
    owners who write two phrasings and owners who write nine."""
    by = indexes(tuning)
    example = load_content(example_content_path())
    by["example"] = FaqIndex(example.faq, concepts=shipped_concepts(), tuning=tuning)
    asked = [*questions, *(EvalQuestion("example", "en", "paraphrase", q, e) for q, e in EVAL_SET)]  # type: ignore[arg-type]
    tally = evaluate(asked, by)["all"]
    return (tally.correct - WRONG_COST * tally.wrong) / tally.total


def search() -> Tuning:
    """Coordinate search over the dials on the tuning part: each dial in turn to its best value, three
    rounds. Prints the best dials; copy them into `Tuning`'s defaults."""
    questions = load_questions("tune")
    best = Tuning()
    best_score = objective(best, questions)
    for _ in range(3):
        for dial, values in DIALS.items():
            for value in values:
                trial = dataclasses.replace(best, **{dial: value})
                score = objective(trial, questions)
                if score > best_score + 1e-9:
                    best, best_score = trial, score
        print(f"search round: {best_score:.3f} {best}")
    return best


def hundred_entries() -> list[FaqEntry]:
    """A 100-entry FAQ: the three evaluation businesses and the example studio, then copies under new
    ids (as a chain with several outlets would have)."""
    base = [e for name in BUSINESSES for e in load_business(name)]
    base += list(load_content(example_content_path()).faq)
    entries: list[FaqEntry] = []
    copy = 0
    while len(entries) < 100:
        for entry in base:
            if len(entries) < 100:
                entries.append(entry.model_copy(update={"id": f"{entry.id}-{copy}"}))
        copy += 1
    return entries


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def latency() -> None:
    before = rss_mb()
    started = time.perf_counter()
    index = FaqIndex(hundred_entries(), concepts=shipped_concepts())
    built = time.perf_counter() - started
    questions = [q.q for part in ("tune", "held_out") for q in load_questions(part)]  # type: ignore[arg-type]
    rows = []
    for name, texts in (
        ("first sight", questions),
        ("seen before", questions),
        ("4,000 characters", [_long(q) for q in questions[:60]]),
    ):
        times = []
        for text in texts:
            gc.disable()
            start = time.perf_counter()
            index.judge(text)
            times.append((time.perf_counter() - start) * 1000)
            gc.enable()
        times.sort()
        rows.append(
            [
                name,
                len(times),
                f"{statistics.median(times):.2f}",
                f"{times[int(len(times) * 0.95) - 1]:.2f}",
                f"{max(times):.2f}",
            ]
        )
    print(
        f"\nFAQ latency, 100 entries (index built in {built * 1000:.0f} ms; memory {before:.0f} → {rss_mb():.0f} MB)"
    )
    print(table(["questions", "n", "p50 ms", "p95 ms", "max ms"], rows))
    grow = rss_mb()
    for i in range(20_000):
        index.judge(f"question number {i} about zqx{i} prices")
    print(f"memory after 20,000 distinct questions: {grow:.0f} → {rss_mb():.0f} MB (bounded caches)")


def _long(question: str) -> str:
    filler = " I wanted to tell you a long story about my week and everything that happened in it."
    return (question + filler * 60)[:4000]


def unseen(show_failures: bool) -> None:
    """The tuning part as if the lexicon had never seen its questions' words: for each question, the
    lexicon items it uses that the business's FAQ text does not are taken out. The held-out questions
    use words the lexicon's writers did not think of more often than the tuning ones, which their misses
    shaped; this measures what the rest of the matcher does without them, on the tuning part only."""
    lexicon = load_lexicon(None)
    items = [
        (concept.id, language, item, frozenset(lemmas_of(item, language)))
        for concept in lexicon.concepts
        for language, terms in concept.terms.items()
        for item in terms
    ]
    faqs = {name: load_business(name) for name in BUSINESSES}
    said = {name: _words_of_faq(entries) for name, entries in faqs.items()}
    tallies: dict[str, Tally] = {}
    for item in load_questions("tune"):
        asked = {option for word in words_of(item.q) for option in lemma_options(word)}
        phrases: dict[str, dict[str, list[str]]] = {}
        for concept, language, term, lemmas in items:
            if not (lemmas and lemmas <= asked and not lemmas <= said[item.business]):
                phrases.setdefault(concept, {}).setdefault(language, []).append(term)
        concepts = Concepts.build(phrases, lexicon.emoji(), lexicon.broader())
        index = FaqIndex(faqs[item.business], concepts=concepts)
        verdict = index.judge(item.q)
        for key in ("all", item.lang, f"kind:{item.kind}"):
            _count(tallies.setdefault(key, Tally()), item, verdict.kind, verdict.entry, verdict.candidates)
    order = ["all", "en", "ru", "uk", *sorted(k for k in tallies if k.startswith("kind:"))]
    print("\nFAQ evaluation, tune part, each question's own lexicon items taken out")
    print(table(HEADER, [tallies[k].row(k) for k in order if k in tallies]))
    if show_failures:
        print("\n".join(tallies["all"].misses))


def _words_of_faq(entries: Sequence[FaqEntry]) -> set[str]:
    words: set[str] = set()
    for entry in entries:
        for text in (
            *[q for qs in entry.questions.values() for q in qs],
            *entry.title.values(),
            *entry.answer.values(),
        ):
            words |= set(lemmas_of(visible_text(text)))
    return words


def main(argv: list[str]) -> None:
    if "--search" in argv:
        search()
        return
    if "--unseen" in argv:
        unseen("--failures" in argv)
        return
    accuracy("--failures" in argv)
    if "--accuracy-only" not in argv:
        latency()
