"""Which bot processes are alive and which one leads, through the database they share.

Every running App is an *instance* with a random id, new at each start, and a heartbeat renewed every
`BEAT_SECONDS` (the scheduler's heartbeat job; `Jobs.tick` in tests). An instance not heard from for
`lease` is taken for dead: what it had claimed in the outbox is recovered by a live one (flows/outbox.py).

Named leases are held by one instance at a time and lapse unless renewed with the heartbeat:
- ``leader``: the periodic jobs that must run once per tick across processes (bot/scheduler.py says why
  a lease rather than advisory locks);
- ``polling``: long polling is single-process, a second poller is refused (`AnotherPoller`).

Times are each process's own clock (the injected `Clock`): processes on different machines need their
clocks in step (NTP) to well within the lease, which is 30 s. A process that stops cleanly forgets itself
and frees its leases at once; one that dies is noticed when its lease lapses.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flows.clock import Clock
from storage.instances import InstancesRepo, LeasesRepo

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=30)
BEAT_SECONDS = 5
LEADER = "leader"
POLLING = "polling"
FORGET_AFTER = timedelta(days=1)  # rows of instances silent this long are deleted


class AnotherPoller(RuntimeError):
    """Long polling was asked for while another process polls the same bot's database."""


@dataclass
class Liveness:
    """This process as an instance: its heartbeat and the leases it holds."""

    instances: InstancesRepo
    leases: LeasesRepo
    clock: Clock
    lease: timedelta = LEASE
    instance_id: str = field(default_factory=lambda: secrets.token_hex(6))
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    # Called with a lease's name when renewing it found another holder (we were silent too long).
    on_lost: dict[str, Callable[[], None]] = field(default_factory=dict)
    _held: dict[str, datetime] = field(default_factory=dict)  # lease name → until (our clock)

    async def start(self) -> None:
        """Record this instance and try for the leadership."""
        log.info("this process is instance %s (%s, process %d)", self.instance_id, self.host, self.pid)
        await self.beat()

    async def beat(self) -> None:
        """Renew the heartbeat and the leases held; take the leadership if it is free."""
        now = self.clock.now()
        await self.instances.beat(self.instance_id, self.host, self.pid, now)
        for name in [name for name in self._held if name != LEADER]:
            if not await self._take(name, now):
                log.error("lease %r was taken by another process while this one was silent", name)
                lost = self.on_lost.get(name)
                if lost is not None:
                    lost()
        was_leading = LEADER in self._held
        if await self._take(LEADER, now) and not was_leading:
            log.info("instance %s leads the periodic jobs", self.instance_id)
            await self.instances.forget_older(now - FORGET_AFTER)

    def leading(self) -> bool:
        """Whether this instance holds the leader lease now."""
        until = self._held.get(LEADER)
        return until is not None and self.clock.now() < until

    async def lead(self) -> bool:
        """Whether this instance leads, taking the leader lease first when it lapsed or is free (a job run
        after a pause longer than the lease: whoever asks first while nobody holds it leads)."""
        return self.leading() or await self._take(LEADER, self.clock.now())

    def alive_since(self) -> datetime:
        """Instances heard from at or after this moment are alive; the others are taken for dead."""
        return self.clock.now() - self.lease

    async def hold(self, name: str) -> bool:
        """Take lease `name` (renewed by every heartbeat from now on); False while another holds it."""
        return await self._take(name, self.clock.now())

    async def holder_of(self, name: str) -> str:
        """Who holds lease `name`, for a message: instance, host and process id, and until when."""
        lease = await self.leases.get(name)
        if lease is None:
            return "nobody"
        instance = await self.instances.get(lease.holder)
        where = f" on {instance.host}, process {instance.pid}" if instance else ""
        return f"instance {lease.holder}{where}, until {lease.expires_at:%Y-%m-%d %H:%M:%S} UTC"

    async def give_up(self, name: str) -> None:
        """Free lease `name` if this instance holds it."""
        self._held.pop(name, None)
        await self.leases.give_up(name, self.instance_id)

    async def stop(self) -> None:
        """A clean stop: this instance and its leases are gone at once (nothing waits for them to lapse)."""
        self._held.clear()
        await self.instances.forget(self.instance_id)

    async def _take(self, name: str, now: datetime) -> bool:
        until = now + self.lease
        if await self.leases.take(name, self.instance_id, now, until):
            self._held[name] = until
            return True
        self._held.pop(name, None)
        return False
