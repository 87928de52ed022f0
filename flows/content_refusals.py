"""pydantic's own refusals of a content value (a missing key, text where a number goes …) in our short words.

The content model's checks raise `flows.content.base.Invalid` with a translatable text; what pydantic
checks by itself (types, bounds, patterns, choices) comes as an error `type` with its `ctx` values. Each
type an owner can meet is mapped here to a `TeamText`, shown in the reader's language next to the field.
A type without a mapping falls back to pydantic's own message (readable English), so nothing is ever
hidden; `tests/test_content_refusals.py` lists the mapped types, so that a new one is a decision.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from flows.i18n import N_
from flows.team_text import TeamText

# A key of the content file (`vip`, `spring-sale`): lower-case letters, digits, _ and -, up to a length.
_KEY_PATTERN = re.compile(r"^\^\[a-z0-9_-\]\{1,(\d+)\}\$$")

Refusal = Callable[[Mapping[str, Any]], TeamText]


def _number(value: object) -> object:
    """A bound as the owner writes it: whole numbers as numbers (formatted for the locale), others as text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value.normalize())
    return value


def _text(msgid: str) -> Refusal:
    return lambda ctx: TeamText(msgid)


def _bound(msgid: str, name: str) -> Refusal:
    return lambda ctx: TeamText(msgid, limit=_number(ctx.get(name, "")))


def _choices(ctx: Mapping[str, Any]) -> TeamText:
    # pydantic writes the choices as "'a', 'b' or 'c'": the "or" is English, so a comma replaces it.
    return TeamText(N_("must be one of: {options}"), options=str(ctx.get("expected", "")).replace(" or ", ", "))


def _pattern(ctx: Mapping[str, Any]) -> TeamText:
    key = _KEY_PATTERN.match(str(ctx.get("pattern", "")))
    if key:
        return TeamText(
            N_("use lower-case latin letters, digits, _ and - (at most {limit})"), limit=int(key.group(1))
        )
    return TeamText(N_("is not written in the expected form ({pattern})"), pattern=str(ctx.get("pattern", "")))


WHOLE = N_("must be a whole number")
NUMBER = N_("must be a number")
DATE = N_("must be a date, e.g. 2025-03-08")
TIME = N_("must be a time of day, e.g. 10:00")

REFUSALS: dict[str, Refusal] = {
    "missing": _text(N_("is required")),
    "extra_forbidden": _text(N_("is not a key here (a typo?)")),
    "string_type": _text(N_("must be text")),
    "string_too_short": _bound(N_("must be at least {limit} characters"), "min_length"),
    "string_too_long": _bound(N_("must be at most {limit} characters"), "max_length"),
    "string_pattern_mismatch": _pattern,
    "int_type": _text(WHOLE),
    "int_parsing": _text(WHOLE),
    "int_from_float": _text(WHOLE),
    "float_type": _text(NUMBER),
    "float_parsing": _text(NUMBER),
    "decimal_type": _text(NUMBER),
    "decimal_parsing": _text(NUMBER),
    "finite_number": _text(NUMBER),
    "decimal_max_digits": _text(N_("has too many digits")),
    "decimal_max_places": _bound(N_("at most {limit} digits after the point"), "decimal_places"),
    "decimal_whole_digits": _text(N_("has too many digits")),
    "greater_than": _bound(N_("must be more than {limit}"), "gt"),
    "greater_than_equal": _bound(N_("must be at least {limit}"), "ge"),
    "less_than": _bound(N_("must be less than {limit}"), "lt"),
    "less_than_equal": _bound(N_("must be at most {limit}"), "le"),
    "multiple_of": _bound(N_("must be a multiple of {limit}"), "multiple_of"),
    "bool_type": _text(N_("must be yes or no (true or false)")),
    "bool_parsing": _text(N_("must be yes or no (true or false)")),
    "literal_error": _choices,
    "enum": _choices,
    "dict_type": _text(N_("must be a mapping of keys and values")),
    "model_type": _text(N_("must be a mapping of keys and values")),
    "model_attributes_type": _text(N_("must be a mapping of keys and values")),
    "list_type": _text(N_("must be a list")),
    "too_short": _bound(N_("must have at least {limit} items"), "min_length"),
    "too_long": _bound(N_("must have at most {limit} items"), "max_length"),
    "date_type": _text(DATE),
    "date_parsing": _text(DATE),
    "date_from_datetime_parsing": _text(DATE),
    "date_from_datetime_inexact": _text(DATE),
    "time_type": _text(TIME),
    "time_parsing": _text(TIME),
    "timedelta_type": _text(N_("must be a duration, e.g. 30s, 10m, 2h, 3d")),
    "timedelta_parsing": _text(N_("must be a duration, e.g. 30s, 10m, 2h, 3d")),
}


def refusal(error: Mapping[str, Any]) -> TeamText:
    """pydantic's error (an item of `ValidationError.errors()`) as a text for the owner; pydantic's own
    English message when its type is not one we word ourselves."""
    worded = REFUSALS.get(str(error.get("type", "")))
    if worded is None:
        return TeamText.raw(str(error.get("msg", "")).removeprefix("Value error, "))
    return worded(error.get("ctx") or {})
