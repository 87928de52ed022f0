"""Where the CPU went during a measured window, per component, from /proc (Linux only).

For a group of processes: CPU seconds (utime + stime of every process, and of the children a process
waited for: the PostgreSQL postmaster reaps its backends) and run-queue seconds (`/proc/<pid>/task/*/
schedstat`, second field: time a thread was ready to run but waited for a core). A component that spends
as long waiting for a core as running on one is short of CPU, whatever else holds it up. For the whole
machine: the busy share of all cores (`/proc/stat`), so "everything else" (other sessions on the machine)
is the machine's busy time minus the components'.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Usage:
    cpu: float  # seconds on a core
    queued: float  # seconds ready to run, waiting for a core

    def __sub__(self, other: Usage) -> Usage:
        return Usage(self.cpu - other.cpu, self.queued - other.queued)

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.cpu + other.cpu, self.queued + other.queued)


NOTHING = Usage(0.0, 0.0)


def _stat_fields(pid: int) -> list[str]:
    # the command name (field 2) may hold spaces: split after its closing parenthesis
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _queued(pid: int) -> float:
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


def process_usage(pid: int, *, reaped: bool = False) -> Usage:
    """One process's usage so far (with its reaped children's CPU when `reaped`); nothing if it is gone."""
    try:
        fields = _stat_fields(pid)
        ticks = int(fields[11]) + int(fields[12])
        if reaped:
            ticks += int(fields[13]) + int(fields[14])
        return Usage(ticks / TICK, _queued(pid))
    except (OSError, IndexError, ValueError):
        return NOTHING


def children(pid: int) -> list[int]:
    """The live children of `pid` (all its threads' children)."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(child) for child in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


def tree_usage(root: int) -> Usage:
    """A server and its worker processes (PostgreSQL: the postmaster, its backends and helpers)."""
    total = process_usage(root, reaped=True)
    for child in children(root):
        total += process_usage(child)
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) core-seconds of the whole machine since boot (`/proc/stat`: all but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICK, sum(values) / TICK


class Accounting:
    """Usage of named components between `start()` and `stop()`; a component is a function returning its
    usage so far (it may sum several processes)."""

    def __init__(self, components: dict[str, Callable[[], Usage]]) -> None:
        self.components = components
        self._before: dict[str, Usage] = {}
        self._machine: tuple[float, float] = (0.0, 0.0)
        self.used: dict[str, Usage] = {}
        self.busy = 0.0  # core-seconds the whole machine was busy during the window
        self.capacity = 0.0  # core-seconds the machine had (cores × window)

    def start(self) -> None:
        self._before = {name: read() for name, read in self.components.items()}
        self._machine = machine_busy()

    def stop(self) -> None:
        busy, total = machine_busy()
        self.busy, self.capacity = busy - self._machine[0], total - self._machine[1]
        self.used = {name: read() - self._before[name] for name, read in self.components.items()}

    @property
    def others(self) -> float:
        """CPU seconds the rest of the machine used (other sessions, the kernel's own threads)."""
        return max(0.0, self.busy - sum(u.cpu for u in self.used.values()))


def summed(usages: Iterable[Usage]) -> Usage:
    total = NOTHING
    for usage in usages:
        total += usage
    return total
