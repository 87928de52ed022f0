"""Files that hold customers' data are readable by their owner only (0600): the database with its WAL
and shared-memory files, and the exports and reports the CLI writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from storage.db import Database
from tests.test_config import run_cli


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.engines("sqlite", reason="file modes of the SQLite file and its -wal/-shm files")
async def test_the_database_and_its_wal_and_shm_files_are_created_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which would make new files world-readable
    try:
        db = await Database.open(tmp_path / "data" / "bot.db")
        try:
            await db.execute("INSERT INTO kv (key, value) VALUES ('k', 'v')")
            files = [tmp_path / "data" / name for name in ("bot.db", "bot.db-wal", "bot.db-shm")]
            assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}
            assert mode(tmp_path / "data") == 0o700
        finally:
            await db.close()
    finally:
        os.umask(old)


async def test_a_world_readable_database_from_before_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    db = await Database.open(path)
    await db.close()
    path.chmod(0o644)
    db = await Database.open(path)
    await db.close()
    assert mode(path) == 0o600


async def test_exports_and_reports_are_written_0600(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.db")
    await db.close()
    env = {"BOT_TOKEN": "1:x", "DATABASE_PATH": str(tmp_path / "bot.db")}
    old = os.umask(0o022)
    try:
        for args in (("export", "customers", "--out", "customers.csv"), ("report", "--out", "report.html")):
            result = run_cli(*args, env=env, cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            assert mode(tmp_path / args[-1]) == 0o600, args
    finally:
        os.umask(old)
