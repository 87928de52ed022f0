"""How moments are stored: UTC text that sorts correctly and reads well in any SQL console."""

from __future__ import annotations

from datetime import UTC, datetime

_FORMAT = "%Y-%m-%d %H:%M:%S"


def to_db(moment: datetime) -> str:
    """Render an aware datetime as stored UTC text."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not stored: pass an aware UTC datetime")
    return moment.astimezone(UTC).strftime(_FORMAT)


def from_db(text: str | None) -> datetime | None:
    """Parse stored UTC text back into an aware datetime."""
    if text is None:
        return None
    return datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)
