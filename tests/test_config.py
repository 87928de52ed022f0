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


# --- going live as written ------------------------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent


def test_check_config_passes_on_the_example_env_with_a_token_and_an_owner(tmp_path: Path) -> None:
    """The README's steps: copy .env.example to .env, put a token and an owner id, check the config."""
    example = (REPO / ".env.example").read_text("utf-8")
    (tmp_path / ".env").write_text(
        f"{example}\nBOT_TOKEN=123456789:AAH-real-looking-token\nOWNER_IDS=42\n", "utf-8"
    )
    result = run_cli("check-config", env={}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "is valid" in result.stdout
    shown = dict([*line.split(None, 1), ""][:2] for line in result.stdout.splitlines() if line[:1].isupper())
    assert shown["OWNER_IDS"] == "42" and shown["MANAGER_CHAT_ID"] == ""
    assert shown["QUIET_HOURS"] == "21:00-09:00" and shown["BOT_TOKEN"] == "set (32 chars)"  # the later line wins


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OWNER_IDS": "12,abc"}, "OWNER_IDS: 'abc' is not a Telegram user id"),
        ({"MANAGER_CHAT_ID": "my-group"}, "MANAGER_CHAT_ID: 'my-group' is not a whole number"),
        ({"WEBHOOK_PORT": "80x"}, "WEBHOOK_PORT: '80x' is not a whole number"),
        ({"WEBHOOK_PORT": "70000"}, "WEBHOOK_PORT: must be at most 65535 (you wrote '70000')"),
        ({"SEND_RATE_PER_SECOND": "fast"}, "SEND_RATE_PER_SECOND: 'fast' is not a number"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR (you wrote 'LOUD')"),
        ({"DAILY_JOBS_AT": "25:00"}, "DAILY_JOBS_AT: '25:00' is not a time of day"),
        ({"WEBHOOK_URL": "http://bot.example.com"}, "WEBHOOK_URL: must start with https://"),
        ({"API_TOKEN": "short-secret"}, "24`) (hidden, 12 characters)"),
    ],
)
def test_settings_errors_name_the_variable_and_the_bad_value(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    result = run_cli("check-config", env={"BOT_TOKEN": "1:x", **env}, cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "short-secret" not in result.stderr and "Input should" not in result.stderr


def test_a_bad_token_is_not_echoed(tmp_path: Path) -> None:
    result = run_cli("check-config", env={"BOT_TOKEN": "secret token value"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "BOT_TOKEN: does not look like a BotFather token" in result.stderr
    assert "secret token value" not in result.stderr and "hidden, 18 characters" in result.stderr


@pytest.mark.parametrize(
    "name", ["MANAGER_CHAT_ID", "WEBHOOK_URL", "WEBHOOK_SECRET", "API_TOKEN", "TIMEZONE", "WEBHOOK_PORT"]
)
def test_an_empty_optional_setting_means_not_set(tmp_path: Path, name: str) -> None:
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, "http://127.0.0.1:1", **{name.lower(): "  "})
    default = type(settings).model_fields[name.lower()].get_default(call_default_factory=True)
    assert getattr(settings, name.lower()) == default


def test_empty_quiet_hours_switch_them_off(tmp_path: Path) -> None:
    from tests.conftest import make_settings

    assert make_settings(tmp_path, "http://127.0.0.1:1", quiet_hours="").quiet_window is None


def test_the_example_token_placeholder_is_refused(tmp_path: Path) -> None:
    example = (REPO / ".env.example").read_text("utf-8")
    (tmp_path / ".env").write_text(f"{example}\nOWNER_IDS=42\n", "utf-8")
    result = run_cli("check-config", env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert "BOT_TOKEN: is still the placeholder from .env.example" in result.stderr
