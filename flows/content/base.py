"""Shared pieces of the content model: the base model, languages, durations, media paths and key types."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
)

from flows.i18n import N_
from flows.parsing import EARLIEST_YEAR, LATEST_YEAR, MAX_DAYS, ascii_digits
from flows.team_text import TeamError, TeamText

LANGUAGES = ("en", "ru", "uk")

LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "uk": "Українська"}


class ContentError(ValueError):
    """The content file cannot be used; the message names file, key and problem."""


class Invalid(TeamError):
    """A check of the content refusing a value, in words an owner reads in their language (a `TeamText`).

    `at` is the place inside the part being checked (`answer.en` of an FAQ entry, `tiers` of the loyalty
    rules), completed by where pydantic reports the error; `str()` stays `at: the English text`, as the
    content file's check prints it."""

    def __init__(self, message: str | TeamText, at: str = "") -> None:
        super().__init__(message)
        self.at = at
        if at:
            self.args = (f"{at}: {self.said}",)


def invalid(msgid: str, /, at: str = "", **values: object) -> Invalid:
    """`Invalid(TeamText(msgid, **values), at)`: mark `msgid` with `N_` where it is written."""
    return Invalid(TeamText(msgid, **values), at)


def quoted(value: object) -> str:
    """A value the owner typed, as the messages show it (`'vip'`)."""
    return repr(value)


DURATION_EXAMPLE = N_("{value} is not a duration (write e.g. 30s, 10m, 2h, 3d)")


class ContentModel(BaseModel):
    """Every part of the content file: unknown keys are errors (a typo must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


LocalText = dict[str, str]


Language = Literal["en", "ru", "uk"]


def all_languages() -> list[Language]:
    return ["en", "ru", "uk"]


_DURATION = re.compile(r"(\d{1,12})\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | int) -> timedelta:
    """`30s`, `10m`, `2h`, `3d`, `1w`, `1d 12h` or a bare number of seconds; at most `MAX_DAYS` days."""
    if isinstance(text, bool) or not isinstance(text, (int, str)):
        raise invalid(DURATION_EXAMPLE, value=quoted(text))
    cleaned = ascii_digits(str(text).strip().lower())
    if len(cleaned) > 40:
        raise invalid(DURATION_EXAMPLE, value=quoted(str(text)[:20] + "…"))
    if cleaned.lstrip("-").isdecimal():
        seconds = int(cleaned)
    else:
        parts = _DURATION.findall(cleaned)
        if not parts or _DURATION.sub("", cleaned).strip():
            raise invalid(DURATION_EXAMPLE, value=quoted(text))
        seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in parts)
    if not 0 <= seconds <= MAX_DAYS * 86400:
        raise invalid(N_("{value} is out of range: from 0 to {most} days"), value=quoted(text), most=MAX_DAYS)
    return timedelta(seconds=seconds)


def _in_years(day: date) -> date:
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise invalid(
            N_("the year must be from {first} to {last}"), first=str(EARLIEST_YEAR), last=str(LATEST_YEAR)
        )
    return day


BoundedDate = Annotated[date, AfterValidator(_in_years)]
MAX_MONEY = Decimal(10) ** 12  # an amount in the content file; more is a typo (and overflows cents in SQLite)


def resolve_media(value: str | None, info: ValidationInfo) -> str | None:
    """An URL or a Telegram file_id stays as it is; a file path is taken relative to the content file; a
    photo uploaded in the console (`media:<id>`) must be one the database holds, when it is known
    (`context["media"]`: every upload's kind by id)."""
    context = info.context or {}
    if value is not None and value.startswith("media:"):
        return _uploaded_photo(value, context.get("media"))
    if value is None or "://" in value or ("/" not in value and "." not in value):
        return value
    base = Path(context.get("base", "."))
    path = (base / value).resolve()
    # Content edited in the console stays in the content's folder: a page must not be a way to have the
    # bot upload any file of the server (the content file itself, read by whoever runs the bot, may).
    if context.get("contained") and not path.is_relative_to(base.resolve()):
        raise invalid(
            N_("photo file {name} must be in the content file's folder (or give a link)"), name=quoted(value)
        )
    if not path.is_file():
        raise invalid(N_("photo file {name} not found next to the content file"), name=quoted(value))
    return str(path)


def _uploaded_photo(value: str, known: dict[int, str] | None) -> str:
    number = value.removeprefix("media:")
    if not number.isdecimal() or len(number) > 12:
        raise invalid(N_("{value} is not an uploaded photo (media: and its number)"), value=quoted(value))
    if known is not None and known.get(int(number)) != "photo":
        raise invalid(N_("there is no uploaded photo {value} (upload it again)"), value=quoted(value))
    return value


Tag = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,24}$")]
SequenceName = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,24}$")]


Key = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,24}$")]
