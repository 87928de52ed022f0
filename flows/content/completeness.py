"""Every declared customer language must be complete, unless the owner lets it fall back to the default.

A text missing in Russian would otherwise reach a Russian-speaking customer in English without anyone
noticing; the owner opts into that per language with `business.fallback_to_default: [uk]`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from flows.content.base import invalid
from flows.content.texts import TEXT_KEYS
from flows.i18n import N_
from flows.team_text import TeamText

if TYPE_CHECKING:
    from flows.content.model import Content


def _local(path: str, texts: Mapping[str, object], language: str) -> Iterator[str]:
    if not texts.get(language):
        yield path


def missing_in(content: Content, language: str) -> Iterator[str]:
    """The places (`sequences[welcome].steps[2].text`) that have no text in `language`."""
    yield from (f"texts.{language}.{key}" for key in TEXT_KEYS if key not in content.texts.get(language, {}))
    for interest in content.onboarding.interests:
        yield from _local(f"onboarding.interests[{interest.tag}].title", interest.title, language)
    for seq in content.sequences:
        for number, step in enumerate(seq.steps, 1):
            where = f"sequences[{seq.name}].steps[{number}]"
            yield from _local(f"{where}.text", step.text, language)
            for index, button in enumerate(step.buttons, 1):
                yield from _local(f"{where}.buttons[{index}].text", button.text, language)
    for entry in content.faq:
        where = f"faq[{entry.id}]"
        if entry.title:
            yield from _local(f"{where}.title", entry.title, language)
        yield from _local(f"{where}.questions", entry.questions, language)
        yield from _local(f"{where}.answer", entry.answer, language)
        for index, faq_button in enumerate(entry.buttons, 1):
            yield from _local(f"{where}.buttons[{index}].text", faq_button.text, language)
    loyalty = content.loyalty
    for tier in loyalty.tiers:
        yield from _local(f"loyalty.tiers[{tier.key}].title", tier.title, language)
        if tier.perks:
            yield from _local(f"loyalty.tiers[{tier.key}].perks", tier.perks, language)
    for kind, items in (("catalog", loyalty.catalog), ("coupons", loyalty.coupons)):
        for item in items:
            yield from _local(f"loyalty.{kind}[{item.key}].title", item.title, language)


def check_complete(content: Content) -> None:
    """Raise ValueError naming the first missing text of a declared language that may not fall back."""
    business = content.business
    for language in business.languages:
        if language == business.default_language or language in business.fallback_to_default:
            continue
        missing = list(missing_in(content, language))
        if missing:
            more = (
                TeamText.ngettext(
                    " (and {n} more {language} text)",
                    " (and {n} more {language} texts)",
                    len(missing) - 1,
                    language=language,
                )
                if len(missing) > 1
                else ""
            )
            raise invalid(
                N_(
                    "the {language} text is missing{more}; write it, or add {language} to "
                    "business.fallback_to_default to show the {default} text instead"
                ),
                missing[0],
                language=language,
                more=more,
                default=business.default_language,
            )
