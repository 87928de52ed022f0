"""Helpers for rendering long answers within Telegram's limits."""

from __future__ import annotations

from collections.abc import Iterable

from flows.markup import Html, visible_text

TEXT_LIMIT = 4096


def pack_blocks(blocks: Iterable[Html], limit: int = TEXT_LIMIT, separator: str = "\n\n") -> list[Html]:
    """Join blocks into as few messages as fit under `limit`, never splitting a block (so tags stay whole)."""
    messages: list[Html] = []
    current = Html()
    for block in blocks:
        block = block if len(block) <= limit else _clipped(block, limit)
        candidate = current + Html(separator) + block if current else block
        if len(candidate) > limit:
            messages.append(current)
            candidate = block
        current = candidate
    if current:
        messages.append(current)
    return messages


def _clipped(block: Html, limit: int) -> Html:
    """A block too long for one message, cut as plain text: cutting the markup could split a tag or an
    `&amp;` and make Telegram refuse the whole message."""
    visible = visible_text(block)
    clipped = Html(visible[: limit - 1] + "…")
    while len(clipped) > limit:  # escaping made it longer again
        visible = visible[: len(visible) - (len(clipped) - limit) - 1]
        clipped = Html(visible + "…")
    return clipped
