"""APScheduler runs a few cheap periodic jobs; each finds its due work with an indexed query.

Several bot processes may share one database (PostgreSQL). Every process runs every job on its timer, and
`flows.jobs.Jobs` decides what a process does on each tick:

- The heartbeat (every `BEAT_SECONDS`) keeps this process's instance alive and its leases renewed.
- advance, daily, leads and broadcasts find work for the whole bot: only the holder of the *leader lease*
  (a row in `leases`, renewed with the heartbeat, lapsing 30 s after its holder fell silent) runs them,
  so they run once per tick across processes. A lease rather than `pg_try_advisory_lock` per job run:
  a per-run lock only keeps two runs from overlapping, so unaligned timers would still run a job once per
  process per interval; it needs a held connection per lock; and it exists on PostgreSQL only, where a
  lease is the same rows on both engines and is tested on the injected clock. The price is a pause of up
  to one lease in these jobs when the leader dies.
- The drain runs in every process. Claims share the rows out (`FOR UPDATE SKIP LOCKED`, a chat's rows
  one at a time anywhere), the global and per-chat budgets bound the rate whatever the number of
  processes, and a leader's death then never stops sending. Each drain first recovers what a dead
  process left 'sending' (turned 'unknown', never resent).
- The flush runs in every process: it writes that process's own write-behind notes.
"""

from __future__ import annotations

import logging
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from flows.jobs import Jobs
from flows.liveness import BEAT_SECONDS

log = logging.getLogger(__name__)


def build_scheduler(jobs: Jobs) -> AsyncIOScheduler:
    """The timers: every job in every process; `Jobs` skips what only the leader runs."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 30}
    scheduler.add_job(jobs.heartbeat, "interval", seconds=BEAT_SECONDS, id="heartbeat", **common)
    scheduler.add_job(jobs.drain, "interval", seconds=1, id="outbox-drain", **common)
    scheduler.add_job(jobs.flush, "interval", seconds=1, id="handled-updates-flush", **common)
    scheduler.add_job(jobs.advance, "interval", seconds=2, id="sequences-advance", **common)
    scheduler.add_job(jobs.daily_if_due, "interval", minutes=1, id="daily", **common)
    scheduler.add_job(jobs.leads, "interval", seconds=20, id="leads", **common)
    scheduler.add_job(jobs.broadcast, "interval", seconds=2, id="broadcasts", **common)
    return scheduler
