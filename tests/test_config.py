"""Bad settings and bad content stop start-up with one clear line and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.content import ContentError, example_content_path, load_content
from storage.db import Database, SchemaTooNewError


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**base, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "BOT_TOKEN: is required but not set"),
        ({"BOT_TOKEN": "not a token"}, "BOT_TOKEN: does not look like a BotFather token"),
        ({"BOT_TOKEN": "1:x", "TIMEZONE": "Mars/Olympus"}, "TIMEZONE: unknown time zone 'Mars/Olympus'"),
        ({"BOT_TOKEN": "1:x", "OWNER_IDS": "12,abc"}, "OWNER_IDS"),
        ({"BOT_TOKEN": "1:x", "TELEGRAM_API_URL": "api.telegram.org"}, "TELEGRAM_API_URL: must start with http"),
        ({"BOT_TOKEN": "1:x", "CONTENT_FILE": "missing.yaml"}, "missing.yaml: file not found"),
    ],
)
def test_bad_settings_fail_with_one_clear_line(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    result = run_cli("run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_check_config_masks_the_token(tmp_path: Path) -> None:
    token = "123456789:AAH-very-secret-token-value"
    result = run_cli("check-config", env={"BOT_TOKEN": token, "OWNER_IDS": "1, 2"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert token not in result.stdout
    assert "OWNER_IDS" in result.stdout and "1,2" in result.stdout
    assert "is valid" in result.stdout


def test_content_error_names_file_key_and_problem(tmp_path: Path) -> None:
    text = example_content_path().read_text("utf-8").replace("welcome_back:", "welcome_bak:", 1)
    broken = tmp_path / "content.yaml"
    broken.write_text(text, "utf-8")
    with pytest.raises(ContentError) as error:
        load_content(broken)
    message = str(error.value)
    assert str(broken) in message and "texts.en" in message and "welcome_bak" in message


def test_content_unknown_placeholder_is_reported(tmp_path: Path) -> None:
    text = example_content_path().read_text("utf-8").replace("Welcome back, {name}", "Welcome back, {nmae}", 1)
    broken = tmp_path / "content.yaml"
    broken.write_text(text, "utf-8")
    with pytest.raises(ContentError, match=r"texts\.en\.welcome_back: unknown placeholder \{nmae\}"):
        load_content(broken)


def test_content_invalid_yaml_gives_the_line(tmp_path: Path) -> None:
    broken = tmp_path / "content.yaml"
    broken.write_text("business:\n  name: [unclosed\n", "utf-8")
    with pytest.raises(ContentError, match=r"line \d+: not valid YAML"):
        load_content(broken)


async def test_database_newer_than_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    db = await Database.open(path)
    await db.execute("INSERT INTO schema_migrations (version, name) VALUES (9999, 'from_the_future')")
    await db.close()
    with pytest.raises(SchemaTooNewError, match="version 9999"):
        await Database.open(path)


async def test_migrations_are_applied_once(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    for _ in range(2):
        db = await Database.open(path)
        versions = [row[0] for row in await db.fetch_all("SELECT version FROM schema_migrations")]
        await db.close()
    assert versions == sorted(set(versions)) and versions[0] == 1
