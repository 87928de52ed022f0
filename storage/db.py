"""The database every repository uses, whichever engine holds it: the interface, the processed-update
mark, migrations' bookkeeping and the opener.

Two engines implement `Database`: the embedded SQLite file (`storage/sqlite.py`, the default) and a
PostgreSQL server shared by several processes (`storage/postgres.py`, when a ``postgresql://`` URL is
given). Repositories write SQL with ``?`` placeholders and read rows by index or by column name; where the
two dialects must differ they look at `Database.engine`.
"""

from __future__ import annotations

import contextlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from storage.signals import LocalSignals, Signals

Params = Sequence[Any] | dict[str, Any]
Engine = Literal["sqlite", "postgresql"]

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Where each engine's migrations live, inside the `storage` package.
_MIGRATION_FOLDERS: dict[Engine, tuple[str, ...]] = {
    "sqlite": ("migrations",),
    "postgresql": ("migrations", "postgresql"),
}


class Row(Protocol):
    """A result row as both engines give it: by position (``row[0]``), by column (``row["name"]``),
    ``dict(row)``, ``row.keys()``; iterating yields the values."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer nurture-bot than this one."""


class DatabaseUnreachable(RuntimeError):
    """The database server could not be reached, refused the login, or has no such database; the message
    says where (never the password) and what to check."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(engine: Engine = "sqlite") -> list[Migration]:
    """Read the numbered SQL files shipped for `engine` in version order."""
    folder = resources.files("storage")
    for part in _MIGRATION_FOLDERS[engine]:
        folder = folder.joinpath(part)
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    return found


def check_not_newer(current: int, migrations: list[Migration]) -> None:
    """Refuse a database whose schema is newer than the newest migration this code ships (both engines)."""
    latest = migrations[-1].version if migrations else 0
    if current > latest:
        raise SchemaTooNewError(
            f"the database schema is version {current}, but this nurture-bot knows only up to {latest}: "
            "upgrade nurture-bot (the database was left untouched)"
        )


class AlreadyHandled(Exception):
    """The update being handled was already applied (by an earlier delivery): nothing may change twice."""


@dataclass
class Handling:
    """The incoming update whose handling is running: its id and whether its processed mark is written."""

    update_id: int
    seen_at: str  # the mark's time, as stored
    marked: bool = False
    commits: int = 0  # write transactions committed so far (more than one: a crash may stop half-way)


# Set by the update middleware for the length of one handling; every write transaction in that handling
# reads it, so the processed mark commits with the first effect (see `Database.transaction`).
_handling: ContextVar[Handling | None] = ContextVar("handling", default=None)

_MARK = "INSERT INTO processed_updates (update_id, seen_at) VALUES (?, ?) ON CONFLICT DO NOTHING"


@contextmanager
def handling(update_id: int, seen_at: str) -> Iterator[Handling]:
    """Run a block as the handling of update `update_id` (what the middleware wraps a handler in)."""
    current = Handling(update_id, seen_at)
    token = _handling.set(current)
    try:
        yield current
    finally:
        _handling.reset(token)


def current_update_id() -> int | None:
    """The id of the update being handled, for idempotency keys; None outside a handling (jobs, HTTP)."""
    current = _handling.get()
    return current.update_id if current is not None else None


def current_handling() -> Handling | None:
    """The handling running in this context, for an engine's `transaction` (None outside one)."""
    return _handling.get()


async def write_mark(tx: Tx, current: Handling | None) -> None:
    """At the start of a write transaction inside a handling: write the update's processed mark with the
    transaction's first effect; `AlreadyHandled` if another delivery's mark is there already."""
    if (
        current is not None
        and not current.marked
        and await tx.execute(_MARK, (current.update_id, current.seen_at)) == 0
    ):
        raise AlreadyHandled(current.update_id)


def committed(current: Handling | None) -> None:
    """After a write transaction committed inside a handling: the mark is in, one more commit counted."""
    if current is not None:
        current.marked = True
        current.commits += 1


@dataclass
class WriteStats:
    """What this process's write transactions cost so far: how many, and the seconds they spent waiting
    for the writer's turn and holding it (read by `bench processes`; cheap enough to keep always)."""

    transactions: int = 0
    waited: float = 0.0
    held: float = 0.0

    def add(self, started: float, granted: float, ended: float) -> None:
        self.transactions += 1
        self.waited += granted - started
        self.held += ended - granted


class Tx(ABC):
    """Statements inside one open write transaction."""

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; return the number of rows it changed."""

    @abstractmethod
    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT and return the new row's id (its integer primary key)."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement for each parameter row."""

    @abstractmethod
    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query inside the transaction (sees its own writes), or None."""

    @abstractmethod
    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query inside the transaction."""

    async def notify(self, topic: str) -> None:
        """Signal `topic` (`storage.signals`) to every process if, and when, this transaction commits.
        One process (SQLite) has nobody to tell: nothing happens."""
        return None


class Database(ABC):
    """One database, SQLite or PostgreSQL: write transactions, autocommitted writes and reads."""

    engine: ClassVar[Engine]
    write_stats: WriteStats

    @classmethod
    async def open(cls, target: Path | str) -> Database:
        """Open the database `target` names and apply pending migrations: a ``postgresql://`` URL opens
        a PostgreSQL server, anything else is a SQLite file (created, with its folder, as needed)."""
        if is_postgres_url(target):
            from storage.postgres import PostgresDatabase

            return await PostgresDatabase.connect(str(target))
        from storage.sqlite import SqliteDatabase

        return await SqliteDatabase.connect(Path(target))

    @abstractmethod
    async def close(self) -> None:
        """Close every connection."""

    async def open_signals(self) -> Signals:
        """The hub that tells this process about changes other processes made (`storage.signals`); on
        SQLite, one process, a hub that never calls back."""
        return LocalSignals()

    @abstractmethod
    def transaction(self, scope: str | None = None) -> AbstractAsyncContextManager[Tx]:
        """A write transaction: committed when the block ends, rolled back if it raises.

        Inside the handling of an update, the first transaction also writes the update's processed mark,
        so an effect and "this update was handled" commit together: a re-delivery after a crash finds the
        mark and changes nothing. If another delivery of the same update got there first (the mark exists
        already), the block does not run: `AlreadyHandled` is raised and nothing is written. Write
        transactions are serialized (one at a time, across every process sharing the database).

        `scope` (from `customer_scope`) opts an audited transaction out of that order, on PostgreSQL only:
        scoped transactions run at the same time as each other unless they share a scope, and never at the
        same time as an unscoped one, which still sees the database as if writes were one at a time. Only
        a transaction that touches nothing but its scope's rows (or writes shared tables by row-locked
        inserts and upserts) may pass one: say why at the call. SQLite ignores it (one writer anyway).
        """

    @abstractmethod
    def serialized(self) -> AbstractAsyncContextManager[Tx]:
        """Writer statements without a surrounding transaction: each one commits alone (atomic by itself).

        For the per-update hot path, where two independent statements need not share a transaction. It
        writes no processed mark: only for idempotent writes (the customer's profile), never for an
        update's effect.
        """

    @abstractmethod
    async def wipe_log(self) -> bool:
        """After erasing personal data: make the engine drop its copies of the erased bytes where it can;
        True when it could promise they are gone from its files."""

    @abstractmethod
    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a read (the last committed state), or None."""

    @abstractmethod
    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a read (the last committed state)."""

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One write statement in its own (unscoped) transaction; returns the changed row count."""
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None."""
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]


def customer_scope(customer_id: int) -> str:
    """The scope of a transaction that writes only this customer's rows (see `Database.transaction`)."""
    return f"customer:{customer_id}"


def is_postgres_url(target: Path | str) -> bool:
    """Whether `target` names a PostgreSQL server rather than a SQLite file."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def postgres_url_problem(url: str) -> str | None:
    """What is wrong with a PostgreSQL URL, None if nothing. The words never quote the URL or a part of it:
    a URL missing its ``@host`` reads as ``user:password`` being a host and a port, and the libraries'
    own errors would then print the password as "the port"."""
    example = "postgresql://user:password@host:5432/db"
    if not is_postgres_url(url):
        return f"must start with postgresql:// (e.g. {example})"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        netloc = url.split("://", 1)[1].split("/", 1)[0]
        if ":" in netloc and "@" not in netloc:
            return f"has no @host after the user name and password (e.g. {example})"
        return (
            f"is not a valid URL: check the port (a number up to 65535) and any [IPv6] brackets (e.g. {example})"
        )
    if port == 0:
        return f"the port must be a number from 1 to 65535 (e.g. {example})"
    return None


def url_secrets(url: str) -> tuple[str, ...]:
    """The URL's password as written and as sent (percent-decoded), to be kept out of logs; () if none."""
    with contextlib.suppress(ValueError):
        password = urlsplit(url).password
        if password:
            return (password, unquote(password))
    return ()


class DatabaseSettings(Protocol):
    """What the opener reads of the settings (bot/settings.py's `Settings`)."""

    @property
    def database_path(self) -> Path: ...

    @property
    def database_url(self) -> SecretStr | None: ...


async def open_database(settings: DatabaseSettings) -> Database:
    """Open the database the settings name: ``DATABASE_URL`` when set, else the ``DATABASE_PATH`` file."""
    return await Database.open(database_target(settings))


def database_target(settings: DatabaseSettings) -> Path | str:
    """``DATABASE_URL`` when set, else ``DATABASE_PATH``."""
    url = settings.database_url
    return url.get_secret_value() if url is not None else settings.database_path
