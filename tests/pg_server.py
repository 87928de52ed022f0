"""A throw-away PostgreSQL server for the tests, from Debian's `postgresql` binaries (no Docker).

The cluster lives in a temporary folder, listens on 127.0.0.1 on a free port, runs without durability
(fsync, synchronous_commit and full_page_writes off: a crash only loses test data) and is removed when the
test session ends. Each test gets a database of its own, copied from a template migrated once.
As root, initdb refuses to run: the server then runs as the `postgres` system user.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

TEMPLATE = "nurture_template"


def server_binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None when Debian's `postgresql` is missing."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_sync(make: Callable[[], Awaitable[Any]]) -> Any:
    """Run a coroutine to the end from synchronous code, even inside a running event loop (in a thread)."""
    result: list[Any] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(make()))  # type: ignore[arg-type]
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


class PgServer:
    """One running cluster: `database()` hands out fresh, migrated databases by URL."""

    def __init__(self, bin_dir: Path) -> None:
        self._bin = bin_dir
        self._root = Path(tempfile.mkdtemp(prefix="nurture-pg-"))
        self._data = self._root / "data"
        self.port = _free_port()
        self._as: list[str] = []
        self._numbers = itertools.count(1)
        self._made: list[str] = []
        self._watchdog: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:  # initdb and postgres refuse root: run them as the postgres system user
            user = pwd.getpwnam("postgres")
            os.chown(self._root, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._as, str(self._bin / tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self._root,
        )

    def start(self) -> None:
        """initdb, then start the server and wait until it accepts connections."""
        self._watch()  # first: a test run killed at any point after this leaves nothing behind
        self._pg("initdb", "-D", str(self._data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
        options = " ".join(
            f"-c {setting}"
            for setting in (
                "listen_addresses=127.0.0.1",
                f"port={self.port}",
                f"unix_socket_directories={self._root}",
                "fsync=off",
                "synchronous_commit=off",
                "full_page_writes=off",
                "max_connections=300",
                "shared_buffers=32MB",
            )
        )
        self._pg(
            "pg_ctl", "-D", str(self._data), "-l", str(self._root / "server.log"), "-o", options, "-w", "start"
        )

    def _watch(self) -> None:
        """A watchdog process that stops the server once this one ends, however it ends (a killed pytest
        runs no atexit): it waits for the end of a pipe only this process holds open."""
        stop = [*self._as, str(self._bin / "pg_ctl"), "-D", str(self._data), "-m", "immediate", "-w", "stop"]
        script = (
            "import shutil, subprocess, sys; sys.stdin.read(); "
            f"subprocess.run({stop!r}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
            f"shutil.rmtree({str(self._root)!r}, ignore_errors=True)"
        )
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", script], stdin=subprocess.PIPE, start_new_session=True
        )

    def stop(self) -> None:
        """Stop the server at once (nothing in it is worth keeping) and remove its files."""
        if self._watchdog is not None and self._watchdog.stdin is not None:
            self._watchdog.stdin.close()  # the watchdog stops the server; wait for it
            self._watchdog.wait()
            return
        with contextlib.suppress(subprocess.CalledProcessError):
            self._pg("pg_ctl", "-D", str(self._data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self._root, ignore_errors=True)

    def postmaster_pid(self) -> int:
        """The server's main process (its backends are its children): for CPU accounting."""
        return int((self._data / "postmaster.pid").read_text().split()[0])

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def make_template(self) -> None:
        """Create the template database and apply every PostgreSQL migration to it, once."""
        from storage.postgres import PostgresDatabase

        async def make() -> None:
            await self._admin(f"CREATE DATABASE {TEMPLATE}")
            db = await PostgresDatabase.connect(self.url(TEMPLATE), pool_size=1)
            await db.close()

        run_sync(make)

    def database(self) -> str:
        """A fresh database copied from the migrated template; its URL."""
        name = f"t_{next(self._numbers)}"
        run_sync(lambda: self._admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} STRATEGY FILE_COPY"))
        self._made.append(name)
        return self.url(name)

    def empty_database(self) -> str:
        """A fresh database with no schema at all (migrations not applied); its URL."""
        name = f"t_{next(self._numbers)}"
        run_sync(lambda: self._admin(f"CREATE DATABASE {name}"))
        self._made.append(name)
        return self.url(name)

    def drop_made(self) -> None:
        """Drop the databases handed out since the last call (after each test: the disk stays small)."""
        made, self._made = self._made, []
        if made:
            run_sync(lambda: self._admin(*(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)" for name in made)))

    async def _admin(self, *statements: str) -> None:
        conn = await asyncpg.connect(self.url("postgres"))
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()


_server: PgServer | None = None


def server() -> PgServer:
    """The session's server, started (and its template migrated) on first use, stopped at exit."""
    global _server
    if _server is None:
        bin_dir = server_binaries()
        if bin_dir is None:
            raise RuntimeError(
                "PostgreSQL is not installed: apt-get install postgresql (or run `python3 dev.py test`)"
            )
        started = PgServer(bin_dir)
        atexit.register(started.stop)
        started.start()
        started.make_template()
        _server = started
    return _server


def running() -> PgServer | None:
    """The server if one was started in this session."""
    return _server


_run_sync = run_sync  # the name tests/test_pg_schema.py imports
