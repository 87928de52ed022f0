#!/usr/bin/env python3
"""Bootstrap for a fresh clone: needs only Python 3.11+.

    python3 dev.py sandbox   # install what is needed, then talk to the bot in this terminal
    python3 dev.py test      # install what is needed, then lint, type-check and run the whole test suite

Everything goes into ./.venv; it is reinstalled only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
PACKAGES = ("bot", "flows", "handlers", "storage")


def ensure_installed(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this file must explain itself on an old Python
        sys.exit(f"nurture-bot needs Python 3.11 or newer (this is {sys.version.split()[0]})")
    if not PYTHON.exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / f".installed-{extras or 'base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print("installing dependencies into .venv (first run only) …", flush=True)
    target = f".[{extras}]" if extras else "."
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", target],
        cwd=ROOT,
        check=True,
    )
    stamp.write_text(digest)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    rest = argv[1:]
    if command == "sandbox":
        ensure_installed("")
        return subprocess.call([str(BIN / "nurture-bot"), "sandbox", *rest], cwd=ROOT)
    if command == "test":
        ensure_installed("dev")
        lint = subprocess.call([str(PYTHON), "-m", "ruff", "check", "."], cwd=ROOT)
        types = subprocess.call([str(PYTHON), "-m", "mypy", *PACKAGES], cwd=ROOT)
        tests = subprocess.call([str(PYTHON), "-m", "pytest", *rest], cwd=ROOT)
        return tests or lint or types
    if command == "bench":
        ensure_installed("dev")
        return subprocess.call([str(PYTHON), "-m", "bench", *rest], cwd=ROOT)
    print(__doc__)
    return 0 if command == "help" else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
