"""An FAQ entry's answer as a customer receives it: its text, photo and buttons.

The one builder for the bot's answers and the console's preview and "send to me". The buttons' callback
data is packed by the handlers' CallbackData factories, handed in as `FaqButtons`, so this module stays
free of aiogram.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flows.content import FaqEntry, Texts
from flows.markup import trusted
from flows.messenger import Button, Outgoing


@dataclass(frozen=True)
class FaqButtons:
    """Callback data for an answer's buttons."""

    manager: Callable[[str], str]  # the entry whose answer carried "ask a manager" → data
    entry: Callable[[str], str]  # another entry to open → data


def plain_faq_buttons() -> FaqButtons:
    """Button data without aiogram (flow-level tests and tools)."""
    return FaqButtons(manager=lambda entry: f"mg:0:{entry}", entry=lambda entry: f"fq:{entry}")


def answer_message(entry: FaqEntry, t: Texts, default: str, buttons: FaqButtons) -> Outgoing:
    """An entry's answer in `t`'s language (the default language's text where it has none)."""
    rows: list[list[Button]] = []
    for button in entry.buttons:
        label = t.local(button.text, default)
        if button.type == "link":
            rows.append([Button(label, url=button.url)])
        elif button.type == "manager":
            rows.append([Button(label, data=buttons.manager(entry.id))])
        else:
            assert button.faq is not None
            rows.append([Button(label, data=buttons.entry(button.faq))])
    text = trusted(t.local(entry.answer, default))  # the owner's HTML, as written
    return Outgoing(text, photo=entry.photo, buttons=rows)
