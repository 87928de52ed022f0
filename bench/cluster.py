"""N real bot processes in webhook mode behind one address: the emulator, a round-robin proxy, the processes.

The emulator (in the calling process) is Telegram; every bot process registers the proxy's address with
setWebhook, as every instance behind nginx would, and the proxy spreads the POSTs over them. The processes
are started with an environment of their own (no `.env`: they run in a temporary folder), so they reach
the emulator and the database exactly as a deployment configured by environment variables would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import TOKEN
from bench.proxy import RoundRobinProxy
from bot.sandbox.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-webhook-secret-0123456789-abcdefghij"
NURTURE_BOT = [str(Path(sys.executable).parent / "nurture-bot"), "run"]
BENCH_BOT = [sys.executable, "-m", "bench.bot_process"]  # nurture-bot run, with --unpaced or --echo
READY_SECONDS = 90.0  # importing aiogram and opening the database on a busy 2-core machine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class BotProcess:
    """One bot process: its webhook port, its environment, its log file."""

    index: int
    port: int
    command: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command, env=self.env, cwd=self.log_path.parent, stdout=log, stderr=subprocess.STDOUT
            )
        self.starts += 1

    def signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    async def wait(self, timeout: float = 30.0) -> int | None:
        """Wait for the process to end (SIGKILL after ``timeout``); its exit code."""
        if self.proc is None:
            return None
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.proc.kill()
            await asyncio.sleep(0.05)
        return self.proc.returncode

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Cluster:
    """The emulator's side of a deployment: proxy plus bot processes. Use ``async with``."""

    emu: Emulator
    count: int
    database: dict[str, str]  # DATABASE_URL or DATABASE_PATH
    command: Sequence[str] = tuple(NURTURE_BOT)
    extra_env: dict[str, str] = field(default_factory=dict)
    ready_seconds: float = READY_SECONDS
    processes: list[BotProcess] = field(default_factory=list)
    proxy: RoundRobinProxy | None = None
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    async def __aenter__(self) -> Cluster:
        self._tmp = tempfile.TemporaryDirectory(prefix="nurture-cluster-")
        ports = [free_port() for _ in range(self.count)]
        self.proxy = RoundRobinProxy([f"http://127.0.0.1:{port}" for port in ports])
        proxy_url = await self.proxy.start()
        for index, port in enumerate(ports):
            env = self._env(proxy_url, port)
            log_path = Path(self._tmp.name) / f"bot{index}.log"
            self.processes.append(BotProcess(index, port, list(self.command), env, log_path))
        try:
            await self.start(*range(self.count))
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        for process in self.processes:
            process.signal(signal.SIGTERM)
        for process in self.processes:
            await process.wait()
        if self.proxy is not None:
            await self.proxy.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def _env(self, proxy_url: str, port: int) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
        return keep | {
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": self.emu.api_base,
            "WEBHOOK_URL": proxy_url,
            "WEBHOOK_HOST": "127.0.0.1",
            "WEBHOOK_PORT": str(port),
            "WEBHOOK_SECRET": SECRET,
            "CONSOLE_PORT": "0",  # each process has its console; any free port
            "TIMEZONE": "UTC",
            "QUIET_HOURS": "",
            "LOG_LEVEL": "WARNING",
            **self.database,
            **self.extra_env,
        }

    async def start(self, *indexes: int) -> None:
        """Start (or restart) these processes; return when each serves its port and called setWebhook."""
        calls = len(self.emu.calls)
        for index in indexes:
            self.processes[index].start()
        deadline = time.monotonic() + self.ready_seconds
        while True:
            hooks = sum(c.method == "setWebhook" for c in self.emu.calls[calls:])
            dead = [p for i, p in enumerate(self.processes) if i in indexes and not p.running]
            if dead:
                raise RuntimeError(f"bot process {dead[0].index} exited:\n{dead[0].log_tail()}")
            if hooks >= len(indexes):
                return
            if time.monotonic() > deadline:
                logs = "\n".join(self.processes[i].log_tail() for i in indexes)
                raise TimeoutError(
                    f"{len(indexes) - hooks} bot processes not ready in {self.ready_seconds:.0f}s:\n{logs}"
                )
            await asyncio.sleep(0.1)

    def kill(self, index: int) -> None:
        """SIGKILL: no shutdown, no flush; what it was doing is left half done."""
        self.processes[index].signal(signal.SIGKILL)

    async def terminate(self, index: int) -> int | None:
        """SIGTERM and wait: the process stops as an orchestrator would stop it."""
        self.processes[index].signal(signal.SIGTERM)
        return await self.processes[index].wait()

    def cpu_seconds(self) -> float:
        """CPU time the running bot processes used so far (user + system, from /proc)."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for process in self.processes:
            if process.running and process.proc is not None:
                try:
                    fields = Path(f"/proc/{process.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                total += (int(fields[11]) + int(fields[12])) / tick
        return total
