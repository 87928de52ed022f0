"""The FAQ's matcher built from the content: the concept lexicon (shipped defaults + the owner's
`faq_concepts`) prepared once, and the index over the entries and what the FAQ has learned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flows.faq_text import NO_CONCEPTS, Concepts


def faq_concepts(extra: Mapping[str, Mapping[str, Sequence[str]]] | None) -> Concepts:
    """The shipped concept lexicon extended by the owner's, prepared for matching."""
    try:
        from flows.lexicon import load_lexicon
    except ImportError:  # the lexicon lands separately
        return NO_CONCEPTS
    lexicon = load_lexicon(extra)
    phrases = {c.id: [item for items in c.terms.values() for item in items] for c in lexicon.concepts}
    return Concepts.build(phrases, lexicon.emoji())
