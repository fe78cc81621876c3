"""The embedded store: one SQLite file in WAL mode, every commit synced (synchronous=FULL).

A commit returns only once SQLite has written and synced its WAL frame, so an acknowledged write survives
`kill -9` of the server and a power cut alike. Each write runs in `BEGIN IMMEDIATE`, which takes the
write lock up front, so concurrent processes on one file (workers) serialize instead of failing
mid-transaction. Each write also appends to the `changes` table, which the watcher of every other
process follows: it checks `PRAGMA data_version` (which moves when another connection commits) every
`poll_interval` seconds and reads the new rows only then.
"""

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.agents import PendingWrite
from core.errors import Code, ServiceError
from core.store import Change, ChangeListener
from core.store.migrations import migrate
from core.store.sql import SqlStore

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
"""How long a write waits for another process's write lock, when its request set no deadline."""
FEED_RETENTION = 3600
"""Seconds a change stays in the feed; a process that falls further behind reloads everything."""


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


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return connection


class SqliteStore(SqlStore):
    poll_interval = 0.05
    """Seconds between two checks for other processes' commits: the bound on what they see late, and a
    wake-up of this process's store watcher 20 times a second."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path
        self._connection = _connect(path)
        self._transaction = _Transaction(self._connection)
        self._watcher: threading.Thread | None = None
        self._closing = threading.Event()

    @classmethod
    def open(cls, url: str) -> "SqliteStore":
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        for needed in (path.parent, path):
            if needed.exists() and not os.access(needed, os.W_OK):
                raise ValueError(
                    f"the SQLite store {needed} is read-only: the server writes the database and its"
                    " -wal and -shm files beside it"
                )
        migrate(f"sqlite:///{path}", "sqlite")
        return cls(path)

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        self._connection.execute(f"PRAGMA busy_timeout = {self.remaining_ms(BUSY_TIMEOUT_MS)}")
        try:
            self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise ServiceError(
                    Code.REQUEST_TIMEOUT, "The store stayed locked past the request's deadline."
                ) from None
            raise
        try:
            yield self._transaction
            self.check_deadline()
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[_Transaction]:
        self._connection.execute("BEGIN")
        try:
            yield self._transaction
        finally:
            self._connection.execute("COMMIT")

    def save_pending(self, writes: Sequence[PendingWrite]) -> None:
        """One statement for the whole batch, whatever its size."""
        if not writes:
            return
        batch = json.dumps(
            [[w.agent_id, w.latest_heartbeat_time, json.dumps(w.running_details)] for w in writes]
        )
        with self.transaction() as tx:
            tx.execute(
                "UPDATE agents SET running_details = batch.details,"
                " latest_heartbeat_time = max(agents.latest_heartbeat_time, batch.latest)"
                " FROM (SELECT value ->> 0 AS agent_id, value ->> 1 AS latest, value ->> 2 AS details"
                " FROM json_each(?)) AS batch"
                " WHERE agents.agent_id = batch.agent_id",
                (batch,),
            )

    def _publish(self, tx: Any, kind: str, name: str) -> None:
        tx.execute("INSERT INTO changes (origin, kind, name) VALUES (?, ?, ?)", (self.origin, kind, name))

    def watch(self, listener: ChangeListener) -> None:
        connection = _connect(self._path)
        (position,) = connection.execute("SELECT coalesce(max(id), 0) FROM changes").fetchone()
        self._watcher = threading.Thread(
            target=self._follow, args=(connection, position, listener), name="sqlite-watcher", daemon=True
        )
        self._watcher.start()

    def _follow(self, connection: sqlite3.Connection, position: int, listener: ChangeListener) -> None:
        version = None
        pruned = 0.0
        try:
            while not self._closing.wait(self.poll_interval):
                try:
                    (current,) = connection.execute("PRAGMA data_version").fetchone()
                    if current != version:
                        version = current
                        position = self._read_feed(connection, position, listener)
                    if time.monotonic() - pruned > 600:
                        pruned = time.monotonic()
                        self._prune(connection)
                except sqlite3.Error:
                    log.exception("reading the change feed failed; retrying")
        finally:
            connection.close()

    def _read_feed(self, connection: sqlite3.Connection, position: int, listener: ChangeListener) -> int:
        rows = connection.execute(
            "SELECT id, origin, kind, name FROM changes WHERE id > ? ORDER BY id", (position,)
        ).fetchall()
        if rows and rows[0][0] != position + 1 and position:
            oldest = connection.execute("SELECT min(id) FROM changes").fetchone()[0]
            if oldest is not None and oldest > position + 1:
                listener(None)  # pruned past us: what we missed is unknown
        for change_id, origin, kind, name in rows:
            position = change_id
            if origin != self.origin:
                listener(Change(kind, name))
        return position

    @staticmethod
    def _prune(connection: sqlite3.Connection) -> None:
        connection.execute(
            "DELETE FROM changes WHERE created_at < strftime('%s', 'now') - ?", (FEED_RETENTION,)
        )

    def close(self) -> None:
        self._closing.set()
        if self._watcher is not None:
            self._watcher.join()
        self._connection.close()
