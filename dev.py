#!/usr/bin/env python3
"""Bootstrap for a fresh clone: needs only Python 3.11+.

    python3 dev.py sandbox   # install what is needed, then talk to the bot in this terminal
    python3 dev.py test      # install what is needed, then lint, type-check and run the whole test suite,
                             # on SQLite and on a throw-away PostgreSQL server, side by side (tests/engines.py)
    python3 dev.py lock      # after changing dependencies in pyproject.toml: re-pin the lock files
                             # (`lock --upgrade`: move every pin to the newest version the ranges allow)

Everything goes into ./.venv, installed from the lock files (exact versions, checked against their
hashes): requirements.lock for running, requirements-dev.lock for tests and tools. It is reinstalled
only when a lock file or pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
PACKAGES = ("bot", "flows", "handlers", "storage", "console")
STAMP = "# declared dependencies: "
LOCKS = {"": ROOT / "requirements.lock", "dev": ROOT / "requirements-dev.lock"}
ENGINE = "NURTURE_TEST_ENGINE"  # read by tests/engines.py


def declared() -> str:
    """A fingerprint of the dependencies pyproject.toml declares, written into each lock file, so that
    a lock made before a dependency was added or changed is noticed."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    wanted = {"dependencies": project["dependencies"], "extras": project.get("optional-dependencies", {})}
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:16]


def _ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this file must explain itself on an old Python
        sys.exit(f"nurture-bot needs Python 3.11 or newer (this is {sys.version.split()[0]})")
    if not PYTHON.exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)


def ensure_installed(extras: str, *, warn_stale: bool = True) -> None:
    """Install the locked dependencies (and the project, editable) into .venv unless already done."""
    _ensure_venv()
    lock = LOCKS[extras]
    if warn_stale and not lock.read_text().startswith(f"{STAMP}{declared()}"):
        print(f"warning: {lock.name} is older than pyproject.toml's dependencies: run `python3 dev.py lock`")
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + lock.read_bytes() + extras.encode()
    ).hexdigest()
    stamp = VENV / f".installed-{extras or 'base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"installing dependencies into .venv from {lock.name} …", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    # Exactly the locked versions, each checked against its hash; then the project itself, adding nothing.
    subprocess.run([*pip, "--require-hashes", "-r", str(lock)], cwd=ROOT, check=True)
    subprocess.run([*pip, "--no-deps", "-e", "."], cwd=ROOT, check=True)
    stamp.write_text(digest)


def lock(options: list[str]) -> int:
    """Resolve pyproject.toml's ranges into both lock files: exact versions with the hashes of every
    file PyPI has for them, for Python 3.11+ on every platform."""
    _ensure_venv()
    if LOCKS["dev"].exists():
        ensure_installed("dev", warn_stale=False)  # uv, pinned in the dev lock, does the resolving
    else:  # the very first lock: nothing pinned yet to install uv from
        subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "uv>=0.5,<1"], cwd=ROOT, check=True)
    for extras, target in LOCKS.items():
        command = [str(BIN / "uv"), "pip", "compile", "pyproject.toml", "--universal", "--python-version", "3.11"]
        command += ["--generate-hashes", "--quiet", "--output-file", target.name, *options]
        command += ["--extra", extras] if extras else []
        if subprocess.call(
            command, cwd=ROOT, env={**os.environ, "UV_CUSTOM_COMPILE_COMMAND": "python3 dev.py lock"}
        ):
            return 1
        target.write_text(f"{STAMP}{declared()}\n{target.read_text()}")
        print(f"{target.name} written")
    return 0


# Debian packages the console's browser tests need (installed when missing and running as root).
APT_PACKAGES = [
    "chromium",
    "fonts-noto-color-emoji",  # emoji in the screenshots (docs/screenshots/), not empty boxes
]


def ensure_chromium() -> None:
    """The console's browser tests drive Debian's chromium: install it (and APT_PACKAGES) with apt-get when
    missing and this runs as root (CI); otherwise those tests skip and say why. A browser build is never
    downloaded."""
    missing = [name for name in APT_PACKAGES if not _installed(name)]
    if not missing or not shutil.which("apt-get"):
        return
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        print(f"not installed: {' '.join(missing)}; the console's browser tests may be skipped (apt-get install)")
        return
    print(f"installing {' '.join(missing)} for the console's browser tests (apt-get) …", flush=True)
    quiet = {"stdout": subprocess.DEVNULL}
    if subprocess.call(["apt-get", "update", "-q"], **quiet) or subprocess.call(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        **quiet,
    ):
        print("could not install them: the console's browser tests will be skipped")


def _installed(package: str) -> bool:
    """Whether a Debian package is installed (chromium also counts when it is on PATH some other way)."""
    if package == "chromium" and shutil.which("chromium"):
        return True
    if not shutil.which("dpkg-query"):
        return False
    status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return status.stdout.endswith("installed") and "not-installed" not in status.stdout


def ensure_postgresql() -> bool:
    """The tests' second engine runs on Debian's `postgresql` server binaries (a throw-away cluster per
    test session, tests/pg_server.py): install them with apt-get when missing and this runs as root (CI);
    otherwise the PostgreSQL pass is skipped, saying so. No Docker."""
    import glob

    if glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return True
    if not shutil.which("apt-get") or not hasattr(os, "geteuid") or os.geteuid() != 0:
        print("PostgreSQL is not installed: the PostgreSQL test pass is skipped (apt-get install postgresql)")
        return False
    print("installing PostgreSQL for the tests' second engine (apt-get) …", flush=True)
    quiet = {"stdout": subprocess.DEVNULL}
    if subprocess.call(["apt-get", "update", "-q"], **quiet) or subprocess.call(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        **quiet,
    ):
        print("could not install PostgreSQL: the PostgreSQL test pass is skipped")
        return False
    return True


def run_tests(rest: list[str]) -> int:
    """The suite on SQLite and (where a server can be started) on PostgreSQL.

    The two passes run side by side: each is mostly waiting on its own database and the emulator, so on
    two cores together they take little more than the longer one alone. Each pass's output is kept apart
    and printed whole when it ends. `NURTURE_TEST_SERIAL=1` runs them one after the other instead."""
    passes = ["sqlite"] + (["postgresql"] if ensure_postgresql() else [])
    command = [str(PYTHON), "-m", "pytest", *rest]
    if len(passes) == 1 or os.environ.get("NURTURE_TEST_SERIAL"):
        codes = []
        for engine in passes:
            print(f"\nthe tests on {engine}:", flush=True)
            codes.append(subprocess.call(command, cwd=ROOT, env={**os.environ, ENGINE: engine}))
        return next((code for code in codes if code), 0)
    return _side_by_side(command, passes)


def _side_by_side(command: list[str], engines: list[str]) -> int:
    """Run one pass per engine at once; then say how each ended and print each one's output whole (the
    last pass's pytest summary stays the last line)."""
    import tempfile

    print(f"running the tests on {' and '.join(engines)} side by side …", flush=True)
    with tempfile.TemporaryDirectory(prefix="nurture-tests-") as folder:
        logs = {engine: Path(folder) / f"{engine}.log" for engine in engines}
        running = {}
        for engine in engines:
            with logs[engine].open("wb") as log:  # the child keeps its own handle
                running[engine] = subprocess.Popen(
                    command, cwd=ROOT, env={**os.environ, ENGINE: engine}, stdout=log, stderr=subprocess.STDOUT
                )
        codes = {engine: process.wait() for engine, process in running.items()}
        print(
            ", ".join(
                f"{engine}: {'passed' if code == 0 else f'FAILED ({code})'}" for engine, code in codes.items()
            )
        )
        for engine in engines:
            print(f"\n===== the tests on {engine} =====", flush=True)
            sys.stdout.buffer.write(logs[engine].read_bytes())
            sys.stdout.flush()
    return next((code for code in codes.values() if code), 0)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    rest = argv[1:]
    if command == "sandbox":
        ensure_installed("")
        return subprocess.call([str(BIN / "nurture-bot"), "sandbox", *rest], cwd=ROOT)
    if command == "test":
        ensure_installed("dev")
        ensure_chromium()
        lint = subprocess.call([str(PYTHON), "-m", "ruff", "check", "."], cwd=ROOT)
        types = subprocess.call([str(PYTHON), "-m", "mypy", *PACKAGES], cwd=ROOT)
        tests = run_tests(rest)
        return tests or lint or types
    if command == "lock":
        return lock(rest)
    if command == "bench":
        ensure_installed("dev")
        return subprocess.call([str(PYTHON), "-m", "bench", *rest], cwd=ROOT)
    print(__doc__)
    return 0 if command == "help" else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
