"""storage/dialect.py: each engine's snippet gives the same answer, run on this session's engine."""

from __future__ import annotations

import pytest

from storage.db import Database
from storage.dialect import engine_of, joined, json_text, plus_seconds, position, seconds_between
from tests import engines


async def test_the_engine_is_the_one_the_tests_run_on(db: Database) -> None:
    assert engine_of(db) == engines.ENGINE


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (90, "2026-01-05 12:01:30"),
        (-5, "2026-01-05 11:59:55"),
        (7 * 86400, "2026-01-12 12:00:00"),
        (1.9, "2026-01-05 12:00:01"),  # a fraction is dropped, not rounded
        (-1.9, "2026-01-05 11:59:59"),  # toward zero
    ],
)
async def test_plus_seconds_moves_a_stored_moment(db: Database, seconds: float, expected: str) -> None:
    sql = f"SELECT {plus_seconds(engine_of(db), '?', '?')}"
    assert await db.fetch_value(sql, ("2026-01-05 12:00:00", seconds)) == expected


async def test_plus_seconds_of_a_column_compares_with_stored_moments(db: Database) -> None:
    await db.execute("INSERT INTO kv (key, value) VALUES ('at', '2026-01-05 23:59:30')")
    later = plus_seconds(engine_of(db), "value", "?")
    assert await db.fetch_value(f"SELECT COUNT(*) FROM kv WHERE {later} = ?", (45, "2026-01-06 00:00:15")) == 1


async def test_seconds_between_two_stored_moments(db: Database) -> None:
    between = seconds_between(engine_of(db), "?", "?")
    value = await db.fetch_value(f"SELECT {between}", ("2026-01-06 00:01:00", "2026-01-05 23:59:30"))
    assert float(value) == pytest.approx(90.0, abs=0.01)


async def test_json_text_reads_a_member_as_text(db: Database) -> None:
    document = '{"broadcast": 12, "sequence": "welcome", "nothing": null}'
    engine = engine_of(db)
    row = await db.fetch_one(
        f"SELECT {json_text(engine, '?', 'broadcast')}, {json_text(engine, '?', 'sequence')},"
        f" {json_text(engine, '?', 'nothing')}, {json_text(engine, '?', 'absent')}",
        (document,) * 4,
    )
    assert row is not None and tuple(row) == ("12", "welcome", None, None)
    with pytest.raises(ValueError, match="not a plain JSON key"):
        json_text(engine, "data", "a') OR ('1")


async def test_joined_keeps_the_subquery_order(db: Database) -> None:
    async with db.transaction() as tx:
        for key in ("b", "c", "a"):
            await tx.execute("INSERT INTO kv (key, value) VALUES (?, ?)", (key, key.upper()))
    tags = joined(engine_of(db), "value", "' '")
    assert await db.fetch_value(f"SELECT {tags} FROM (SELECT value FROM kv ORDER BY key) AS sorted") == "A B C"


async def test_position_counts_from_one(db: Database) -> None:
    """The haystack comes first in the SQL on both engines, so its `?` is bound first."""
    engine = engine_of(db)
    row = await db.fetch_one(
        f"SELECT {position(engine, '?', '?')}, {position(engine, '?', '?')}", ("pt-br", "-", "en", "-")
    )
    assert row is not None and (int(row[0]), int(row[1])) == (3, 0)
