"""The SQLite file being moved, opened read-only and read in one snapshot.

Everything is read inside one read transaction: the rows copied, the counts and the ledger sums compared at
the end all come from the same moment, even if something still wrote to the file (it should not: the safe
order is to stop the bot first). Rows are read in batches, so memory stays flat whatever the file's size.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.db import load_migrations
from storage.to_postgres.refusals import MoveRefused

# The migration runner's own table (the target keeps its own) and SQLite's internal ones.
_NOT_COPIED = {"schema_migrations", "sqlite_sequence", "sqlite_stat1", "sqlite_stat4"}
UPGRADE_HINT = (
    "bring it up to date first: start the bot on it once with this version (`nurture-bot run` with "
    "DATABASE_PATH={path}; it upgrades the file as it starts), stop it, then run this again"
)


@dataclass(frozen=True)
class SourceTable:
    name: str
    columns: tuple[str, ...]  # the stored columns, in order; generated ones left out


class Source:
    """One SQLite database file, open read-only inside one read transaction."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn

    @classmethod
    def open(cls, path: Path) -> Source:
        """Open `path` read-only and check that it is a nurture-bot database at this code's schema version;
        `MoveRefused` otherwise."""
        if not path.exists():
            raise MoveRefused(f"{path}: no such file (give the bot's SQLite file, e.g. data/bot.db)")
        if not path.is_file():
            raise MoveRefused(f"{path}: is not a file")
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        except sqlite3.Error as exc:
            raise MoveRefused(f"{path}: cannot open it read-only ({exc})") from None
        source = cls(path, conn)
        try:
            conn.execute("BEGIN")  # one snapshot for everything read from here on
            source._check_version()
        except BaseException:
            conn.close()
            raise
        return source

    def _check_version(self) -> None:
        try:
            names = {row[0] for row in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise MoveRefused(f"{self.path}: not a SQLite database ({exc})") from None
        if not {"schema_migrations", "customers", "points_ledger"} <= names:
            raise MoveRefused(f"{self.path}: not a nurture-bot database (its tables are not the bot's)")
        self.version = int(self._value("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))
        latest = load_migrations("sqlite")[-1].version
        if self.version < latest:
            raise MoveRefused(
                f"{self.path}: its schema is version {self.version}, older than this nurture-bot's {latest}; "
                + UPGRADE_HINT.format(path=self.path)
            )
        if self.version > latest:
            raise MoveRefused(
                f"{self.path}: its schema is version {self.version}, but this nurture-bot knows only up to "
                f"{latest}: upgrade nurture-bot, then run this again"
            )

    def close(self) -> None:
        """End the snapshot and close the file (nothing was written)."""
        self._conn.close()

    def _value(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        row = self._conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def tables(self) -> dict[str, SourceTable]:
        """The bot's ordinary tables by name: not SQLite's own, not virtual tables (the customers' search
        index, which PostgreSQL keeps as a GIN index instead) nor their shadow tables."""
        found: dict[str, SourceTable] = {}
        for name, kind in self._conn.execute("SELECT name, type FROM pragma_table_list WHERE schema = 'main'"):
            if kind != "table" or name in _NOT_COPIED or name.startswith("sqlite_"):
                continue
            # table_xinfo's hidden: 0 stored, 1 a virtual table's own, 2 and 3 generated (PostgreSQL computes them).
            columns = tuple(row[1] for row in self._conn.execute(f'PRAGMA table_xinfo("{name}")') if row[6] == 0)
            found[name] = SourceTable(name, columns)
        return found

    def rows(self, table: SourceTable, columns: tuple[str, ...], batch: int) -> Iterator[list[tuple[Any, ...]]]:
        """The table's rows (in rowid order, as a table scan gives them), `batch` at a time."""
        listed = ", ".join(f'"{column}"' for column in columns)
        cursor = self._conn.execute(f'SELECT {listed} FROM "{table.name}"')
        try:
            while chunk := cursor.fetchmany(batch):
                yield chunk
        finally:
            cursor.close()

    def count(self, table: str) -> int:
        """How many rows `table` has."""
        return int(self._value(f'SELECT COUNT(*) FROM "{table}"'))

    def last_id(self, table: str) -> int:
        """The highest id AUTOINCREMENT has handed out for `table` (rows since deleted included), or 0: the
        target's sequence must not hand those ids out again either."""
        if self._value("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'") is None:
            return 0
        return int(self._value("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)) or 0)

    def figures(self, sql: str, batch: int) -> Iterator[tuple[Any, ...]]:
        """The rows of a per-customer query (ordered by customer id), read a batch at a time."""
        cursor = self._conn.execute(sql)
        try:
            while chunk := cursor.fetchmany(batch):
                yield from chunk
        finally:
            cursor.close()
