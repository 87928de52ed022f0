"""Small helpers shared by the benchmarks: settings, the machine, result tables."""

from __future__ import annotations

import os
import platform
import statistics
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from bot.settings import Settings, load_settings

TOKEN = "123456:bench-token"


def bench_settings(db_path: Path, api_base: str, **overrides: Any) -> Settings:
    """Settings for a bot on the emulator and a fresh SQLite file; no quiet hours unless asked."""
    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "telegram_api_url": api_base,
        "database_path": db_path,
        "timezone": "UTC",
        "quiet_hours": "",
        "log_level": "WARNING",
    }
    values.update(overrides)
    return load_settings(_env_file=None, **values)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> str:
    version = sys.version.split()[0]
    return f"{date.today()} · {os.cpu_count()} CPU · {cpu_model()} · Python {version} · {platform.system()}"


def load() -> str:
    """The 1-minute load average: other processes on the machine make wall-clock figures noisier."""
    return f"load average {os.getloadavg()[0]:.2f}"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A compact Markdown table (pastes straight into bench/README.md)."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 10 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
