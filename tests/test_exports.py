"""`nurture-bot export customers|purchases --out FILE.csv` and `nurture-bot report --out report.html`.

The data is made through the bot (a customer and a cashier in the emulator), then the commands run against
the same database file, as an owner would run them next to the live bot.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import re
from pathlib import Path

import pytest
from PIL import Image

import storage.exports
from bot.cli import main
from tests.conftest import Harness
from tests.loyalty_helpers import card_code, hire


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, harness: Harness, tmp_path: Path) -> Path:
    monkeypatch.setenv("BOT_TOKEN", "123456:test-token")
    monkeypatch.setenv("DATABASE_PATH", str(harness.settings.database_path))
    if harness.settings.database_url is not None:  # the tests' PostgreSQL (tests/engines.py)
        monkeypatch.setenv("DATABASE_URL", harness.settings.database_url.get_secret_value())
    monkeypatch.setenv("TIMEZONE", "Europe/Kyiv")
    monkeypatch.chdir(tmp_path)  # no stray .env
    return tmp_path


async def run_cli(*args: str) -> int:
    """The command in a thread: it runs its own event loop, as it does from a shell."""
    return await asyncio.to_thread(main, list(args))


async def shop(harness: Harness) -> None:
    anna = harness.chat(1001, first_name="=HYPERLINK(evil)")
    await anna.send("/start")
    cashier = await hire(harness)
    code = await card_code(anna)
    await cashier.send(f"/sale {code} 350 coffee")
    await cashier.send(f"/sale {code} 1200.50 yoga")
    boris = harness.chat(1002, first_name="Boris")
    await boris.send("/start")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


async def test_purchases_export_has_a_header_and_every_purchase(harness: Harness, cli_env: Path) -> None:
    await shop(harness)
    assert await run_cli("export", "purchases", "--out", "purchases.csv") == 0
    rows = read_csv(cli_env / "purchases.csv")
    assert [(r["telegram_id"], r["number"], r["amount"], r["category"], r["source"]) for r in rows] == [
        ("1001", "1", "350.00", "coffee", "telegram"),
        ("1001", "2", "1200.50", "yoga", "telegram"),
    ]
    assert rows[0]["date"] == "2026-01-05 14:00:00"  # local time in Kyiv, when the sale was made
    assert rows[0]["card"] and rows[0]["staff_telegram_id"] == "5001"
    assert {r["currency"] for r in rows} == {"UAH"}  # the content file's


async def test_customers_export_sums_purchases_and_defuses_formulas(harness: Harness, cli_env: Path) -> None:
    await shop(harness)
    assert await run_cli("export", "customers", "--out", "customers.csv") == 0
    rows = {r["telegram_id"]: r for r in read_csv(cli_env / "customers.csv")}
    anna, boris = rows["1001"], rows["1002"]
    assert anna["first_name"] == "'=HYPERLINK(evil)"  # shown as text by spreadsheets, never run
    assert (anna["purchases"], anna["spent"], anna["subscribed"], anna["forgotten"]) == (
        "2",
        "1550.50",
        "yes",
        "no",
    )
    assert int(anna["points"]) > 0 and anna["card"]
    assert (boris["purchases"], boris["spent"], boris["last_purchase"]) == ("0", "0.00", "")


async def test_export_streams_page_by_page(
    harness: Harness, cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for user in range(7):
        await harness.chat(3000 + user).send("/start")
    monkeypatch.setattr(storage.exports, "PAGE", 2)  # 7 customers + the cashier's pages of two
    assert await run_cli("export", "customers", "--out", "customers.csv") == 0
    ids = [int(r["id"]) for r in read_csv(cli_env / "customers.csv")]
    assert ids == sorted(set(ids)) and len(ids) == 7


async def test_export_is_audited(harness: Harness, cli_env: Path) -> None:
    await shop(harness)
    assert await run_cli("export", "purchases", "--out", "p.csv") == 0
    row = await harness.services["db"].fetch_one(
        "SELECT actor_tg_id, details FROM audit_log WHERE action = 'export'"
    )
    assert row is not None and row[0] is None and '"rows": 2' in row[1]


async def test_unknown_export_kind_is_one_clear_line(
    harness: Harness, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_cli("export", "coupons", "--out", "x.csv") == 2
    assert capsys.readouterr().err == "nurture-bot: cannot export 'coupons': choose customers or purchases\n"
    assert not (cli_env / "x.csv").exists()


@pytest.mark.parametrize("command", [("export", "customers"), ("report",)])
async def test_unwritable_output_is_one_clear_line(
    harness: Harness, cli_env: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    assert await run_cli(*command, "--out", "no-such-folder/out.file") == 2
    err = capsys.readouterr().err
    assert err.startswith("nurture-bot: no-such-folder/out.file: cannot write there") and err.count("\n") == 1
    (cli_env / "a-file").write_text("x")
    assert await run_cli(*command, "--out", str(cli_env)) == 2
    assert "is a folder" in capsys.readouterr().err


async def test_missing_database_is_not_created(
    harness: Harness, cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_PATH", str(cli_env / "typo.db"))
    monkeypatch.delenv("DATABASE_URL", raising=False)  # a file that is not there (on either engine's run)
    assert await run_cli("export", "customers", "--out", "c.csv") == 2
    assert "no database at" in capsys.readouterr().err
    assert not (cli_env / "typo.db").exists()


async def test_report_is_one_self_contained_page(harness: Harness, cli_env: Path) -> None:
    await shop(harness)
    assert await run_cli("report", "--out", "report.html", "--period", "all") == 0
    page = (cli_env / "report.html").read_text(encoding="utf-8")
    # No OWNER_IDS here (an empty list once made it "Customers 0"): the owner, who typed commands but never
    # pressed /start, counts but cannot be reached; the cashier is staff, never a customer.
    assert '<td>Customers</td><td class="value">3 in total, 3 new</td>' in page
    assert '<td>Reachable now</td><td class="value">2</td>' in page
    assert "<h2>Stats, all time (to " in page  # the command runs on the real clock
    assert '<td>Purchases</td><td class="value">2</td>' in page
    assert '<td>Revenue</td><td class="value">1,550.50 UAH</td>' in page
    assert "&#x27;=HYPERLINK" not in page and "<script" not in page
    # No external assets: every src and href is inline data.
    assert re.findall(r'(?:src|href)="(?!data:)', page) == []
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 2
    for data in images:
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            assert image.format == "PNG" and image.width > 300


async def test_report_refuses_an_unknown_period(
    harness: Harness, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_cli("report", "--out", "r.html", "--period", "week") == 2
    assert capsys.readouterr().err.startswith("nurture-bot: Unknown period 'week'.")
    assert not (cli_env / "r.html").exists()
