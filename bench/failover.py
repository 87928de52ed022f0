"""Three webhook processes on one PostgreSQL lose one to SIGKILL and one to SIGTERM in the middle of a broadcast.

The emulator (Telegram's limits on: 30 messages/s for the bot, about 1/s per chat) is the witness. N
recipients are imported as `nurture-bot import customers` does; a broadcast to everyone is confirmed (as the
console's form does); C customers chat meanwhile (a FAQ question or chatter every few seconds, closed loop).
When a third of the broadcast went out, process 0 is SIGKILLed and started again; at two thirds process 1 is
SIGTERMed and left stopped. At the end, from the emulator's record alone:

- every recipient got the broadcast exactly once, except the rows whose fate is 'unknown' (killed between
  the claim and the answer: never resent), which are counted and must not exceed the rows being sent when
  the kill came;
- every customer message was answered once (a second answer can only come from an update whose POST was
  out at the kill: Telegram sends it again);
- the most messages in any one second, and the 429s — as they left the bot processes (each logs its
  departures: ``LOG_SENDS``) and as they reached the emulator, with how late the emulator's event loop ran
  (a request it reads late is stamped late, and several read late land in one second together).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import re
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.cluster import Cluster
from bench.common import bench_settings, load, table
from bot.app import App, build_imports, create_app
from bot.sandbox.emulator import ApiCall, Emulator, SentMessage
from flows.imports import open_path

FIRST_RECIPIENT = 200_000
OWNER = 900
SALE = "Autumn sale: 20% off everything this week"
CHATTER = ("do you have parking?", "thanks!")
SENDING = frozenset({"sendMessage", "sendPhoto", "sendVideo", "sendDocument", "copyMessage"})


@dataclass
class Report:
    recipients: int
    got: Counter[int] = field(default_factory=Counter)  # copies received -> recipients
    fates: dict[str, int] = field(default_factory=dict)  # outbox rows by state at the end
    sending_at_kill: int = 0  # outbox rows being sent when the SIGKILL came (the bound for 'unknown')
    posts_at_kill: int = 0  # webhook POSTs out when the SIGKILL came (the bound for answers twice)
    answers: Counter[str] = field(default_factory=Counter)  # 'once' / 'twice' / 'never' -> customer messages
    pace: Pace = field(default_factory=lambda: Pace(0, 0, 0.0, 0))  # as messages reached the emulator
    departed: Pace = field(default_factory=lambda: Pace(0, 0, 0.0, 0))  # as they left the bot processes
    departures: int = 0
    lag: LoopLag = field(default_factory=lambda: LoopLag())
    seconds: float = 0.0
    term_exit: int | None = None

    @property
    def unknown(self) -> int:
        return self.fates.get("unknown", 0)

    def problems(self) -> list[str]:
        """What breaks the promises; empty when everything held."""
        found = []
        twice = sum(n for copies, n in self.got.items() if copies > 1)
        if twice:
            found.append(f"{twice} recipients got the broadcast more than once")
        if self.got[0] > self.unknown + self.fates.get("failed", 0):
            found.append(f"{self.got[0]} recipients got nothing, only {self.unknown} fates are unknown")
        if self.unknown > self.sending_at_kill:
            found.append(f"{self.unknown} unknown fates, but only {self.sending_at_kill} rows were being sent")
        if self.answers["never"]:
            found.append(f"{self.answers['never']} customer messages were never answered")
        if self.answers["twice"] > self.posts_at_kill:
            twice = self.answers["twice"]
            found.append(
                f"{twice} messages answered twice, more than the {self.posts_at_kill} POSTs out at the kill"
            )
        if self.pace.too_many:
            found.append(f"the emulator answered {self.pace.too_many} sends with 429")
        if self.pace.sustained > 30:
            found.append(f"{self.pace.sustained:.1f} messages/s over 10 s (Telegram allows 30)")
        if self.lag.calm_second > 30:
            found.append(f"{self.lag.calm_second} messages reached the emulator within one second of a calm loop")
        if self.departed.sliding_second > 30:
            found.append(f"{self.departed.sliding_second} messages left the bots within one second (budget: 26)")
        return found

    def rows(self) -> list[list[object]]:
        once = self.got[1]
        return [
            ["recipients", self.recipients],
            ["got it exactly once", once],
            ["got it twice or more", sum(n for c, n in self.got.items() if c > 1)],
            ["got nothing", self.got[0]],
            ["fates 'unknown' (never resent)", self.unknown],
            ["rows being sent at the SIGKILL", self.sending_at_kill],
            ["other fates", ", ".join(f"{k} {v}" for k, v in sorted(self.fates.items()) if k != "unknown")],
            ["customer messages", sum(self.answers.values())],
            ["answered exactly once", self.answers["once"]],
            ["answered twice", self.answers["twice"]],
            ["never answered", self.answers["never"]],
            ["webhook POSTs out at the SIGKILL", self.posts_at_kill],
            ["messages sent (departures logged)", self.departures],
            ["left the bots: most in a clock second", self.departed.calendar_second],
            ["left the bots: most in any 1 s window", self.departed.sliding_second],
            ["left the bots: most/s over any 10 s", round(self.departed.sustained, 1)],
            ["reached the emulator: most in a clock second", self.pace.calendar_second],
            ["reached the emulator: most in any 1 s window", self.pace.sliding_second],
            ["reached the emulator: most/s over any 10 s", round(self.pace.sustained, 1)],
            ["429s", self.pace.too_many],
            ["emulator's loop late: p99 / max ms", f"{self.lag.p99_ms:.0f} / {self.lag.max_ms:.0f}"],
            [f"emulator's loop late > {STALL * 1000:.0f} ms", f"{self.lag.stalls} times"],
            ["reached the emulator: most in a 1 s window with no such stall", self.lag.calm_second],
            ["SIGTERMed process's exit code", self.term_exit],
            ["seconds", round(self.seconds, 1)],
        ]


async def import_customers(app: App, ids: list[int], folder: Path) -> None:
    """The recipients as a CSV through the importer `nurture-bot import customers` runs (in this process:
    one Python start fewer)."""
    path = folder / "customers.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["telegram_id", "first_name"])
        writer.writerows([tg_id, f"C{tg_id}"] for tg_id in ids)
    imports = build_imports(app.settings, app.content, app.clock, app.db)
    report = await imports.customers_csv(open_path(str(path)))
    if not report.ok:
        raise RuntimeError(f"import failed: {report}")


async def mark_started(app: App, ids: list[int]) -> None:
    """Every recipient pressed /start once (an imported customer is not reachable before): recorded through the
    customers repository, 50 at a time, instead of 20,000 /start updates at the shared 25 answers/s."""
    repo = app.services["customers"].repo
    now = app.clock.now()

    async def start(tg_id: int) -> None:
        found = await repo.by_tg_id(tg_id)
        assert found is not None, tg_id
        await repo.record_start(found.id, "bench", True, now)

    for first in range(0, len(ids), 50):
        await asyncio.gather(*(start(tg_id) for tg_id in ids[first : first + 50]))


async def confirm_broadcast(app: App) -> int:
    """A broadcast to everyone, stored and queued as the console's form does; its id."""
    broadcasts = app.services["broadcasts"]
    fields = {"segment": "everyone", "message": {"text": SALE, "photo": None, "video": None}, "buttons": []}
    broadcast, _ = await broadcasts.create(OWNER, broadcasts.segments.parse("everyone"), fields, "failover-bench")
    return int(broadcast.id)


class Chatters:
    """Customers chatting in a closed loop: the next message when the POST of the last one returned."""

    def __init__(self, emu: Emulator, ids: list[int], pause: float) -> None:
        self.emu, self.ids, self.pause = emu, ids, pause
        self.sent: dict[int, list[int]] = {tg_id: [] for tg_id in ids}  # user -> their messages' ids
        self._waiting: dict[int, asyncio.Future[None]] = {}
        emu.on_delivered(self._delivered)
        self.stop = asyncio.Event()

    def _delivered(self, update_id: int) -> None:
        future = self._waiting.pop(update_id, None)
        if future is not None and not future.done():
            future.set_result(None)

    async def chat(self, tg_id: int, offset: float) -> None:
        await asyncio.sleep(self.pause * offset)  # spread the customers over the pause
        for text in itertools.cycle(CHATTER):
            if self.stop.is_set():
                return
            future = asyncio.get_running_loop().create_future()
            update = self.emu.send_message(tg_id, text)
            self.sent[tg_id].append(update["message"]["message_id"])
            self._waiting[update["update_id"]] = future
            await asyncio.wait_for(future, 120)
            await asyncio.sleep(self.pause)

    def answers(self) -> Counter[str]:
        """Each customer message by how often its answer came: 'once', 'twice' (handled twice) or 'never'.

        The bot's messages up to the customer's next one follow it, but a proactive message (the welcome
        sequence's) may land there too: a text's answer is the reply that most often follows that text."""
        followed: list[tuple[str, list[str]]] = []
        for tg_id in self.ids:
            followed.append(("", []))  # whatever the bot sent before this customer's first message
            for _, message in sorted(self.emu.chat(tg_id).messages.items()):
                if not isinstance(message, SentMessage):
                    followed.append((str(message.get("text")), []))
                elif SALE not in (message.text or ""):
                    followed[-1][1].append(message.text or "")
        usual: dict[str, Counter[str]] = {}
        for text, replies in followed:
            usual.setdefault(text, Counter()).update(set(replies))
        outcomes: Counter[str] = Counter()
        for text, replies in followed:
            if text:
                answer = usual[text].most_common(1)[0][0] if usual[text] else None
                copies = replies.count(answer) if answer is not None else 0
                outcomes[("never", "once")[copies] if copies < 2 else "twice"] += 1
        return outcomes


@dataclass
class Pace:
    """How fast messages reached the emulator: the busiest second three ways, and its 429s."""

    calendar_second: int  # the most in one whole second of the clock
    sliding_second: int  # the most in any 1 s window (the emulator's bucket allows up to 60: 30 + its burst)
    sustained: float  # the most in any 10 s window, per second
    too_many: int


def pace(emu: Emulator) -> Pace:
    return pace_of(sorted(c.at for c in emu.calls if c.method in SENDING and c.status == 200), emu.calls)


def pace_of(times: list[float], calls: Sequence[ApiCall] = ()) -> Pace:
    """The busiest second three ways of these sorted moments, and the 429s among ``calls``."""
    per_second = Counter(int(moment) for moment in times)
    return Pace(
        max(per_second.values(), default=0),
        _busiest(times, 1.0),
        _busiest(times, 10.0) / 10,
        sum(c.status == 429 for c in calls),
    )


_DEPARTS = re.compile(rb"departs \w+ at (\d+\.\d+)")


def departures(cluster: Cluster) -> list[float]:
    """Every message's departure, from all processes' logs (a restarted process appends to its log)."""
    times = []
    for process in cluster.processes:
        if process.log_path.exists():
            times += [float(m.group(1)) for m in _DEPARTS.finditer(process.log_path.read_bytes())]
    return sorted(times)


STALL = 0.1  # seconds the emulator's loop must have been late for its arrival stamps to be suspect


@dataclass
class LoopLag:
    """How late this process's event loop woke up, against asked-for 20 ms sleeps. The emulator runs here: a
    request that came while the loop was busy is read, and stamped, when the loop is free again, together
    with every other one that came meanwhile."""

    p99_ms: float = 0.0
    max_ms: float = 0.0
    stalls: int = 0  # times the loop was late by more than STALL
    calm_second: int = 0  # the most arrivals in any 1 s window that saw no stall end


async def watch_lag(samples: list[tuple[float, float]], stop: asyncio.Event) -> None:
    """Append (when the loop woke, how late in seconds) every 20 ms until ``stop``."""
    while not stop.is_set():
        asked = time.monotonic()
        await asyncio.sleep(0.02)
        woke = time.monotonic()
        samples.append((woke, woke - asked - 0.02))


def lag_of(samples: list[tuple[float, float]], arrivals: list[float]) -> LoopLag:
    lates = [late * 1000 for _, late in samples]
    if len(lates) < 2:
        return LoopLag()
    stall_ends = sorted(woke for woke, late in samples if late > STALL)
    return LoopLag(
        statistics.quantiles(lates, n=100)[98], max(lates), len(stall_ends), _busiest_calm(arrivals, stall_ends)
    )


def _busiest_calm(times: list[float], stall_ends: list[float]) -> int:
    """The most of ``times`` in any 1 s window [t, t + 1) with no stall ending inside it (nor just after:
    the loop reads what waited a little after it wakes)."""
    most, first, stall = 0, 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= 1.0:
            first += 1
        while stall < len(stall_ends) and stall_ends[stall] + STALL < times[first]:
            stall += 1
        if stall < len(stall_ends) and stall_ends[stall] <= moment:
            continue  # a stall ended inside this window: its stamps bunch up
        most = max(most, last - first + 1)
    return most


def _busiest(times: list[float], window: float) -> int:
    most, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


def received(emu: Emulator, tg_id: int) -> int:
    return sum(SALE in (m.text or "") for m in emu.messages(tg_id))


class SentCounter:
    """Broadcast copies the emulator accepted so far, counted incrementally (the call log grows large)."""

    def __init__(self, emu: Emulator) -> None:
        self.emu, self.seen, self.sent = emu, 0, 0
        self.open: list[ApiCall] = []

    def count(self) -> int:
        calls = self.emu.calls
        self.open.extend(c for c in calls[self.seen :] if c.method == "sendMessage" and SALE in str(c.params))
        self.seen = len(calls)
        self.sent += sum(c.status == 200 for c in self.open)
        self.open = [c for c in self.open if c.status is None]
        return self.sent

    async def wait(self, target: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the broadcast did not reach {target} copies in {timeout:.0f}s")
            await asyncio.sleep(0.1)


async def finished(app: App, timeout: float, recovered: bool) -> dict[str, int]:
    """Wait until no outbox row is pending (and, if ``recovered``, none is left 'sending' either: the killed
    process's claims become 'unknown' once its lease lapsed, 30 s after its last heartbeat); rows by state.
    Rows still 'sending' are counted with the unknown fates."""
    deadline = time.monotonic() + timeout
    while True:
        counts: dict[str, int] = await app.services["outbox"].counts_by_state()
        if not counts.get("pending") and not (recovered and counts.get("sending")):
            counts["unknown"] = counts.get("unknown", 0) + counts.pop("sending", 0)
            return counts
        if time.monotonic() > deadline:
            raise TimeoutError(f"the broadcast did not finish in {timeout:.0f}s: {counts}")
        await asyncio.sleep(0.25)


async def run(
    database_url: str,
    recipients: int,
    chatters: int,
    pause: float,
    restart_after: float = 1.0,
    budget: float | None = None,
    recovered: bool = True,
) -> Report:
    """The whole scenario on a fresh, migrated PostgreSQL database; the report from the emulator's record.
    ``budget``: seconds each phase may take (default: two messages a recipient at 20/s plus two minutes);
    ``recovered``: wait until the killed process's claims were recovered (its lease lapsed)."""
    report = Report(recipients)
    ids = [FIRST_RECIPIENT + n for n in range(recipients)]
    with tempfile.TemporaryDirectory(prefix="nurture-failover-") as tmp:
        async with Emulator() as emu:
            for tg_id in ids:
                emu.user(tg_id).started = True  # they did press /start (mark_started)
            settings = bench_settings(Path(tmp) / "unused.db", emu.api_base, database_url=database_url)
            app = await create_app(settings)  # the bench's own view of the database: no bot running in it
            try:
                await import_customers(app, ids, Path(tmp))
                await mark_started(app, ids)
                # the welcome sequence's first message goes to each recipient too (they just pressed /start)
                phase = budget if budget is not None else 2 * recipients / 20 + 120
                await scenario(emu, app, ids, chatters, (pause, restart_after), phase, recovered, report)
            finally:
                await app.close()
    return report


async def scenario(
    emu: Emulator,
    app: App,
    ids: list[int],
    chatters: int,
    pauses: tuple[float, float],
    budget: float,
    recovered: bool,
    report: Report,
) -> None:
    """Start the cluster, broadcast, chat, kill and restart one, stop another; fill in ``report``."""
    pause, restart_after = pauses
    assert app.settings.database_url is not None
    database = {"DATABASE_URL": app.settings.database_url.get_secret_value()}
    lags: list[tuple[float, float]] = []
    done = asyncio.Event()
    watcher = asyncio.create_task(watch_lag(lags, done))
    extra = {"LOG_SENDS": "true"}
    async with Cluster(emu, 3, database, extra_env=extra, ready_seconds=min(budget, 300)) as cluster:
        started = time.monotonic()
        people = Chatters(emu, ids[:chatters], pause)
        talking = [
            asyncio.create_task(people.chat(tg_id, n / max(chatters, 1))) for n, tg_id in enumerate(people.ids)
        ]
        try:
            await confirm_broadcast(app)
            copies = SentCounter(emu)
            await copies.wait(len(ids) // 3, budget)
            cluster.kill(0)
            report.posts_at_kill = emu.delivery.in_flight if emu.delivery else 0
            await cluster.processes[0].wait()
            report.sending_at_kill = (await app.services["outbox"].counts_by_state()).get("sending", 0)
            await asyncio.sleep(restart_after)
            await cluster.start(0)
            await copies.wait(2 * len(ids) // 3, budget)
            report.term_exit = await cluster.terminate(1)
            report.fates = await finished(app, budget, recovered)
        finally:
            people.stop.set()
            for task in talking:
                task.cancel()
            await asyncio.gather(*talking, return_exceptions=True)
        await emu.wait_until(lambda: not emu.pending_updates(), timeout=budget)
        report.seconds = time.monotonic() - started
        done.set()
        await watcher
        left = departures(cluster)
        arrived = sorted(c.at for c in emu.calls if c.method in SENDING and c.status == 200)
        report.departures, report.departed, report.lag = len(left), pace_of(left), lag_of(lags, arrived)
    report.got = Counter(received(emu, tg_id) for tg_id in ids)
    report.answers = people.answers()
    report.pace = pace(emu)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench failover", description=__doc__)
    parser.add_argument("--recipients", type=int, default=20_000, help="the broadcast's audience")
    parser.add_argument("--chatters", type=int, default=1000, help="customers chatting meanwhile")
    parser.add_argument(
        "--pause",
        type=float,
        default=300.0,
        help="seconds between a customer's messages (1,000 customers every 300 s: 3.3 answers/s of the 25/s budget)",
    )
    args = parser.parse_args(argv)
    from tests.pg_server import server

    print(f"failover: {args.recipients} recipients, {args.chatters} customers chatting · {load()}", flush=True)
    report = asyncio.run(run(server().database(), args.recipients, args.chatters, args.pause))
    print(table(["", "value"], report.rows()))
    problems = report.problems()
    print("\n".join(problems) if problems else "every promise held")
    print(load())
