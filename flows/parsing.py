"""What people type, read one way everywhere: whole numbers, point changes, durations and dates, with bounds.

Every parser here either returns a value inside its bounds or raises `ParseError` whose message is a
short answer for the person who typed it — never a `ValueError` from `int()` or an `OverflowError`
from date arithmetic three calls later. The answer is a `TeamText` (flows/team_text.py): `str(error)` is
English, `error.html(tr)` / `error.text(tr)` the reader's language.

Digits: the decimal digits of any script (Arabic-Indic ٣, Persian ۳, Devanagari ३, fullwidth ３) are read
as 0–9, because a cashier types with the keyboard they have. Characters that only look like digits
(superscripts ², circled ①, fractions ½) are not digits and are refused with a word saying so.

The bounds are far beyond any real business and well inside what SQLite integers (2⁶³) and Python's
`datetime` (years 1–9999) can hold, so a value that passes can be stored and computed with.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, time, tzinfo

from babel.numbers import format_decimal

from flows.i18n import N_
from flows.team_text import TeamError, TeamText

MAX_DAYS = 36_500  # about 100 years: a longer duration is a typo, and date arithmetic must stay in range
MAX_POINTS = 10_000_000  # one correction or opening balance; beyond it is a typo
MAX_COUNT = 1_000_000_000  # counts of purchases, coupons, customers
MAX_ID = 2**53  # Telegram user and chat ids fit in 52 bits
EARLIEST_YEAR = 1970  # purchases, joins and broadcasts happen after this …
LATEST_YEAR = 2200  # … and before this; outside is a typo (and near year 1 or 9999 zone shifts overflow)
_UNITS = {"": 1, "d": 1, "w": 7, "m": 30}
_DAYS = re.compile(r"^(\d{1,9})([dwm]?)$")
_SIGNED = re.compile(r"^([+-]?)(\d+)$")
NUMBER = TeamText(N_("number"))
_DATE_FORMS = N_("Write the date as 2026-01-05, 2026-01-05 14:30 or 05.01.2026.")


class ParseError(TeamError):
    """Text that is not what was asked for; `str(error)` is a short answer for whoever typed it (in English;
    `error.text(tr)` in their language)."""


def _grouped(value: int) -> Callable[[str], str]:
    """A big bound as the reader's locale writes it; English groups with spaces (`10 000 000`), as before."""
    return lambda language: (
        f"{value:,}".replace(",", " ") if language == "en" else format_decimal(value, locale=language)
    )


def shorten(text: str, limit: int = 60) -> str:
    """Text a person typed, cut for quoting it back: an answer must fit Telegram's 4096 characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ascii_digits(text: str) -> str:
    """The same text with every decimal digit of any script replaced by its ASCII digit."""
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def _not_digits(text: str) -> TeamText | None:
    """A word for the first character that looks like a digit but is not one (², ①, ½), if any."""
    for ch in text:
        if (ch.isdigit() or ch.isnumeric()) and not ch.isdecimal():
            return TeamText(N_("«{char}» is not a digit; type it with 0–9"), char=ch)
    return None


def clean(text: str | None) -> str:
    """Strip whitespace and invisible marks (RTL/LTR marks, zero-width spaces) people paste by accident."""
    if not text:
        return ""
    kept = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc") or ch in "\n\t")
    return ascii_digits(kept.strip())


def parse_whole(
    text: str | None, *, minimum: int = 0, maximum: int = MAX_COUNT, what: str | TeamText = NUMBER
) -> int:
    """A whole number in [minimum, maximum]; `1 000` and `1,000` are read as one thousand.

    `what` names the number in the answer: a `TeamText`, or an English noun (translated when the
    catalogue has it)."""
    cleaned = re.sub(r"[\s,'_\u00a0\u202f]", "", clean(text))
    name = what if isinstance(what, TeamText) else TeamText(what)
    if not cleaned:
        raise ParseError(TeamText(N_("Expected a {what}, got nothing."), what=name))
    if not cleaned.isdecimal() or not cleaned.isascii():
        example = str(max(minimum, 1))
        raise ParseError(
            _not_digits(cleaned)
            or TeamText(N_("Expected a whole {what} (digits only), e.g. {example}."), what=name, example=example)
        )
    if len(cleaned) > len(str(maximum)) + 1 or not minimum <= int(cleaned) <= maximum:
        raise ParseError(
            TeamText(
                N_("The {what} must be from {minimum} to {maximum}."),
                what=name,
                minimum=_grouped(minimum),
                maximum=_grouped(maximum),
            )
        )
    return int(cleaned)


def parse_points_delta(text: str | None, maximum: int = MAX_POINTS) -> int:
    """`+50`, `-20` or `50`: a change of points, not zero, at most `maximum` either way."""
    cleaned = clean(text).replace("\u2212", "-")  # the typographic minus sign
    match = _SIGNED.match(cleaned)
    if match is None:
        raise ParseError(_not_digits(cleaned) or TeamText(N_("Write the change as +50 or -20.")))
    digits = match[2].lstrip("0")
    if not digits:
        raise ParseError(TeamText(N_("The change cannot be zero.")))
    if len(digits) > len(str(maximum)) or int(digits) > maximum:
        raise ParseError(
            TeamText.ngettext(
                "At most {n} point at a time.", "At most {n} points at a time.", maximum, n=_grouped(maximum)
            )
        )
    return -int(digits) if match[1] == "-" else int(digits)


def parse_days(text: str | None, maximum: int = MAX_DAYS) -> int:
    """`30`, `30d`, `2w` or `3m` (a month is 30 days) as a number of days from 0 to `maximum`."""
    cleaned = clean(text).lower()
    match = _DAYS.match(cleaned)
    if match is None:
        raise ParseError(
            _not_digits(cleaned) or TeamText(N_("Expected a number of days such as 30d (or 2w, 3m)."))
        )
    days = int(match[1]) * _UNITS[match[2]]
    if days > maximum:
        raise ParseError(
            TeamText.ngettext(
                "At most {n} day (about {years} years).",
                "At most {n} days (about {years} years).",
                maximum,
                n=_grouped(maximum),
                years=maximum // 365,
            )
        )
    return days


def in_range(moment: datetime) -> bool:
    """Whether an aware or naive moment lies in the years this bot deals with."""
    return EARLIEST_YEAR <= moment.year <= LATEST_YEAR


def to_utc(moment: datetime, zone: tzinfo) -> datetime:
    """An aware UTC moment; a naive one is read in `zone`. `ParseError` outside 1970–2200."""
    if not in_range(moment):
        raise ParseError(
            TeamText(
                N_("The year must be from {first} to {last}."), first=str(EARLIEST_YEAR), last=str(LATEST_YEAR)
            )
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def parse_moment(text: str | None, zone: tzinfo) -> datetime:
    """`2026-01-05`, `2026-01-05 14:30`, `2026-01-05T14:30:00+02:00` or `05.01.2026 [14:30]` as UTC.

    Local to `zone` unless the text names its offset; a bare date means noon (a day's middle survives
    any zone shift).
    """
    cleaned = clean(text)
    if not cleaned or len(cleaned) > 40:
        raise ParseError(TeamText(_DATE_FORMS))
    for fmt, noon in (("%d.%m.%Y %H:%M", False), ("%d.%m.%Y", True)):
        try:
            parsed = datetime.strptime(cleaned, fmt)
        except ValueError:
            continue
        return to_utc(parsed.replace(hour=12) if noon else parsed, zone)
    try:
        # Before fromisoformat, which reads a bare date as midnight (the day before, in UTC, east of it).
        moment = datetime.combine(date.fromisoformat(cleaned), time(12, 0))
    except ValueError:
        try:
            moment = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
        except ValueError:
            raise ParseError(TeamText(_DATE_FORMS)) from None
    return to_utc(moment, zone)


def parse_telegram_id(text: str | None) -> int:
    """A Telegram user id: a positive whole number."""
    return parse_whole(text, minimum=1, maximum=MAX_ID, what=TeamText(N_("Telegram id")))
