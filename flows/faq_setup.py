"""The FAQ's matcher built from the content: the concept lexicon (shipped defaults + the owner's
`faq_concepts`) prepared once, and the index over the entries and what the FAQ has learned."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from flows.content import Content, FaqEntry
from flows.faq_index import FaqIndex, Taught
from flows.faq_text import Concepts
from flows.lexicon import load_lexicon


def faq_concepts(extra: Mapping[str, Mapping[str, Sequence[str]]] | None) -> Concepts:
    """The shipped concept lexicon extended by the owner's, prepared for matching."""
    lexicon = load_lexicon(extra)
    phrases = {c.id: c.terms for c in lexicon.concepts}
    return Concepts.build(phrases, lexicon.emoji(), lexicon.broader())


def index_builder(content: Content) -> Callable[[Sequence[FaqEntry], Sequence[Taught]], FaqIndex]:
    """How this business's FAQ index is built: its concepts prepared once, then an index for the given
    entries and lessons (at start, and whenever the owner teaches or removes something)."""
    concepts = faq_concepts(content.faq_concepts)

    def build(entries: Sequence[FaqEntry], taught: Sequence[Taught]) -> FaqIndex:
        return FaqIndex(entries, taught=taught, concepts=concepts)

    return build
