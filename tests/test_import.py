"""`nurture-bot import customers|purchases FILE.csv [--dry-run]`: all or nothing, rejects by line number."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from flows.imports import Imports, Pacing, open_path
from storage.db import Database, open_database
from storage.ledger import LedgerRepo
from storage.purchases import PurchasesRepo
from tests import engines
from tests.conftest import Harness
from tests.loyalty_helpers import card_code, hire

CUSTOMERS = """telegram_id;first_name;phone;birthday;points
111;Olga;+380501112233;25.12.1990;120
222;Taras;;;0
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    database = tmp_path / "bot.db"
    monkeypatch.setenv("BOT_TOKEN", "123456:test-token")
    monkeypatch.setenv("DATABASE_PATH", str(database))
    if engines.ON_POSTGRES:  # the command works on the tests' PostgreSQL database standing for the file
        monkeypatch.setenv("DATABASE_URL", str(engines.target_for(tmp_path)))
    monkeypatch.setenv("TIMEZONE", "Europe/Kyiv")
    monkeypatch.chdir(tmp_path)  # no stray .env
    return database


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rate_limits": False}


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def figures(database: Path) -> tuple[int, int, int]:
    """(purchases, points of customer 111, points of customer 222)."""

    async def read() -> tuple[int, int, int]:
        db = await Database.open(engines.target_for(database.parent))
        try:
            ledger = LedgerRepo(db)
            olga, taras = await ledger.customer_by_tg(111), await ledger.customer_by_tg(222)
            assert olga is not None and taras is not None
            return await PurchasesRepo(db).count(), await ledger.balance(olga.id), await ledger.balance(taras.id)
        finally:
            await db.close()

    return asyncio.run(read())


def test_customers_then_purchases_are_imported(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "customers", write(tmp_path, "c.csv", CUSTOMERS)]) == 0
    assert "2 customers created" in capsys.readouterr().out
    purchases = 'external_id,telegram_id,phone,amount,category,date\nP1,111,,1500,yoga,2025-11-02\nP2,,+380 50 111 22 33,"1 000,50",,02.11.2025 18:30\nP3,222,,200,coffee,\n'
    assert main(["import", "purchases", write(tmp_path, "p.csv", purchases)]) == 0
    assert "3 purchases recorded" in capsys.readouterr().out
    assert figures(env) == (3, 120 + 45 + 50 + 50, 6 + 50)  # opening balance, 3%, welcome, 5% on the 2nd
    # The same file again: nothing new (idempotent by external_id).
    assert main(["import", "purchases", write(tmp_path, "p.csv", purchases)]) == 0
    assert "0 purchases recorded, 3 already imported before" in capsys.readouterr().out
    assert figures(env)[0] == 3


def test_bad_rows_are_reported_by_line_and_nothing_is_written(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "customers", write(tmp_path, "c.csv", CUSTOMERS)]) == 0
    purchases = (
        "external_id,telegram_id,amount,category,date\n"
        "P1,111,100,,\n"
        "P2,999,100,,\n"
        "P3,111,-5,,\n"
        "P4,111,100,cars,\n"
        "P1,222,100,,\n"
        "P6,222,100,,2099-01-01\n"
        "P7,222,100,,\n"
    )
    assert main(["import", "purchases", write(tmp_path, "p.csv", purchases)]) == 1
    err = capsys.readouterr().err
    assert "p.csv:3: telegram_id: no customer with telegram id 999" in err
    assert "p.csv:4: amount: The amount cannot be negative" in err
    assert "p.csv:5: category: unknown 'cars'" in err
    assert "p.csv:6: external_id repeats line 2" in err
    assert "p.csv:7: date: is in the future" in err
    assert "5 of 7 rows rejected: nothing was imported" in err
    assert figures(env) == (0, 120, 0)


def test_dry_run_checks_everything_and_writes_nothing(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "customers", write(tmp_path, "c.csv", CUSTOMERS), "--dry-run"]) == 0
    assert "dry run, nothing written: 2 customers created" in capsys.readouterr().out
    assert main(["import", "customers", write(tmp_path, "c.csv", CUSTOMERS)]) == 0
    purchases = "external_id,telegram_id,amount\nP1,111,100\n"
    assert main(["import", "purchases", write(tmp_path, "p.csv", purchases), "--dry-run"]) == 0
    assert "dry run, nothing written: 1 purchase recorded" in capsys.readouterr().out
    assert figures(env) == (0, 120, 0)


def test_a_file_without_the_needed_columns_is_refused(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "purchases", write(tmp_path, "p.csv", "id,sum\n1,100\n")]) == 1
    assert "p.csv:1: the header needs" in capsys.readouterr().err
    assert main(["import", "purchases", str(tmp_path / "missing.csv")]) == 2


# ---- hostile files, size and the running bot ---------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_before_reading(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.csv"
    with big.open("w", encoding="utf-8") as handle:
        handle.write("external_id,telegram_id,amount\n")
        handle.write("X,1,1\n" * 200_000)  # 1.2 MB
    assert main(["import", "purchases", str(big), "--max-mb", "1"]) == 2
    err = capsys.readouterr().err
    assert "is over the 1 MB limit" in err and "--max-mb" in err
    assert main(["import", "purchases", str(tmp_path)]) == 2  # a folder


def test_odd_values_are_rejected_by_line_with_what_is_wrong(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    customers = (
        "telegram_id,first_name,points\n"
        "²,Olga,1\n"
        f"{2**70},Taras,1\n"
        "٣٣٣,Ivan,99999999999\n"
        f"444,{'N' * 500},1\n"
        "555,\u202eEve,٥\n"
    )
    assert main(["import", "customers", write(tmp_path, "c.csv", customers)]) == 1
    err = capsys.readouterr().err
    assert "c.csv:2: telegram_id: «²» is not a digit" in err
    assert "c.csv:3: telegram_id: The Telegram id must be from 1 to" in err
    assert "c.csv:4: points: The number of points must be from 0 to 10 000 000" in err
    assert "c.csv:5: first_name: at most 64 characters" in err
    assert "c.csv:6" not in err  # Arabic-Indic digits and an RTL mark are fine
    assert main(["import", "customers", write(tmp_path, "c.csv", CUSTOMERS)]) == 0
    purchases = (
        "external_id,telegram_id,amount,date\n"
        "P1,111,100,0001-01-01T00:00:00+05:00\n"
        f"P2,111,{'9' * 40},\n"
        "P3,111,100,31.12.9999\n"
        "P4,111,١٠٠,٢٠٢٥-٠١-٠٥\n"
    )
    assert main(["import", "purchases", write(tmp_path, "p.csv", purchases)]) == 1
    err = capsys.readouterr().err
    assert "p.csv:2: date: The year must be from 1970 to 2200" in err
    assert "p.csv:3: amount: That is more than the maximum" in err
    assert "p.csv:4: date: The year must be from 1970 to 2200" in err
    assert "p.csv:5" not in err


def test_a_file_that_cannot_be_read_on_is_reported_at_its_line(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(b"telegram_id,first_name\n111,Olga\n222,\xff\xfe\n")
    assert main(["import", "customers", str(path)]) == 1
    assert "c.csv:3: not UTF-8 text" in capsys.readouterr().err
    path.write_bytes(b"telegram_id,first_name\n111,Olga\n222," + b"x" * 2_000_000 + b"\n")
    assert main(["import", "customers", str(path)]) == 1
    assert "c.csv:3: a line longer than 1024 KB" in capsys.readouterr().err
    path.write_bytes(b'telegram_id,first_name\n111,Olga\n222,"' + b"x" * 200_000 + b'"\n')
    assert main(["import", "customers", str(path)]) == 1
    assert "c.csv:3: cannot read the file on from here (field larger than field limit" in capsys.readouterr().err
    assert figures_or_none(env) is None  # nothing was written
    # Control characters and direction marks in a name are dropped, not stored.
    path.write_bytes(b"telegram_id,first_name\n111,Ta\x00r\x07as\xe2\x80\x8f\n")
    assert main(["import", "customers", str(path)]) == 0
    assert figures_or_none(env) == 1


def figures_or_none(database: Path) -> int | None:
    async def read() -> int | None:
        db = await Database.open(engines.target_for(database.parent))
        try:
            return await db.fetch_value("SELECT COUNT(*) FROM customers") or None
        finally:
            await db.close()

    return asyncio.run(read())


async def open_imports(harness: Harness) -> tuple[Imports, Database]:
    """An importer with its own connections to the running bot's database file, as `nurture-bot import` has."""
    from bot.app import build_imports
    from flows.content import load_content

    settings = harness.settings
    db = await open_database(settings)
    imports = build_imports(settings, load_content(settings.content_file), harness.clock, db)
    return imports, db


def many_rows(tmp_path: Path, purchases: int) -> tuple[str, str]:
    """A customers file (100 people) and a purchases file over them."""
    customers = "telegram_id,first_name,points\n" + "".join(f"{20_000 + i},N{i},10\n" for i in range(100))
    rows = "".join(f"E{i},{20_000 + i % 100},{100 + i % 900},2025-0{1 + i % 9}-15\n" for i in range(purchases))
    return write(tmp_path, "c.csv", customers), write(
        tmp_path, "p.csv", "external_id,telegram_id,amount,date\n" + rows
    )


async def test_the_running_bot_answers_and_records_sales_while_a_big_import_runs(
    harness: Harness, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    chat = harness.chat()
    code = await card_code(chat)
    cashier = await hire(harness)
    customers, purchases = many_rows(tmp_path, 1500)
    imports, db = await open_imports(harness)
    try:
        assert (await imports.customers_csv(open_path(customers))).committed
        under_way = asyncio.Event()

        async def on_chunk(number: int) -> None:
            if number == 2:
                under_way.set()

        imports.on_chunk = on_chunk
        run = asyncio.create_task(imports.purchases_csv(open_path(purchases)))
        await asyncio.wait_for(under_way.wait(), 60)
        caplog.set_level(logging.WARNING)
        replies = await cashier.send(f"/sale {code} 500")
        assert "Sale recorded" in str(replies[-1]), str(replies[-1])
        replies = await chat.send("/balance")
        assert "points" in str(replies[-1]).lower()
        report = await asyncio.wait_for(run, 120)
    finally:
        await db.close()
    assert report.committed and report.recorded == 1500 and report.chunks > 2
    assert not [r for r in caplog.records if "locked" in r.getMessage() or r.levelno >= logging.ERROR]
    # The sale went in between two chunks of the import, not after the whole file.
    ids = await harness.app.db.fetch_all("SELECT id, source FROM purchases ORDER BY id")
    sale = next(row["id"] for row in ids if row["source"] != "csv")
    assert ids[0]["id"] < sale < ids[-1]["id"]


async def test_an_interrupted_import_is_finished_by_running_it_again_without_duplicates(
    harness: Harness, tmp_path: Path
) -> None:
    customers, purchases = many_rows(tmp_path, 400)

    class Crash(Exception):
        pass

    async def crash(number: int) -> None:
        if number == 2:
            raise Crash

    imports, db = await open_imports(harness)
    try:
        await imports.customers_csv(open_path(customers))
        imports.pacing = Pacing(hold=1.0, max_rows=100)  # four chunks of 100 rows
        imports.on_chunk = crash
        with pytest.raises(Crash):
            await imports.purchases_csv(open_path(purchases))
        assert await db.fetch_value("SELECT COUNT(*) FROM purchases") == 200
        imports.on_chunk = None
        again = await imports.purchases_csv(open_path(purchases))
        assert again.committed and (again.duplicates, again.recorded) == (200, 200)
        # Opening balances: once per customer, whatever the number of runs.
        assert (await imports.customers_csv(open_path(customers))).committed
        counts = await db.fetch_one(
            "SELECT (SELECT COUNT(*) FROM purchases), (SELECT COUNT(DISTINCT external_id) FROM purchases),"
            " (SELECT COUNT(*) FROM points_ledger WHERE idempotency_key LIKE 'import:%'),"
            " (SELECT COUNT(*) FROM points_ledger WHERE idempotency_key LIKE 'accrual:%')"
        )
    finally:
        await db.close()
    assert counts is not None and tuple(counts) == (400, 400, 100, 400)
