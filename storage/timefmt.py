"""How moments are stored: UTC text that sorts correctly and reads well in any SQL console."""

from __future__ import annotations

from datetime import UTC, datetime


def to_db(moment: datetime) -> str:
    """Render an aware datetime as stored UTC text (`2026-01-05 12:00:00`)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not stored: pass an aware UTC datetime")
    return moment.astimezone(UTC).isoformat(sep=" ", timespec="seconds")[:19]


def from_db(text: str | None) -> datetime | None:
    """Parse stored UTC text back into an aware datetime (fromisoformat: C speed, on every update)."""
    if text is None:
        return None
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
