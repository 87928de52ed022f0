"""The managers' working hours from the content file: are they in now, and if not, when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from flows.content import Handoff


def next_opening(now: datetime, handoff: Handoff, zone: tzinfo) -> datetime | None:
    """None when the managers are in now (or no hours are set); otherwise the next opening, in UTC."""
    if not handoff.working_hours:
        return None
    local = now.astimezone(zone)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        hours = handoff.hours_of(day.weekday())
        if hours is None:
            continue
        start = datetime.combine(day, hours[0], tzinfo=zone)
        end = datetime.combine(day, hours[1], tzinfo=zone)
        if offset == 0 and start <= local < end:
            return None
        if start > local:
            return start.astimezone(UTC)
    return None  # unreachable with at least one working day; treat a broken week as always open
