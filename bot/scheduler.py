"""APScheduler runs a few cheap periodic jobs; each finds its due work with an indexed query."""

from __future__ import annotations

import logging
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from flows.jobs import Jobs

log = logging.getLogger(__name__)


def build_scheduler(jobs: Jobs) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC)
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 30}
    scheduler.add_job(jobs.drain, "interval", seconds=1, id="outbox-drain", **common)
    scheduler.add_job(jobs.flush, "interval", seconds=1, id="handled-updates-flush", **common)
    scheduler.add_job(jobs.advance, "interval", seconds=2, id="sequences-advance", **common)
    scheduler.add_job(jobs.daily_if_due, "interval", minutes=1, id="daily", **common)
    scheduler.add_job(jobs.leads, "interval", seconds=20, id="leads", **common)
    scheduler.add_job(jobs.broadcast, "interval", seconds=2, id="broadcasts", **common)
    return scheduler
