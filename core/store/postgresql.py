"""The PostgreSQL store: many server processes and hosts on one database.

Psycopg 3 with a connection pool, called synchronously on the core's store thread, like every store: the
core's two transports run on two event loops, and one store thread serves both, in commit order.
Writes lock the rows they check (`FOR UPDATE`), so concurrent servers never lose an update or leave a
binding to a deleted config or group; versions are bumped in the UPDATE itself.

The change feed is the `changes` table (see `core.store`); each write transaction also sends a NOTIFY on
the channel of its schema, delivered to every listening server at commit. A watcher thread per server
LISTENs on its own connection and wakes the core, which reads the new entries; when that connection is lost
and comes back it wakes the core too, and nothing is missed: the entries are in the table.

Connections time out instead of hanging (connect 3 s, TCP user timeout 5 s, statement timeout 10 s), so
a request that needs an unreachable database fails in bounded time.
"""

import functools
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from core import errors
from core.agents import Activity
from core.clock import Deadline
from core.errors import Code, ServiceError, StoreFailure
from core.store.migrations import migrate
from core.store.sql import ACTIVITY_COLUMNS, SqlStore, activity_row, details_json, held_json

log = logging.getLogger(__name__)

CONNECTION_OPTIONS = {
    "connect_timeout": "3",
    "tcp_user_timeout": "5000",
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "3",
    "keepalives_count": "3",
}


STATEMENT_TIMEOUT_MS = 10_000
"""How long a statement may run (or wait for a lock) when its request set no deadline."""
POOL_TIMEOUT = 5.0
"""Seconds a transaction waits for a pooled connection, at most (less when its deadline is nearer)."""


def split_url(url: str) -> tuple[str, str]:
    """A libpq connection URL with our timeouts, and the schema named by `?schema=` (default public)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    schema = query.pop("schema", "public")
    for key, value in CONNECTION_OPTIONS.items():
        query.setdefault(key, value)
    return urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(query), "")), schema


@functools.cache
def _pyformat(statement: str) -> Any:
    """The shared `?`-style SQL in psycopg's `%s` style (the statements hold no literal `%`)."""
    return statement.replace("?", "%s")


class _Transaction:
    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection

    def execute(self, statement: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        return self._connection.execute(_pyformat(statement), params)


class PostgresStore(SqlStore):
    lock_rows = " FOR UPDATE"

    def __init__(self, conninfo: str, schema: str) -> None:
        super().__init__()
        self._conninfo = conninfo
        self._schema = schema
        self._channel = f"configserver.{schema}"
        self._pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=2,
            timeout=POOL_TIMEOUT,
            kwargs={"options": f"-c search_path={schema} -c statement_timeout={STATEMENT_TIMEOUT_MS}"},
            name="configserver",
            open=True,
        )
        self._closing = threading.Event()
        self._watcher: threading.Thread | None = None

    @classmethod
    def open(cls, url: str) -> "PostgresStore":
        conninfo, schema = split_url(url)
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        migrate(f"postgresql+psycopg{conninfo.removeprefix('postgresql')}&schema={schema}", "postgresql")
        return cls(conninfo, schema)

    @contextmanager
    def transaction(self, deadline: Deadline | None) -> Iterator[_Transaction]:
        try:
            wait = POOL_TIMEOUT if deadline is None else max(0.001, min(POOL_TIMEOUT, deadline.remaining()))
            with self._pool.connection(wait) as connection:  # commits at the end, rolls back on an exception
                if deadline is not None:
                    wait_ms = max(1, int(deadline.remaining() * 1000))
                    connection.execute(f"SET LOCAL statement_timeout = {wait_ms}")
                yield _Transaction(connection)
                if deadline is not None and deadline.expired():
                    raise errors.request_timeout()
        except psycopg.errors.QueryCanceled:
            raise ServiceError(
                Code.REQUEST_TIMEOUT, "The store did not finish before the request's deadline."
            ) from None
        except PoolTimeout as error:
            if deadline is not None and deadline.expired():
                raise errors.request_timeout() from None
            raise StoreFailure(f"PostgreSQL: {error}") from error
        except psycopg.Error as error:
            raise StoreFailure(f"PostgreSQL: {error}") from error

    @contextmanager
    def reading(self, deadline: Deadline | None = None) -> Iterator[_Transaction]:
        with self.transaction(deadline) as tx:
            yield tx

    def _notify(self, tx: Any) -> None:
        tx.execute("SELECT pg_notify(?, '')", (self._channel,))

    def activity(self, agent_ids: Sequence[str], deadline: Deadline | None = None) -> list[Activity]:
        with self.reading(deadline) as tx:
            rows = tx.execute(
                f"SELECT {ACTIVITY_COLUMNS} FROM agents WHERE agent_id = ANY(?)", (list(agent_ids),)
            ).fetchall()
        return [activity_row(row) for row in rows]

    def save_pending(self, writes: Sequence[Activity]) -> None:
        """One statement for the whole batch, whatever its size."""
        if not writes:
            return
        with self.transaction(None) as tx:
            tx.execute(
                "UPDATE agents SET running_details = batch.details,"
                " latest_heartbeat_time = GREATEST(agents.latest_heartbeat_time, batch.latest),"
                " config_versions = CASE WHEN batch.fetched >= agents.last_config_fetch_time"
                " THEN batch.held ELSE agents.config_versions END,"
                " config_statuses = CASE WHEN batch.fetched >= agents.last_config_fetch_time"
                " THEN batch.statuses ELSE agents.config_statuses END,"
                " last_config_fetch_time = GREATEST(agents.last_config_fetch_time, batch.fetched)"
                " FROM unnest(?::text[], ?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::text[])"
                " AS batch (agent_id, latest, details, held, fetched, statuses)"
                " WHERE agents.agent_id = batch.agent_id",
                (
                    [write.agent_id for write in writes],
                    [write.latest_heartbeat_time for write in writes],
                    [details_json(write.running_details) for write in writes],
                    [held_json(write.config_versions) for write in writes],
                    [write.last_config_fetch_time for write in writes],
                    [held_json(write.config_statuses) for write in writes],
                ),
            )

    def watch(self, wake: Callable[[], None]) -> None:
        listening = threading.Event()
        self._watcher = threading.Thread(
            target=self._follow, args=(wake, listening), name="postgres-watcher", daemon=True
        )
        self._watcher.start()
        listening.wait(10)

    def _follow(self, wake: Callable[[], None], listening: threading.Event) -> None:
        lost = False
        while not self._closing.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as connection:
                    connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    listening.set()
                    if lost:
                        log.info("change feed back")
                        lost = False
                    wake()  # whatever was committed before LISTEN took effect
                    while not self._closing.is_set():
                        for _ in connection.notifies(timeout=5.0):
                            if self._closing.is_set():
                                break
                            wake()
            except psycopg.Error as error:
                if not lost:
                    log.warning("change feed lost; reconnecting", extra={"error": str(error)})
                lost = True
                listening.set()
                self._closing.wait(1.0)

    def close(self) -> None:
        self._closing.set()
        if self._watcher is not None:
            try:  # wake the watcher now rather than at its next timeout
                with self._pool.connection() as connection:
                    connection.execute(sql.SQL("NOTIFY {}").format(sql.Identifier(self._channel)))
            except psycopg.Error:
                pass
            self._watcher.join()
        self._pool.close()
