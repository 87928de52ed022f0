"""Customer search on both engines: SQLite's FTS5 table and PostgreSQL's GIN index over the names
(migrations 0017) find the same people for the same typing, and forgetting a customer takes their names
out of the index itself on both, not only out of the results.

The rest of the search (the console's box, cards, the team) is tested through the bot in test_people.py;
this file holds what differs between the engines, so it runs each case on both of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from flows.people_search import read_query
from storage.db import Database
from storage.name_index import drop_erased_names
from storage.people import PeopleRepo
from tests.pg_server import server, server_binaries

PEOPLE = [  # id order is age order: the newest last
    ("Анна", "Ёлкина", "anna_s", "+79123456789"),
    ("José", "O'Brien", None, "+380671234567"),
    ("Annabel", "Smith", "bell", None),
    ("ΣΊΣΥΦΟΣ", "Йорк", None, "+4915112345678"),
]


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "postgresql":
        if server_binaries() is None:
            pytest.skip("PostgreSQL is not installed here (apt-get install postgresql; `dev.py test` does it)")
        target: Path | str = server().database()
    else:
        target = tmp_path / "bot.db"
    opened = await Database.open(target)
    try:
        for first, last, username, phone in PEOPLE:
            await opened.execute(
                "INSERT INTO customers (tg_id, first_name, last_name, username, phone, first_seen_at, last_seen_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    1000 + len(first) * 7 + len(last),
                    first,
                    last,
                    username,
                    phone,
                    "2026-01-01 00:00:00",
                    "2026-01-01 00:00:00",
                ),
            )
        yield opened
    finally:
        await opened.close()
        if request.param == "postgresql":
            server().drop_made()


async def names(db: Database, typed: str, limit: int = 20) -> list[str]:
    match = read_query(typed).names
    assert match, typed
    return [found.first_name or "" for found in await PeopleRepo(db).by_names(match, limit)]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("анна", ["Анна"]),  # Cyrillic folded whatever the server's locale
        ("АННА ЕЛК", ["Анна"]),  # every word a prefix, all of them needed
        ("ёлкина", ["Анна"]),  # ё is е on both sides
        ("@anna_s", ["Анна"]),  # a username's parts
        ("ann", ["Annabel", "Анна"]),  # a prefix, newest first (Анна by her username)
        ("jose", ["José"]),  # Latin diacritics dropped …
        ("JOSÉ bri", ["José"]),
        ("иорк", []),  # … but й is not и, as in SQLite's unicode61
        ("йорк", ["ΣΊΣΥΦΟΣ"]),
        ("smith bell", ["Annabel"]),  # last name and username together
        ("nobody", []),
    ],
)
async def test_the_same_names_are_found_on_both_engines(db: Database, typed: str, expected: list[str]) -> None:
    assert await names(db, typed) == expected


async def test_newest_first_and_bounded(db: Database) -> None:
    await db.execute("UPDATE customers SET first_name = 'Anna' WHERE first_name = 'José'")
    assert await names(db, "an") == ["Annabel", "Anna", "Анна"]
    assert await names(db, "an", limit=2) == ["Annabel", "Anna"]


async def test_phones_by_their_ending_and_their_beginning(db: Database) -> None:
    repo = PeopleRepo(db)
    assert [f.first_name for f in await repo.by_phone_ending("9123456789", 20)] == ["Анна"]
    assert [f.first_name for f in await repo.by_phone_ending("1234567", 20)] == ["José"]
    assert [f.first_name for f in await repo.by_phone_start("3806", 20)] == ["José"]
    assert [f.first_name for f in await repo.by_phone_start("7", 20)] == ["Анна"]


async def test_a_forgotten_customer_leaves_the_name_index_itself(db: Database) -> None:
    """What forgetting does to the names (storage/forgetting.py `erase`: blank them, then the index's own
    step); the rest of `erase` is test_forgetting.py's."""
    anna = await db.fetch_value("SELECT id FROM customers WHERE username = 'anna_s'")
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE customers SET first_name = NULL, last_name = NULL, username = NULL, forgotten_at = ?"
            " WHERE id = ?",
            ("2026-01-05 12:00:00", anna),
        )
        await drop_erased_names(tx)
    assert await names(db, "анна") == []
    # Not merely filtered out as forgotten: the index no longer yields the row at all.
    if db.engine == "postgresql":
        left = await db.fetch_value(
            "SELECT COUNT(*) FROM customers"
            " WHERE customer_names_vector(first_name, last_name, username) @@ customer_search_query(?)",
            ("анна",),
        )
    else:
        left = await db.fetch_value(
            "SELECT COUNT(*) FROM customer_names WHERE customer_names MATCH ?", ('"анна"*',)
        )
    assert left == 0
    assert await names(db, "annabel") == ["Annabel"]  # the others are still found
