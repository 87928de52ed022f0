"""`nurture-bot import customers|purchases FILE.csv [--dry-run]`: all or nothing, rejects by line number."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from storage.db import Database
from storage.ledger import LedgerRepo
from storage.purchases import PurchasesRepo

CUSTOMERS = """telegram_id;first_name;phone;birthday;points
111;Olga;+380501112233;25.12.1990;120
222;Taras;;;0
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    database = tmp_path / "bot.db"
    monkeypatch.setenv("BOT_TOKEN", "123456:test-token")
    monkeypatch.setenv("DATABASE_PATH", str(database))
    monkeypatch.setenv("TIMEZONE", "Europe/Kyiv")
    monkeypatch.chdir(tmp_path)  # no stray .env
    return database


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def figures(database: Path) -> tuple[int, int, int]:
    """(purchases, points of customer 111, points of customer 222)."""

    async def read() -> tuple[int, int, int]:
        db = await Database.open(database)
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
    assert "2 customer(s) created" in capsys.readouterr().out
    purchases = 'external_id,telegram_id,phone,amount,category,date\nP1,111,,1500,yoga,2025-11-02\nP2,,+380 50 111 22 33,"1 000,50",,02.11.2025 18:30\nP3,222,,200,coffee,\n'
    assert main(["import", "purchases", write(tmp_path, "p.csv", purchases)]) == 0
    assert "3 purchase(s) recorded" in capsys.readouterr().out
    assert figures(env) == (3, 120 + 45 + 50 + 50, 6 + 50)  # opening balance, 3%, welcome, 5% on the 2nd
    # The same file again: nothing new (idempotent by external_id).
    assert main(["import", "purchases", write(tmp_path, "p.csv", purchases)]) == 0
    assert "0 purchase(s) recorded, 3 already imported before" in capsys.readouterr().out
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
    assert "5 of 7 row(s) rejected: nothing was imported" in err
    assert figures(env) == (0, 120, 0)


def test_dry_run_checks_everything_and_writes_nothing(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "customers", write(tmp_path, "c.csv", CUSTOMERS), "--dry-run"]) == 0
    assert "dry run, nothing written: 2 customer(s) created" in capsys.readouterr().out
    assert main(["import", "customers", write(tmp_path, "c.csv", CUSTOMERS)]) == 0
    purchases = "external_id,telegram_id,amount\nP1,111,100\n"
    assert main(["import", "purchases", write(tmp_path, "p.csv", purchases), "--dry-run"]) == 0
    assert "dry run, nothing written: 1 purchase(s) recorded" in capsys.readouterr().out
    assert figures(env) == (0, 120, 0)


def test_a_file_without_the_needed_columns_is_refused(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "purchases", write(tmp_path, "p.csv", "id,sum\n1,100\n")]) == 1
    assert "p.csv:1: the header needs" in capsys.readouterr().err
    assert main(["import", "purchases", str(tmp_path / "missing.csv")]) == 2
