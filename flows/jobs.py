"""The periodic work, as plain coroutines: the scheduler calls them on a timer, tests call `tick()`.

With several processes on one database, the jobs that find due work for everyone (advance, daily, leads,
broadcasts) run only in the instance holding the leader lease (flows/liveness.py); the drain runs in every
process (outbox claims share the rows out) and so does the flush (it writes this process's own notes).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import time, tzinfo

from flows.broadcasts import Broadcasts
from flows.clock import Clock
from flows.coupons import Coupons
from flows.handoff import Handoff
from flows.liveness import Liveness
from flows.loyalty import Loyalty
from flows.outbox import DrainReport, Sender
from flows.retention import Retention
from flows.sequences import Sequences
from storage.customers import CustomersRepo
from storage.kv import KvRepo

log = logging.getLogger(__name__)
DAILY_KEY = "jobs.daily_last_run"


@dataclass
class Jobs:
    sequences: Sequences
    sender: Sender
    customers: CustomersRepo
    kv: KvRepo
    clock: Clock
    zone: tzinfo
    daily_at: time
    handoff: Handoff | None = None
    reports: list[DrainReport] = field(default_factory=list)
    loyalty: Loyalty | None = None
    coupons: Coupons | None = None
    broadcasts: Broadcasts | None = None
    retention: Retention | None = None
    written_behind: Sequence[Callable[[], Awaitable[int]]] = ()  # more flushes of per-update notes
    liveness: Liveness | None = None  # None: this process is the only one, it always leads

    def leading(self) -> bool:
        """Whether this process runs the jobs that must run once across processes."""
        return self.liveness is None or self.liveness.leading()

    async def lead(self) -> bool:
        """`leading`, taking the leadership first if it is free (flows/liveness.py)."""
        return self.liveness is None or await self.liveness.lead()

    async def heartbeat(self) -> None:
        """Tell the other processes this one is alive; take the leadership when it is free."""
        if self.liveness is not None:
            await self.liveness.beat()

    async def advance(self) -> int:
        """Apply new triggers and exits, expire old points, then queue the steps that are due (leader only)."""
        if not await self.lead():
            return 0
        await self.sequences.process_events()
        if self.handoff is not None:  # a trigger may just have enrolled someone who is talking to a manager
            await self.handoff.hold()
        if self.loyalty is not None:
            await self.loyalty.expire_all()
        return await self.sequences.advance()

    async def leads(self) -> int:
        """Raise leads nobody took; keep sequences held exactly while a manager talks to a customer (leader
        only)."""
        return await self.handoff.tick() if self.handoff is not None and await self.lead() else 0

    async def broadcast(self) -> int:
        """Queue broadcasts whose time came, finish those with nothing left, refresh progress messages
        (leader only)."""
        if self.broadcasts is None or not await self.lead():
            return 0
        queued = await self.broadcasts.queue_due()
        await self.broadcasts.refresh()
        return queued

    async def drain(self) -> DrainReport:
        """Send what is due from the outbox (every process: each claims the rows it sends)."""
        return await self.sender.drain()

    async def daily_if_due(self) -> bool:
        """Once per local day, at or after `daily_at`: birthdays and other date triggers (leader only)."""
        if not await self.lead():
            return False
        local = self.clock.now().astimezone(self.zone)
        today = local.date().isoformat()
        if local.time() < self.daily_at or await self.kv.get(DAILY_KEY) == today:
            return False
        started = await self.sequences.daily(local.date())
        if self.loyalty is not None:
            await self.loyalty.birthdays(local.date(), self.coupons)
        if self.retention is not None:  # old finished rows, in small batches (handled updates among them)
            await self.retention.prune()
        await self.kv.set(DAILY_KEY, today)
        log.info("daily jobs for %s: %d sequence(s) started", today, started)
        return True

    async def flush(self) -> int:
        """Write what the per-update path noted in memory: handled updates, last-seen times, messages."""
        if self.handoff is not None:
            await self.handoff.messages.flush()
        for flush in self.written_behind:
            await flush()
        return await self.customers.flush_handled()

    async def tick(self) -> DrainReport:
        """Everything once, in order: heartbeat, daily triggers, sequences, leads, broadcasts to queue, sending,
        progress (what only the leader runs is skipped elsewhere)."""
        await self.heartbeat()
        await self.flush()
        await self.daily_if_due()
        await self.advance()
        await self.leads()
        leading = await self.lead()
        if leading:
            await self.sequences.process_events()  # exits caused by what was just queued, if any
        if self.broadcasts is not None and leading:
            await self.broadcasts.queue_due()
        report = await self.drain()
        if self.broadcasts is not None and leading:
            await self.broadcasts.refresh()  # progress messages show what this drain sent
        return report
