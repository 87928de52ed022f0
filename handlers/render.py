"""Helpers for rendering long answers within Telegram's limits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

TEXT_LIMIT = 4096


def pack_blocks(blocks: Iterable[str], limit: int = TEXT_LIMIT, separator: str = "\n\n") -> list[str]:
    """Join blocks into as few messages as fit under `limit`, never splitting a block (so tags stay whole)."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        block = block if len(block) <= limit else block[: limit - 1] + "…"
        candidate = f"{current}{separator}{block}" if current else block
        if len(candidate) > limit:
            messages.append(current)
            candidate = block
        current = candidate
    if current:
        messages.append(current)
    return messages


def short_duration(delta: timedelta) -> str:
    """`1 d 12 h`, `1 min`, `30 s`: exact, for the team's screens."""
    left = int(delta.total_seconds())
    parts = []
    for unit, seconds in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        count, left = divmod(left, seconds)
        if count:
            parts.append(f"{count} {unit}")
    return " ".join(parts) or "0 s"
