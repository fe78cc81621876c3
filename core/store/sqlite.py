"""The embedded store: one SQLite file in WAL mode, every commit synced (synchronous=FULL).

A commit returns only once SQLite has written and synced its WAL frame, so an acknowledged write survives
`kill -9` of the server and a power cut alike. Each write runs in `BEGIN IMMEDIATE`, which takes the
write lock up front, so concurrent processes on one file (workers) serialize instead of failing
mid-transaction. Each write also appends to the `changes` table, which the watcher of every other
process follows: its watcher checks `PRAGMA data_version` (which moves when another connection commits)
every `poll_interval` seconds and wakes the core, which reads the new rows.
"""

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core import errors
from core.agents import Activity
from core.clock import Deadline
from core.errors import Code, ServiceError, StoreFailure
from core.store.migrations import migrate
from core.store.sql import SqlStore, details_json, held_json

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
"""How long a write waits for another process's write lock, when its request set no deadline."""


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


@contextmanager
def _failures() -> Iterator[None]:
    """SQLite's own errors as StoreFailure; refusals pass through."""
    try:
        yield
    except sqlite3.Error as error:
        raise StoreFailure(f"SQLite: {error}") from error


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
    def transaction(self, deadline: Deadline | None) -> Iterator[_Transaction]:
        connection = self._connection
        with _failures():
            wait_ms = BUSY_TIMEOUT_MS if deadline is None else max(1, int(deadline.remaining() * 1000))
            connection.execute(f"PRAGMA busy_timeout = {wait_ms}")
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if "locked" in str(error) or "busy" in str(error):
                    raise ServiceError(
                        Code.REQUEST_TIMEOUT, "The store stayed locked past the request's deadline."
                    ) from None
                raise
            try:
                yield self._transaction
                if deadline is not None and deadline.expired():
                    raise errors.request_timeout()
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    @contextmanager
    def reading(self, deadline: Deadline | None = None) -> Iterator[_Transaction]:
        """A read never waits for a lock in WAL mode: the deadline bounds only the wait for the store
        thread (`core.runtime.worker`)."""
        with _failures():
            self._connection.execute("BEGIN")
            try:
                yield self._transaction
            finally:
                self._connection.execute("COMMIT")

    def save_pending(self, writes: Sequence[Activity]) -> None:
        """One statement for the whole batch, whatever its size."""
        if not writes:
            return
        batch = json.dumps(
            [
                [
                    w.agent_id,
                    w.latest_heartbeat_time,
                    details_json(w.running_details),
                    held_json(w.config_versions),
                    w.last_config_fetch_time,
                    held_json(w.config_statuses),
                ]
                for w in writes
            ]
        )
        with self.transaction(None) as tx:
            tx.execute(
                "UPDATE agents SET running_details = batch.details,"
                " latest_heartbeat_time = max(agents.latest_heartbeat_time, batch.latest),"
                " config_versions = CASE WHEN batch.fetched >= agents.last_config_fetch_time"
                " THEN batch.held ELSE agents.config_versions END,"
                " config_statuses = CASE WHEN batch.fetched >= agents.last_config_fetch_time"
                " THEN batch.statuses ELSE agents.config_statuses END,"
                " last_config_fetch_time = max(agents.last_config_fetch_time, batch.fetched)"
                " FROM (SELECT value ->> 0 AS agent_id, value ->> 1 AS latest, value ->> 2 AS details,"
                " value ->> 3 AS held, value ->> 4 AS fetched, value ->> 5 AS statuses"
                " FROM json_each(?)) AS batch"
                " WHERE agents.agent_id = batch.agent_id",
                (batch,),
            )

    def _notify(self, tx: Any) -> None:
        """Nothing to send: other processes' watchers see the commit move `data_version`."""

    def watch(self, wake: Callable[[], None]) -> None:
        with _failures():
            connection = _connect(self._path)
        self._watcher = threading.Thread(
            target=self._follow, args=(connection, wake), name="sqlite-watcher", daemon=True
        )
        self._watcher.start()

    def _follow(self, connection: sqlite3.Connection, wake: Callable[[], None]) -> None:
        version = None
        try:
            while not self._closing.wait(self.poll_interval):
                try:
                    (current,) = connection.execute("PRAGMA data_version").fetchone()
                except sqlite3.Error as error:
                    log.warning("watching the store failed; retrying", extra={"error": str(error)})
                    continue
                if current != version:
                    version = current
                    wake()
        finally:
            connection.close()

    def close(self) -> None:
        self._closing.set()
        if self._watcher is not None:
            self._watcher.join()
        self._connection.close()
