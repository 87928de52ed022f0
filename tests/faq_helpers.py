"""A FAQ entry in one line, for tests of the matcher."""

from __future__ import annotations

from flows.content import FaqEntry


def faq_entry(key: str, en: str, ru: str, uk: str) -> FaqEntry:
    """An entry `key` asked one way in each language, whose answer names it."""
    return FaqEntry(
        id=key,
        questions={"en": [en], "ru": [ru], "uk": [uk]},
        answer={"en": f"About {key}.", "ru": f"Про {key}.", "uk": f"Про {key}."},
    )
