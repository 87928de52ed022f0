"""Where a benchmark's database lives: a SQLite file, or a PostgreSQL database.

PostgreSQL is `DATABASE_URL` when it is set; otherwise a throw-away cluster from Debian's binaries (found as
tests/pg_server.py finds them), sized for tens of millions of rows rather than for the tests: 1 GB of
shared buffers, larger work and maintenance memory, no durability (a crash only loses bench data). With
`--keep DIR` the cluster (or the SQLite file) stays in DIR and is reused by the next run.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from tests.pg_server import _free_port, run_sync, server_binaries

ENGINES = ("sqlite", "postgresql")
DATABASE = "bench"
SETTINGS = (
    "listen_addresses=127.0.0.1",
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "shared_buffers=1GB",
    "work_mem=64MB",
    "maintenance_work_mem=512MB",
    "max_wal_size=8GB",
    "checkpoint_timeout=30min",
)


@contextlib.contextmanager
def target(engine: str, keep: Path | None) -> Iterator[Path | str]:
    """A SQLite path or a PostgreSQL URL for the benchmark's database, removed afterwards unless kept."""
    if engine == "postgresql" and os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    with contextlib.ExitStack() as stack:
        folder = keep if keep is not None else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)  # the postgres system user must reach the cluster inside it
        if engine == "sqlite":
            yield folder / "bench.db"
            return
        cluster = Cluster(folder / "pg")
        stack.callback(cluster.stop)
        yield cluster.start()


class Cluster:
    """A PostgreSQL cluster in a folder of its own: created on first start, stopped when done."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _free_port()
        self._bin = server_binaries()
        if self._bin is None:
            raise SystemExit("PostgreSQL is not installed: apt-get install postgresql, or set DATABASE_URL")
        self._as: list[str] = []
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # initdb and postgres refuse root
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _pg(self, tool: str, *args: str) -> None:
        assert self._bin is not None
        subprocess.run(
            [*self._as, str(self._bin / tool), *args], check=True, stdout=subprocess.DEVNULL, cwd=self.root
        )

    def start(self) -> str:
        """Start the cluster (initdb first when new) and return the bench database's URL."""
        data = self.root / "data"
        fresh = not data.exists()
        if fresh:
            self._pg("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
        options = " ".join(
            f"-c {s}" for s in (*SETTINGS, f"port={self.port}", f"unix_socket_directories={self.root}")
        )
        self._pg("pg_ctl", "-D", str(data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")
        if fresh:
            run_sync(self._create)
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    async def _create(self) -> None:
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres")
        try:
            await conn.execute(f"CREATE DATABASE {DATABASE}")
        finally:
            await conn.close()

    def stop(self) -> None:
        """Stop the server; its files stay if the folder is kept (the caller removes a temporary one)."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._pg("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
