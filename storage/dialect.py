"""The few SQL snippets that must differ between SQLite and PostgreSQL: one function per construct.

Repositories write one SQL for both engines wherever the two agree (nearly everywhere: moments are stored
as UTC text in one form, `storage/timefmt.py`, so bounds are computed in Python and compared as text). What
neither engine can say the other's way is asked for here, by the engine a `Database` reports
(`engine_of`), so no repository tests the engine itself. Every function returns an SQL expression; the
arguments are SQL expressions too (column names, ``?``), never values from the input.
"""

from __future__ import annotations

from storage.db import Engine

# When a repeat buyer (purchases >= 2) falls asleep: the last purchase plus twice their usual interval, at
# least 7 days. On SQLite the very expression of the index purchase_totals_sleeps (migration 0006), which
# SQLite uses only when a query repeats it exactly; on PostgreSQL the IMMUTABLE function that index is on.
_SLEEPS_AT = {
    "sqlite": "datetime(julianday(last_at) + MAX(2.0 * (julianday(last_at) - julianday(first_at))"
    " / (purchases - 1), 7.0))",
    "postgresql": "purchase_sleeps_at(first_at, last_at, purchases)",
}

_STORED_FORM = "'YYYY-MM-DD HH24:MI:SS'"  # timefmt.to_db's form, in PostgreSQL's to_char


def engine_of(handle: object) -> Engine:
    """The engine behind a reader: a `Database` (or the analytics' `ReadPool`) says it in `engine`; a reader
    that says nothing can only be a SQLite connection."""
    engine = getattr(handle, "engine", "sqlite")
    return "postgresql" if engine == "postgresql" else "sqlite"


def plus_seconds(engine: Engine, moment: str, seconds: str) -> str:
    """The stored form of `moment` (stored text) moved by `seconds` (any number, negative too; a fraction
    is dropped toward zero, as SQLite's CAST to INTEGER drops it), for comparisons with stored moments."""
    if engine == "postgresql":
        return (
            f"to_char(CAST({moment} AS timestamp)"
            f" + make_interval(secs => trunc(CAST({seconds} AS DOUBLE PRECISION))), {_STORED_FORM})"
        )
    return f"datetime({moment}, CAST({seconds} AS INTEGER) || ' seconds')"


def seconds_between(engine: Engine, later: str, earlier: str) -> str:
    """How many seconds (a real number) `earlier` is before `later`, both stored moments."""
    if engine == "postgresql":
        return f"EXTRACT(EPOCH FROM CAST({later} AS timestamp) - CAST({earlier} AS timestamp))"
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


def json_text(engine: Engine, document: str, key: str) -> str:
    """The top-level member `key` of the JSON text `document` as text (NULL when absent): compare it with
    text parameters (`str(id)`) and convert numbers in Python."""
    if not key.isidentifier():
        raise ValueError(f"not a plain JSON key: {key!r}")
    if engine == "postgresql":
        return f"(CAST({document} AS jsonb) ->> '{key}')"
    return f"CAST(json_extract({document}, '$.{key}') AS TEXT)"


def joined(engine: Engine, value: str, separator: str) -> str:
    """Aggregate: the group's `value`s joined by `separator` (an SQL string), in the order the rows come
    (a subquery's ORDER BY; both engines keep it for a plain aggregate over it)."""
    if engine == "postgresql":
        return f"string_agg({value}, {separator})"
    return f"group_concat({value}, {separator})"


def position(engine: Engine, needle: str, haystack: str) -> str:
    """Where `needle` first starts in `haystack`, counting from 1; 0 when it is not there. In the SQL the
    haystack comes first on both engines (bind its ``?`` first)."""
    if engine == "postgresql":
        return f"strpos({haystack}, {needle})"
    return f"instr({haystack}, {needle})"


def sleeps_at(engine: Engine) -> str:
    """On a `purchase_totals` row of a repeat buyer: the stored moment they fall asleep (see the indexes)."""
    return _SLEEPS_AT[engine]


def skip_locked(engine: Engine) -> str:
    """The end of a SELECT that locks the rows it returns, skipping rows another transaction has locked
    (PostgreSQL); empty on SQLite, whose single writer never meets a locked row."""
    return " FOR UPDATE SKIP LOCKED" if engine == "postgresql" else ""
