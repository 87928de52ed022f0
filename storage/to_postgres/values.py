"""Values as SQLite stored them, converted to what each PostgreSQL column takes.

SQLite stores by value (an INTEGER column may hold text, a TEXT column a number); PostgreSQL wants the
column's own type, and asyncpg's binary COPY wants the matching Python type. The PostgreSQL column's type
decides: integers used as booleans become booleans, text moments become timestamps, JSON text stays text
(asyncpg sends json as text), text in a BLOB column becomes its UTF-8 bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from storage.postgres import INTEGER_TEXT, NUL, REAL_TEXT, REPLACEMENT

Convert = Callable[[Any], Any]


class Unconvertible(ValueError):
    """A stored value the PostgreSQL column cannot take."""


def _integer(value: Any) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and INTEGER_TEXT.fullmatch(value):  # ASCII digits, as SQLite reads them
        return int(value)
    raise Unconvertible("not a whole number")


def _real(value: Any) -> float:
    if isinstance(value, float | int):
        return float(value)
    if isinstance(value, str) and REAL_TEXT.fullmatch(value):  # not "1_000" or "nan", as Python would
        return float(value)
    raise Unconvertible("not a number")


def _numeric(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise Unconvertible("not a number") from None


def _text(value: Any) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes):
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            raise Unconvertible("bytes that are not UTF-8 text") from None
    else:
        text = str(value)
    return text.replace(NUL, REPLACEMENT)  # as the bot stores it on PostgreSQL (storage/postgres.py)


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise Unconvertible("not bytes")


def _boolean(value: Any) -> bool:
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _WORDS:
        return _WORDS[value.strip().lower()]
    raise Unconvertible("not 0 or 1")


_WORDS = {"0": False, "1": True, "false": False, "true": True}


def _moment(value: Any) -> datetime:
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
        except (ValueError, OverflowError, OSError):  # NaN, or beyond the years a datetime holds
            raise Unconvertible("not a date and time") from None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Unconvertible("not a date and time") from None


def _naive(value: Any) -> datetime:
    """timestamp without time zone: stored moments are UTC already."""
    moment = _moment(value)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _aware(value: Any) -> datetime:
    """timestamptz: a moment without a zone is UTC (every stored moment is)."""
    moment = _moment(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(value: Any) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise Unconvertible("not a date") from None


def _json(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    try:
        json.loads(text)
    except ValueError:
        raise Unconvertible("not JSON") from None
    return text


_BY_TYPE: dict[str, Convert] = {
    **dict.fromkeys(("int2", "int4", "int8"), _integer),
    **dict.fromkeys(("float4", "float8"), _real),
    "numeric": _numeric,
    **dict.fromkeys(("text", "varchar", "bpchar", "name"), _text),
    "bytea": _bytes,
    "bool": _boolean,
    "timestamp": _naive,
    "timestamptz": _aware,
    "date": _day,
    **dict.fromkeys(("json", "jsonb"), _json),
}


def converter(pg_type: str) -> Convert:
    """How to convert a stored SQLite value for a PostgreSQL column of type `pg_type` (pg_type.typname);
    a type not listed here takes the value as it is. None stays None (the caller skips it)."""
    return _BY_TYPE.get(pg_type, _as_is)


def _as_is(value: Any) -> Any:
    return value
