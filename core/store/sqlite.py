"""The embedded store: one SQLite file in WAL mode, every commit synced (synchronous=FULL).

A commit returns only once SQLite has written and synced its WAL frame, so an acknowledged write survives
`kill -9` of the server and a power cut alike. Each write runs in `BEGIN IMMEDIATE`, which takes the
write lock up front, so concurrent processes on one file serialize instead of failing mid-transaction.
"""

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.store.migrations import migrate
from core.store.sql import SqlStore


def sqlite_path(url: str) -> Path:
    """`sqlite:///relative.db` -> relative.db, `sqlite:////abs.db` -> /abs.db."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ValueError(f"not a SQLite store URL: {url!r} (expected sqlite:///PATH)")
    return Path(url[len(prefix) :])


class _Transaction:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._connection.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._connection.executemany(sql, rows)


class SqliteStore(SqlStore):
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._transaction = _Transaction(connection)

    @classmethod
    def open(cls, url: str) -> "SqliteStore":
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        migrate(f"sqlite:///{path}", "sqlite")
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA busy_timeout = 10000")
        return cls(connection)

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            yield self._transaction
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    def close(self) -> None:
        self._connection.close()
