"""`python deploy/check_nginx.py`: run the worked example of several processes behind nginx, on this machine.

Three `nurture-bot run` instances laid out as `nurture-bot@.service` describes (ports 8n80/8n81/8n82), one
throw-away PostgreSQL (tests/pg_server.py), the local emulator as Telegram, and nginx with
`deploy/nginx.conf` — its TLS lines swapped for a plain `listen 8088` (no certificate here). Thirty customers
press /start; instance 2 is stopped with SIGTERM; they ask again; the console is fetched through nginx.
Needs Debian's `nginx` (`apt-get install nginx-light`) and the project's venv. Not part of the test suite.
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.sandbox.emulator import Emulator  # noqa: E402
from tests.pg_server import server  # noqa: E402

PORT = 8088
CUSTOMERS = range(5001, 5031)


def nginx_conf(folder: Path) -> Path:
    """deploy/nginx.conf inside a minimal nginx.conf of its own, on plain HTTP, logging which instance served."""
    site = (ROOT / "deploy/nginx.conf").read_text().replace("listen 443 ssl;", f"listen {PORT};")
    site = re.sub(r"\n\s*ssl_certificate.*", "", site)
    path = folder / "nginx.conf"
    path.write_text(
        f"worker_processes 1; pid {folder}/nginx.pid; error_log {folder}/error.log;\nevents {{}}\n"
        f"http {{ log_format up '$request $status $upstream_addr'; access_log {folder}/access.log up;\n{site}\n}}\n"
    )
    return path


async def instance(n: int, common: dict[str, str], folder: Path) -> asyncio.subprocess.Process:
    env = common | {"WEBHOOK_PORT": f"8{n}80", "API_PORT": f"8{n}81", "CONSOLE_PORT": f"8{n}82"}
    with (folder / f"bot{n}.log").open("wb") as log:
        command = str(Path(sys.executable).parent / "nurture-bot")
        return await asyncio.create_subprocess_exec(
            command, "run", env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT
        )


async def nginx(*args: str) -> None:
    await asyncio.to_thread(subprocess.run, ["nginx", *args], check=True)


async def check(folder: Path) -> None:
    async with Emulator() as emu:
        common = {
            "PATH": os.environ["PATH"], "HOME": str(folder), "BOT_TOKEN": emu.token, "TELEGRAM_API_URL": emu.api_base,
            "DATABASE_URL": server().database(), "WEBHOOK_URL": f"http://127.0.0.1:{PORT}",
            "WEBHOOK_SECRET": "s" * 40, "WEBHOOK_HOST": "127.0.0.1", "CONSOLE_HOST": "127.0.0.1",
            "OWNER_IDS": "900", "LOG_LEVEL": "WARNING", "QUIET_HOURS": "",
        }  # fmt: skip
        bots = [await instance(n, common, folder) for n in (1, 2, 3)]
        conf = nginx_conf(folder)
        await nginx("-c", str(conf))
        try:
            await emu.wait_until(lambda: sum(c.method == "setWebhook" for c in emu.calls) >= 3, timeout=240)
            for customer in CUSTOMERS:
                emu.send_message(customer, "/start")
            await emu.wait_until(lambda: all(emu.messages(c) for c in CUSTOMERS), timeout=60)
            print(f"{len(CUSTOMERS)} customers answered /start through nginx")
            bots[1].send_signal(signal.SIGTERM)
            print("instance 2 stopped with SIGTERM, exit code", await bots[1].wait())
            for customer in CUSTOMERS:
                emu.send_message(customer, "do you have parking?")
            await emu.wait_until(lambda: all(len(emu.messages(c)) >= 2 for c in CUSTOMERS), timeout=60)
            print("all answered again with instance 2 down")
            page = await asyncio.to_thread(lambda: urllib.request.urlopen(f"http://127.0.0.1:{PORT}/").read())
            print("the console through nginx:", page[:15].decode())
        finally:
            for bot in bots:
                if bot.returncode is None:
                    bot.send_signal(signal.SIGTERM)
            print("exit codes", [await bot.wait() for bot in bots])
            await nginx("-c", str(conf), "-s", "stop")
    served = collections.Counter(
        line.split()[-1] for line in (folder / "access.log").read_text().splitlines() if "/telegram" in line
    )
    print("webhook POSTs served by instance:", dict(served))
    broken = [n for n in (1, 2, 3) if "Traceback" in (folder / f"bot{n}.log").read_text()]
    print("tracebacks in the instances' logs:", broken or "none")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="nurture-nginx-") as tmp:
        asyncio.run(check(Path(tmp)))
