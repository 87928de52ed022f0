"""What every engine must do alike (tests/engines.py picks the engine): placeholders, row access, row
counts and new ids, the processed-update mark, serialized writers, migrations once and never backwards."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from storage import postgres
from storage.db import AlreadyHandled, Database, SchemaTooNewError, handling
from storage.postgres import WRITE_LOCK, translate
from tests import engines
from tests.pg_server import _free_port

ONLY_POSTGRES = pytest.mark.engines("postgresql", reason="needs a PostgreSQL server (several processes)")


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    opened = await Database.open(engines.target_for(tmp_path))
    yield opened  # type: ignore[misc]
    await opened.close()


def test_placeholders_become_numbered_outside_literals_comments_and_casts() -> None:
    sql = "SELECT '?', \"a?\", x::text, ? -- ?\n FROM t WHERE y = ? /* ? */ AND z = 'it''s ?'"
    assert translate(sql) == (
        "SELECT '?', \"a?\", x::text, $1 -- ?\n FROM t WHERE y = $2 /* ? */ AND z = 'it''s ?'",
        (),
    )
    assert translate("UPDATE t SET a = :a, b = :b WHERE a = :a") == (
        "UPDATE t SET a = $1, b = $2 WHERE a = $1",
        ("a", "b"),
    )


async def test_rows_counts_and_new_ids_read_the_same_on_every_engine(db: Database) -> None:
    async with db.transaction() as tx:
        first = await tx.insert(
            "INSERT INTO events (kind, created_at) VALUES (?, ?)", ("x", "2026-01-01 10:00:00")
        )
        second = await tx.insert(
            "INSERT INTO events (kind, created_at) VALUES (?, ?)", ("y", "2026-01-01 11:00:00")
        )
        assert second == first + 1
        assert await tx.insert("INSERT INTO kv (key, value) VALUES (?, ?)", ("k", "v")) >= 0  # no integer id
        await tx.executemany("INSERT INTO kv (key, value) VALUES (?, ?)", [("a", "1"), ("b", "2")])
    assert await db.execute("UPDATE kv SET value = ? WHERE key IN ('a', 'b')", ("3",)) == 2
    assert await db.execute("UPDATE kv SET value = :v WHERE key = :k", {"k": "nobody", "v": "0"}) == 0
    row = await db.fetch_one("SELECT id, kind FROM events WHERE id = ?", (first,))
    assert row is not None
    assert (row[0], row["kind"], dict(row), list(row.keys()), tuple(row)) == (
        first,
        "x",
        {"id": first, "kind": "x"},
        ["id", "kind"],
        (first, "x"),
    )
    assert await db.fetch_value("SELECT value FROM kv WHERE key = '?' OR key = ?", ("a",)) == "3"


async def test_a_parameter_is_stored_as_its_column_declares(db: Database) -> None:
    """SQLite converts by column affinity (an int into TEXT); PostgreSQL is given the converted value."""
    await db.execute("INSERT INTO kv (key, value) VALUES (?, ?)", ("n", 5))
    await db.execute("INSERT INTO kv (key, value) VALUES (?, ?)", ("m", 6))  # converted up front now
    assert [r[0] for r in await db.fetch_all("SELECT value FROM kv ORDER BY key")] == ["6", "5"]


_INSTANCE = "INSERT INTO instances (id, host, pid, started_at, seen_at) VALUES (?, 'h', ?, 't', 't')"
_SCORE = "INSERT INTO faq_log (text, normalized, outcome, score, created_at) VALUES ('q', 'q', 'missed', ?, 't')"


async def test_numbers_given_as_text_are_stored_as_numbers_as_sqlite_reads_them(db: Database) -> None:
    for key, pid in (("a", "12"), ("b", " -7 "), ("c", 3.0)):
        await db.execute(_INSTANCE, (key, pid))
    for score in ("2.5", " 5. ", "1e2", 4):
        await db.execute(_SCORE, (score,))
    assert [r[0] for r in await db.fetch_all("SELECT pid FROM instances ORDER BY id")] == [12, -7, 3]
    assert [r[0] for r in await db.fetch_all("SELECT score FROM faq_log ORDER BY id")] == [2.5, 5.0, 100.0, 4.0]


@ONLY_POSTGRES
@pytest.mark.parametrize(
    ("sql", "value"),
    [
        (_INSTANCE, Decimal("2.5")),  # not truncated to 2
        (_INSTANCE, 2.5),
        (_INSTANCE, "--5"),
        (_INSTANCE, "１２"),  # full-width digits: SQLite keeps them as text
        (_SCORE, "1_000"),
        (_SCORE, "nan"),
    ],
)
async def test_a_value_its_column_cannot_hold_is_refused_naming_the_argument(
    db: Database, sql: str, value: Any
) -> None:
    """PostgreSQL cannot keep text in a number column, as SQLite would: the statement fails, clearly."""
    params = ("x", value) if sql == _INSTANCE else (value,)
    for _ in range(2):  # before the statement's types are known, and after
        with pytest.raises(asyncpg.DataError, match=r"invalid input for query argument \$\d"):
            await db.execute(sql, params)
    assert await db.fetch_value("SELECT COUNT(*) FROM instances") == 0
    assert await db.fetch_value("SELECT COUNT(*) FROM faq_log") == 0


async def test_a_block_that_raises_writes_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO kv (key, value) VALUES ('gone', '1')")
            raise RuntimeError
    assert await db.fetch_value("SELECT COUNT(*) FROM kv") == 0


async def test_a_transaction_cancelled_mid_statement_leaves_no_connection_inside_it(db: Database) -> None:
    holder = asyncio.Event()

    async def write() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO kv (key, value) VALUES ('half', '1')")
            holder.set()
            if db.engine == "postgresql":  # cancelled while the server runs a statement
                await tx.execute("SELECT pg_sleep(60)")
            await asyncio.sleep(3600)

    task = asyncio.create_task(write())
    await holder.wait()
    await asyncio.sleep(0.05)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO kv (key, value) VALUES ('whole', '1')")
    assert [r[0] for r in await db.fetch_all("SELECT key FROM kv")] == ["whole"]


async def test_an_update_is_applied_once_whichever_handling_commits_first(db: Database) -> None:
    with handling(77, "2026-01-01 10:00:00"):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO kv (key, value) VALUES ('effect', '1')")
    with handling(77, "2026-01-01 10:00:01"), pytest.raises(AlreadyHandled):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO kv (key, value) VALUES ('twice', '1')")
    assert await db.fetch_value("SELECT COUNT(*) FROM kv") == 1


async def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    target = engines.target_for(tmp_path)
    db = await Database.open(target)
    await db.execute("INSERT INTO schema_migrations (version, name) VALUES (9999, 'from_the_future')")
    await db.close()
    with pytest.raises(SchemaTooNewError, match="version 9999"):
        await Database.open(target)


@ONLY_POSTGRES
async def test_writers_in_two_processes_take_turns(tmp_path: Path) -> None:
    """Read-then-write, as the repositories do: with one writer at a time no increment is lost."""
    target = engines.target_for(tmp_path)
    first, second = await Database.open(target), await Database.open(target)
    await first.execute("INSERT INTO kv (key, value) VALUES ('n', '0')")

    async def bump(db: Database) -> None:
        for _ in range(15):
            async with db.transaction() as tx:
                row = await tx.fetch_one("SELECT value FROM kv WHERE key = 'n'")
                assert row is not None
                await asyncio.sleep(0)
                await tx.execute("UPDATE kv SET value = ? WHERE key = 'n'", (str(int(row[0]) + 1),))

    try:
        await asyncio.gather(bump(first), bump(second))
        assert await first.fetch_value("SELECT value FROM kv WHERE key = 'n'") == "30"
    finally:
        await first.close()
        await second.close()


@ONLY_POSTGRES
async def test_a_writer_waits_for_another_process_holding_the_turn(tmp_path: Path) -> None:
    target = str(engines.target_for(tmp_path))
    db = await Database.open(target)
    other = await asyncpg.connect(target)
    try:
        await other.execute(f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})")
        write = asyncio.create_task(db.execute("INSERT INTO kv (key, value) VALUES ('late', '1')"))
        await asyncio.sleep(0.1)
        assert not write.done()
        await other.execute("COMMIT")
        assert await asyncio.wait_for(write, 5) == 1
    finally:
        await other.close()
        await db.close()


@ONLY_POSTGRES
async def test_processes_starting_at_once_on_a_fresh_database_migrate_it_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.pg_server import server

    url = server().empty_database()
    caplog.set_level(logging.INFO, logger="storage.postgres")
    opened = await asyncio.gather(*(Database.open(url) for _ in range(3)))
    try:
        applied = [r.getMessage() for r in caplog.records if r.getMessage().startswith("applying migration")]
        versions = [row[0] for row in await opened[0].fetch_all("SELECT version FROM schema_migrations")]
        assert len(applied) == len(versions) == len(set(versions)) > 0
    finally:
        for db in opened:
            await db.close()


@ONLY_POSTGRES
async def test_closing_cuts_a_connection_a_dead_task_still_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a killed process's would: the open transaction is rolled back by the server, the close returns."""
    monkeypatch.setattr(postgres, "CLOSE_TIMEOUT", 0.2)
    target = engines.target_for(tmp_path)
    db = await Database.open(target)
    inside = asyncio.Event()

    async def stuck() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO kv (key, value) VALUES ('never', '1')")
            inside.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(stuck())
    await inside.wait()
    await asyncio.wait_for(db.close(), 2)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, asyncpg.InterfaceError):
        await task
    again = await Database.open(target)
    try:
        assert await again.fetch_value("SELECT COUNT(*) FROM kv") == 0
        await again.execute("INSERT INTO kv (key, value) VALUES ('next', '1')")  # the write turn is free
    finally:
        await again.close()


def test_database_url_must_name_postgresql_and_its_password_is_never_shown() -> None:
    from bot.settings import SettingsError, load_settings
    from flows.redaction import redact

    with pytest.raises(SettingsError, match=r"DATABASE_URL: must start with postgresql://") as refused:
        load_settings(_env_file=None, bot_token="1:x", database_url="mysql://bot:hunter2-secret@db/bot")
    assert "hunter2" not in str(refused.value)
    settings = load_settings(
        _env_file=None, bot_token="1:x", database_url="postgresql://bot:hunter2-secret@db/bot"
    )
    assert settings.masked()["DATABASE_URL"].startswith("set (")
    assert "hunter2-secret" not in redact("connecting to postgresql://bot:hunter2-secret@db/bot failed")


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql://bot:hunter2-secret/bot", "has no @host"),  # the password would read as the port
        ("postgresql://bot:hunter2-secret@[::1/bot", "not a valid URL"),
        ("postgresql://bot:hunter2-secret@db:99999/bot", "not a valid URL: check the port"),
    ],
)
def test_a_malformed_database_url_is_said_plainly_without_the_password(url: str, said: str) -> None:
    from bot.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match=f"DATABASE_URL: .*{said}") as refused:
        load_settings(_env_file=None, bot_token="1:x", database_url=url)
    assert "hunter2" not in str(refused.value)


def test_a_percent_encoded_password_is_kept_out_of_logs_as_the_server_gets_it() -> None:
    from bot.settings import load_settings
    from flows.redaction import redact

    load_settings(_env_file=None, bot_token="1:x", database_url="postgresql://bot:hunter3%40secret@db/bot")
    assert "hunter3" not in redact("password authentication failed for 'hunter3@secret'")


def test_a_database_server_out_of_reach_is_said_plainly_without_the_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import EXIT_CONFIG, main

    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("BOT_TOKEN", "123456:test-token")
    monkeypatch.setenv("DATABASE_URL", f"postgresql://bot:hunter4-secret@127.0.0.1:{_free_port()}/shop")
    assert main(["export", "customers", "--out", str(tmp_path / "out.csv")]) == EXIT_CONFIG
    said = capsys.readouterr().err
    assert (
        said.startswith("nurture-bot: postgresql://bot@127.0.0.1:")
        and "cannot reach the PostgreSQL server" in said
    )
    assert "Traceback" not in said and "hunter4" not in said
