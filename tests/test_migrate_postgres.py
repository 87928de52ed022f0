"""`nurture-bot migrate-to-postgres`: a business filled through the bot on SQLite moves into an empty
PostgreSQL database without loss (counts and every customer's points and purchases compared), the bot goes
on there (a customer sees their points, new rows get new ids), and every reason not to move is said plainly,
the password never in it.

Runs in the SQLite pass, with the source a SQLite file and the target a database of the throw-away server
(tests/pg_server.py), like tests/test_pg_schema.py.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import pytest

from bot.cli import main
from bot.sandbox.emulator import Emulator
from flows.clock import FakeClock
from flows.content import example_content_path
from storage.db import Database, load_migrations
from storage.to_postgres.move import move, verify
from storage.to_postgres.refusals import MoveRefused
from storage.to_postgres.values import Unconvertible, converter
from tests.broadcast_helpers import wizard
from tests.conftest import OWNER_ID, Harness, make_settings
from tests.handoff_helpers import texts
from tests.loyalty_helpers import balance, card_code, deliver, hire
from tests.pg_server import PgServer, _free_port, run_sync, server, server_binaries
from tests.test_console_media import png
from tests.test_faq_teaching import group_message, owner_of

pytestmark = pytest.mark.engines(
    "sqlite", reason="makes its own SQLite source and PostgreSQL target (tests/pg_server.py) in the SQLite pass"
)
PASSWORD = "n0t-for-your-eyes"


@pytest.fixture
def pg() -> Iterator[PgServer]:
    if server_binaries() is None:
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql; `dev.py test` does it)")
    running = server()
    try:
        yield running
    finally:
        running.drop_made()


async def migrate(*args: str) -> int:
    """The command as an owner types it (in a thread: it runs its own event loop)."""
    return await asyncio.to_thread(main, ["migrate-to-postgres", *args])


async def fill_through_the_bot(harness: Harness) -> None:
    """Customers, sales with points and a gift coupon, staff, a broadcast with coupons and its outbox, an
    upload, a content version naming it, and an FAQ phrasing the owner taught."""
    anna, boris = harness.chat(1001), harness.chat(1002, first_name="Boris")
    await anna.send("/start")
    await boris.send("/start")
    cashier = await hire(harness)
    code = await card_code(anna)
    for amount in ("1000", "700"):
        await cashier.send(f"/sale {code} {amount}")
    await wizard(harness, "everyone", buttons="Grab it | coupon", coupon="free cookie", limit="2")
    await deliver(harness)
    upload = await harness.services["media"].upload(png(), OWNER_ID)
    text = example_content_path().read_text("utf-8").replace("300 ₴", "320 ₴")
    assert (await harness.services["content_edits"].import_yaml(text, OWNER_ID, None)).ok
    assert upload == "media:1"
    await anna.send("Is there a student discount?")
    owner = owner_of(harness)
    group = await group_message(owner, "Is there a student discount?")
    await owner.click("Another entry…", message=group)
    await owner.click("💳 Prices", message=group)


async def highest(db: Database, table: str) -> int:
    return int(await db.fetch_value(f"SELECT MAX(id) FROM {table}"))


async def test_a_business_moves_to_postgresql_without_loss_and_goes_on_there(
    harness: Harness,
    emu: Emulator,
    clock: FakeClock,
    tmp_path: Path,
    pg: PgServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await fill_through_the_bot(harness)
    points = await balance(harness, 1001)
    db = harness.services["db"]
    before = {table: await highest(db, table) for table in ("customers", "purchases", "points_ledger", "outbox")}
    filled = {
        table: await db.fetch_value(f"SELECT COUNT(*) FROM {table}")
        for table in ("coupons", "broadcasts", "content_versions", "media", "faq_taught", "staff", "outbox")
    }
    await harness.stop()
    url = pg.empty_database()

    assert await migrate("--from", str(tmp_path / "bot.db"), "--to", url) == 0
    out = capsys.readouterr().out
    assert "the same on both sides" in out and "next: set DATABASE_URL" in out
    assert f"customers with points: 1, points in total: {points}" in out
    assert all(count for count in filled.values()), filled  # the fill reached every kind of row

    moved = await verify(tmp_path / "bot.db", url)
    assert moved.ok and {t.name: t.target for t in moved.tables if t.name in filled} == filled
    on_pg = Harness(emu, make_settings(tmp_path, emu.api_base, database_url=url), clock)
    await on_pg.start()
    try:
        assert await balance(on_pg, 1001) == points
        assert f"{points}" in texts(await on_pg.chat(1001).send("/balance"))
        # The taught phrasing finds the entry, answered as the stored content version says (320, not 300).
        assert "Single class — 320 ₴" in texts(await on_pg.chat(1002).send("is ther a studnet discount"))
        stored = await on_pg.services["media"].get("media:1")
        assert stored is not None and stored.data == png()
        await on_pg.chat(1003, first_name="Chen").send("/start")  # a new customer
        cashier = on_pg.chat(5001)
        await cashier.send(f"/sale {await card_code(on_pg.chat(1003))} 500")  # a new purchase, new points
        pg_db = on_pg.services["db"]
        for table, last in before.items():
            assert await highest(pg_db, table) > last, table  # fresh ids, no collision
        language = await pg_db.fetch_value("SELECT language_code FROM customers WHERE tg_id = 1003")
        assert language == "en"  # the generated column, computed by PostgreSQL
    finally:
        await on_pg.stop()
    await assert_schema_as_migrated(url)


async def assert_schema_as_migrated(url: str) -> None:
    """The copy's temporary changes are gone: every trigger on, no foreign key left deferrable."""
    conn = await asyncpg.connect(url)
    try:
        off = await conn.fetch("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'O'")
        deferrable = await conn.fetch("SELECT conname FROM pg_constraint WHERE contype = 'f' AND condeferrable")
        assert not off and not deferrable
    finally:
        await conn.close()


async def test_a_difference_after_the_move_is_found_for_that_customer(tmp_path: Path, pg: PgServer) -> None:
    source = tmp_path / "bot.db"
    db = await Database.open(source)
    moment = "2026-01-05 12:00:00"
    await db.execute(
        "INSERT INTO customers (tg_id, first_seen_at, last_seen_at) VALUES (7, ?, ?)", (moment, moment)
    )
    await db.close()
    url = pg.empty_database()
    assert await migrate("--from", str(source), "--to", url) == 0
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO points_ledger (customer_id, kind, delta, idempotency_key, created_at)"
            " VALUES (1, 'bonus', 5, 'extra', $1)",
            moment,
        )
    finally:
        await conn.close()
    moved = await verify(source, url)
    assert not moved.ok
    assert [(c.what, c.different, c.differing) for c in moved.ledgers] == [
        ("points", 1, (1,)),
        ("purchases", 0, ()),
    ]
    # The ledger row, and the day row its trigger started in points_days (migration 0027).
    assert [t.name for t in moved.tables if t.source != t.target] == ["points_days", "points_ledger"]


# ---- refusals ----


_FROM_THE_FUTURE = "INSERT INTO schema_migrations (version, name) VALUES (9999, 'future')"


async def bot_file(tmp_path: Path) -> Path:
    """An empty nurture-bot SQLite file at this code's schema version."""
    path = tmp_path / "bot.db"
    await (await Database.open(path)).close()
    return path


def sqlite_file(path: Path, *scripts: str) -> Path:
    """`path` (a new SQLite file, or one made already) with `scripts` run on it."""
    conn = sqlite3.connect(path)
    try:
        with conn:
            for script in scripts:
                conn.executescript(script)
    finally:
        conn.close()
    return path


async def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert await migrate(*args) == 2
    captured = capsys.readouterr()
    assert PASSWORD not in captured.out + captured.err
    return captured.err


async def test_a_missing_or_foreign_source_is_refused(
    tmp_path: Path, pg: PgServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = pg.empty_database()
    assert "no such file" in await refused(capsys, "--from", str(tmp_path / "nope.db"), "--to", url)
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, " * 100)
    assert "not a SQLite database" in await refused(capsys, "--from", str(text), "--to", url)
    other = sqlite_file(tmp_path / "other.db", "CREATE TABLE recipes (name TEXT)")
    assert "not a nurture-bot database" in await refused(capsys, "--from", str(other), "--to", url)


async def test_a_source_at_another_schema_version_is_refused_saying_what_to_do(
    tmp_path: Path, pg: PgServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = pg.empty_database()
    migrations = load_migrations("sqlite")
    older = sqlite_file(
        tmp_path / "older.db",
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)",
        *(
            f"{m.sql};\nINSERT INTO schema_migrations (version, name) VALUES ({m.version}, 'x')"
            for m in migrations[:-1]
        ),
    )
    said = await refused(capsys, "--from", str(older), "--to", url)
    assert f"version {migrations[-2].version}, older" in said and "start the bot on it once" in said
    newer = sqlite_file(await bot_file(tmp_path), _FROM_THE_FUTURE)
    assert "upgrade nurture-bot" in await refused(capsys, "--from", str(newer), "--to", url)


async def test_a_target_that_is_not_empty_is_refused_and_left_as_it_was(
    tmp_path: Path, pg: PgServer, capsys: pytest.CaptureFixture[str]
) -> None:
    source = await bot_file(tmp_path)
    used = pg.database()  # migrated by the bot, and a bot ran on it
    conn = await asyncpg.connect(used)
    try:
        await conn.execute("INSERT INTO kv (key, value) VALUES ('polling_offset', '5')")
    finally:
        await conn.close()
    assert "kv hold rows" in await refused(capsys, "--from", str(source), "--to", used)
    foreign = pg.empty_database()
    conn = await asyncpg.connect(foreign)
    try:
        await conn.execute("CREATE TABLE invoices (id INT)")
        assert "tables of its own: invoices" in await refused(capsys, "--from", str(source), "--to", foreign)
        assert await conn.fetchval("SELECT to_regclass('schema_migrations')") is None  # not migrated
    finally:
        await conn.close()
    newer = pg.database()
    conn = await asyncpg.connect(newer)
    try:
        await conn.execute(_FROM_THE_FUTURE)
    finally:
        await conn.close()
    assert "upgrade nurture-bot" in await refused(capsys, "--from", str(source), "--to", newer)
    assert await migrate("--from", str(source), "--to", pg.database()) == 0  # migrated but empty: fine


async def test_an_unreachable_server_a_refused_login_and_a_missing_database_are_said_without_the_password(
    tmp_path: Path, pg: PgServer, capsys: pytest.CaptureFixture[str]
) -> None:
    source = await bot_file(tmp_path)
    nowhere = f"postgresql://bot:{PASSWORD}@127.0.0.1:{_free_port()}/shop"
    said = await refused(capsys, "--from", str(source), "--to", nowhere)
    assert "postgresql://bot@127.0.0.1:" in said and "cannot reach the PostgreSQL server" in said
    stranger = f"postgresql://stranger:{PASSWORD}@127.0.0.1:{pg.port}/postgres"
    assert "refused the login: check the user name and password" in await refused(
        capsys, "--from", str(source), "--to", stranger
    )
    missing = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{pg.port}/no_such_shop"
    assert "no such database" in await refused(capsys, "--from", str(source), "--to", missing)
    assert "--to: must start with postgresql://" in await refused(
        capsys, "--from", str(source), "--to", "mysql://x"
    )


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://bot:{PASSWORD}/shop",  # no @host: the password would be taken for a port
        f"postgresql://bot:{PASSWORD}@[::1/shop",
        f"postgresql://bot:{PASSWORD}@db:99999/shop",
    ],
)
async def test_a_malformed_url_is_refused_plainly_without_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    source = await bot_file(tmp_path)
    said = await refused(capsys, "--from", str(source), "--to", url)
    assert said.startswith("nurture-bot: --to: ") and "(e.g. postgresql://user:password@host:5432/db)" in said


async def test_a_connection_lost_mid_copy_is_said_and_nothing_stays(
    tmp_path: Path, pg: PgServer, capsys: pytest.CaptureFixture[str]
) -> None:
    source = await bot_file(tmp_path)
    url = pg.empty_database()
    cut = (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE '%migrate-to-postgres'"
    )

    def lose_the_connection(table: str, rows: int) -> None:  # after the first table: mid-copy
        run_sync(lambda: pg._admin(cut))

    with pytest.raises(MoveRefused, match=r"connection to PostgreSQL was lost.*nothing was copied") as refused:
        await move(source, url, on_table=lose_the_connection)
    assert PASSWORD not in str(refused.value)
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT COUNT(*) FROM customers") == 0
    finally:
        await conn.close()


def test_values_stored_differently_are_converted_by_the_postgresql_column_type() -> None:
    assert converter("bool")(1) is True and converter("bool")(0) is False
    assert converter("timestamptz")("2026-01-05 12:00:00") == datetime(2026, 1, 5, 12, tzinfo=UTC)
    assert converter("timestamp")("2026-01-05T14:00:00+02:00") == datetime(2026, 1, 5, 12)
    assert converter("date")("2026-01-05") == date(2026, 1, 5)
    assert converter("jsonb")('{"a": 1}') == '{"a": 1}'
    assert converter("bytea")("text in a blob") == b"text in a blob"
    assert converter("int8")("42") == 42 and converter("text")(42) == "42"
    assert converter("text")("a\x00b") == "a\ufffdb"  # PostgreSQL cannot store U+0000: as the bot stores it
    refused = [("bool", 2), ("int8", "forty"), ("jsonb", "{broken")]
    refused += [
        ("int8", "--5"),
        ("int8", "１２"),
        ("int8", "²"),
        ("float8", "1_000"),
        ("timestamptz", float("nan")),
    ]
    for kind, value in refused:
        with pytest.raises(Unconvertible):
            converter(kind)(value)


def test_the_command_says_the_safe_order(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["migrate-to-postgres", "--help"])
    said = capsys.readouterr().out
    assert said.index("stop the bot") < said.index("migrate-to-postgres --from") < said.index("DATABASE_URL")


async def test_a_value_postgresql_cannot_take_is_named_and_nothing_is_copied(
    tmp_path: Path, pg: PgServer, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bot.db"
    db = await Database.open(source)
    moment = "2026-01-05 12:00:00"
    await db.execute(
        "INSERT INTO customers (tg_id, first_seen_at, last_seen_at) VALUES (7, ?, ?)", (moment, moment)
    )
    await db.execute(  # SQLite keeps text in an INTEGER column; PostgreSQL's bigint will not
        "INSERT INTO points_ledger (customer_id, kind, delta, idempotency_key, actor_tg_id, created_at)"
        " VALUES (1, 'bonus', 5, 'k', 'the owner', ?)",
        (moment,),
    )
    await db.close()
    url = pg.empty_database()
    said = await refused(capsys, "--from", str(source), "--to", url)
    assert "points_ledger.actor_tg_id (row with id = 1): not a whole number" in said
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT COUNT(*) FROM customers") == 0  # all or nothing
    finally:
        await conn.close()
