"""The FAQ entries and the handoff set-up (working hours, buying-intent keywords)."""

from __future__ import annotations

import re
from datetime import time as dt_time
from typing import Annotated, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from flows import telegram_html
from flows.content.base import (
    ContentModel,
    Invalid,
    LocalText,
    invalid,
    quoted,
    resolve_media,
)
from flows.i18n import N_

FaqId = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,32}$")]


class FaqButton(ContentModel):
    type: Literal["link", "manager", "faq"]
    text: LocalText
    url: str | None = None
    faq: FaqId | None = None

    @model_validator(mode="after")
    def _needs(self) -> FaqButton:
        if self.type == "link" and not (self.url or "").startswith(("https://", "http://", "tg://")):
            raise invalid(N_("a link button needs url starting with https://"))
        if self.type == "faq" and not self.faq:
            raise invalid(N_("a faq button needs faq (the id of another entry)"))
        return self


class FaqEntry(ContentModel):
    """One question with several phrasings per language, and its answer."""

    id: FaqId
    title: LocalText = Field(default_factory=dict)  # the label in /faq; default: the first phrasing
    questions: dict[str, list[str]]
    answer: LocalText
    photo: str | None = None
    buttons: list[FaqButton] = Field(default_factory=list)

    @field_validator("photo")
    @classmethod
    def _photo_source(cls, value: str | None, info: ValidationInfo) -> str | None:
        return resolve_media(value, info)  # a file next to the content file, as a step's photo

    @model_validator(mode="after")
    def _fits_telegram(self) -> FaqEntry:
        limit = 1024 if self.photo else 4096
        for language, text in self.answer.items():
            if len(text) > limit:
                raise invalid(
                    N_("the answer is {length} characters; Telegram allows {limit} here"),
                    f"answer.{language}",
                    length=len(text),
                    limit=limit,
                )
            for problem in telegram_html.read(text).problems:  # Telegram would refuse the whole message
                raise Invalid(problem.said(), f"answer.{language}")
        for language, phrasings in self.questions.items():
            if not phrasings or not all(p.strip() for p in phrasings):
                raise invalid(N_("list at least one non-empty phrasing"), f"questions.{language}")
        return self

    def label(self, language: str, default: str) -> str:
        """The menu label in a language: its title, else its first phrasing."""
        title = self.title.get(language) or self.title.get(default)
        if title:
            return title
        phrasings = (
            self.questions.get(language) or self.questions.get(default) or next(iter(self.questions.values()))
        )
        return phrasings[0]


_HOURS = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Handoff(ContentModel):
    """Handing customers to a manager: working hours (local time) and buying-intent keywords."""

    # e.g. {mon: "09:00-20:00", sat: "10:00-16:00"}; a day not listed is a day off; empty: always open.
    working_hours: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], str] = Field(
        default_factory=dict
    )
    intent_keywords: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("working_hours")
    @classmethod
    def _ranges(cls, hours: dict[str, str]) -> dict[str, str]:
        for day, text in hours.items():
            match = _HOURS.match(str(text))
            if not match:
                raise invalid(N_("write hours as HH:MM-HH:MM, e.g. 09:00-20:00"), day)
            try:
                start, end = (dt_time.fromisoformat(part.zfill(5)) for part in match.groups())
            except ValueError:
                raise invalid(N_("{text} is not a time range"), day, text=quoted(text)) from None
            if start >= end:
                raise invalid(
                    N_("opening {start} must be before closing {end}"),
                    day,
                    start=f"{start:%H:%M}",
                    end=f"{end:%H:%M}",
                )
        return hours

    def hours_of(self, weekday: int) -> tuple[dt_time, dt_time] | None:
        """Opening and closing time on a weekday (0 = Monday), or None on a day off."""
        text = self.working_hours.get(WEEKDAYS[weekday])  # type: ignore[call-overload]
        if text is None:
            return None
        match = _HOURS.match(text)
        assert match is not None
        start, end = (dt_time.fromisoformat(part.zfill(5)) for part in match.groups())
        return start, end
