"""Signals between processes over PostgreSQL's LISTEN/NOTIFY (see `storage.signals` for what and why).

One dedicated connection per process listens on `CHANNEL` (it is not taken from the pool: a pooled
connection goes back to other work, and LISTEN belongs to a session). What it hears is queued and a single
worker runs the subscribed callbacks in order, so a slow callback never blocks the connection's reader and
two callbacks of one topic never overlap. The worker starts with `start()`, after the app subscribed
everything: signals heard while the app was being built wait in the queue instead of being dropped.

If the connection is lost (a server restart, a network cut, an idle timeout), it is opened again with a
growing pause, and every topic is then treated as changed. A connection can also go silent without
closing (a network path that drops packets): a heartbeat pings the channel every `HEARTBEAT` seconds and
cuts a connection that did not hear its own ping within `HEARTBEAT_WAIT`, which then counts as lost. `settled()` sends a ping on the channel and
waits until the worker reaches it: the server delivers notifications in commit order, so by then every
change committed before the call has been heard and handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import asyncpg

from storage.db import Database
from storage.signals import CHANNEL, Signals

log = logging.getLogger(__name__)

PING = "ping:"  # a payload that is a barrier (`settled`), not a topic
BEAT = "beat:"  # a heartbeat: only tells that the connection still hears the channel
RESET = "*"  # queued after a reconnect: every topic changed
RETRY_FIRST, RETRY_MAX = 0.5, 30.0  # seconds between attempts to reconnect, doubling
HEARTBEAT, HEARTBEAT_WAIT = 60.0, 15.0  # seconds between pings of the listening connection; patience
_NOTIFY = "SELECT pg_notify(?, ?)"


class PgSignals(Signals):
    """Signals through one PostgreSQL database, heard on a connection of its own."""

    def __init__(self, url: str, db: Database) -> None:
        super().__init__()
        self._url = url  # never logged: it holds the password
        self._db = db
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._pings: dict[str, asyncio.Future[Any]] = {}
        self._conn: asyncpg.Connection | None = None
        self._connected = asyncio.Event()
        self._lost = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Start listening (an error here, like the pool's, stops the start-up)."""
        await self._listen()
        self._supervisor = asyncio.create_task(self._supervise(), name="signals-listener")
        self._heartbeat = asyncio.create_task(self._beat(), name="signals-heartbeat")

    async def publish(self, topic: str) -> None:
        await self._db.fetch_one(_NOTIFY, (CHANNEL, topic))

    async def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name="signals-worker")

    async def settled(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._connected.wait()
            lost: asyncio.Future[Any] = asyncio.ensure_future(self._lost.wait())
            token = f"{PING}{uuid.uuid4().hex}"
            heard: asyncio.Future[Any] = loop.create_future()
            self._pings[token] = heard
            try:
                await self.publish(token)
                await asyncio.wait({heard, lost}, return_when=asyncio.FIRST_COMPLETED)
                if heard.done():
                    return
                # The connection went while the ping was under way: ask again once it is back.
            finally:
                self._pings.pop(token, None)
                lost.cancel()

    async def close(self) -> None:
        for task in (self._heartbeat, self._supervisor, self._worker):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._heartbeat = self._supervisor = self._worker = None
        if self._conn is not None:
            self._conn.remove_termination_listener(self._on_lost)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), 2.0)
            self._conn = None

    # --- the connection ------------------------------------------------------------------------

    async def _listen(self, *, again: bool = False) -> None:
        conn = await asyncpg.connect(self._url, server_settings={"application_name": "nurture-bot signals"})
        try:
            await conn.add_listener(CHANNEL, self._heard)
        except BaseException:
            conn.terminate()
            raise
        if self._conn is not None:  # the lost one: closed for good, without telling `_on_lost` again
            self._conn.remove_termination_listener(self._on_lost)
            self._conn.terminate()
        self._conn = conn
        self._lost.clear()
        conn.add_termination_listener(self._on_lost)
        if again:  # before anyone can ping (`settled`): what was signalled while nobody listened is unknown
            self._queue.put_nowait(RESET)
        self._connected.set()

    def _on_lost(self, _: Any) -> None:
        self._connected.clear()
        self._lost.set()

    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload.startswith(BEAT):  # answered here, not by the worker: a slow callback is no silence
            beat = self._pings.get(payload)
            if beat is not None and not beat.done():
                beat.set_result(None)
            return
        self._queue.put_nowait(payload)

    async def _supervise(self) -> None:
        """Whenever the listening connection is lost: open a new one, then treat every topic as changed."""
        while True:
            await self._lost.wait()
            log.warning("signals: the listening connection to the database was lost; reconnecting")
            delay = RETRY_FIRST
            while True:
                try:
                    await self._listen(again=True)
                    break
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                    log.warning(
                        "signals: could not reconnect (%s); trying again in %.0fs", type(exc).__name__, delay
                    )
                    await asyncio.sleep(delay)  # a pause for the server, not business time: no clock needed
                    delay = min(delay * 2, RETRY_MAX)
            log.info("signals: listening again; everything kept in memory is read again")

    async def _beat(self) -> None:
        """Cut a listening connection that no longer hears the channel (the supervisor reconnects)."""
        while True:
            await asyncio.sleep(HEARTBEAT)  # the network's time, not business time: no clock needed
            if self._conn is None or not self._connected.is_set():
                continue
            conn: asyncpg.Connection = self._conn
            token = f"{BEAT}{uuid.uuid4().hex}"
            heard: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._pings[token] = heard
            try:
                await self.publish(token)
                await asyncio.wait_for(heard, HEARTBEAT_WAIT)
            except TimeoutError:
                if conn is self._conn:
                    log.warning(
                        "signals: the listening connection heard nothing for %.0fs; cutting it", HEARTBEAT_WAIT
                    )
                    self._on_lost(conn)
                    conn.terminate()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("signals: heartbeat could not be sent (%s)", type(exc).__name__)
            finally:
                self._pings.pop(token, None)

    # --- the worker ----------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            payload = await self._queue.get()
            if payload.startswith(PING):
                heard = self._pings.get(payload)
                if heard is not None and not heard.done():
                    heard.set_result(None)
            elif payload == RESET:
                await self._run_all()
            else:
                await self._run(payload)
