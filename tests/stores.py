"""The stores tests run on: a fresh SQLite file, or a fresh schema of the PostgreSQL at
CONFIGSERVER_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/test), dropped afterwards.

Without that PostgreSQL the PostgreSQL runs are skipped with the reason, except under CI=true, where
they fail.
"""

import os
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from core.store.postgresql import split_url
from core.store.sqlite import sqlite_path

POSTGRES_URL = os.environ.get("CONFIGSERVER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used, or None."""
    try:
        with psycopg.connect(split_url(POSTGRES_URL)[0], autocommit=True) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        return f"no PostgreSQL at {POSTGRES_URL}: {error}".strip()
    return None


def require_postgres() -> None:
    reason = postgres_unavailable()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true needs PostgreSQL: {reason}")
    pytest.skip(reason)


class Backend:
    """A store's URL and a side door to its database, for tests that inspect or break it."""

    name: str
    url: str

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self.query(statement, params)

    def failing_writes(self, table: str) -> AbstractContextManager[None]:
        """Make the database itself refuse writes to `table` for the duration."""
        raise NotImplementedError

    def locked(self) -> AbstractContextManager[None]:
        """Hold a lock that makes the server's writes to configs wait, for the duration."""
        raise NotImplementedError


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.url = f"sqlite:///{directory / 'store.db'}"

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        connection = sqlite3.connect(sqlite_path(self.url), isolation_level=None)
        try:
            return connection.execute(statement, params).fetchall()
        finally:
            connection.close()

    @contextmanager
    def failing_writes(self, table: str) -> Iterator[None]:
        for event in ("INSERT", "UPDATE", "DELETE"):
            self.execute(
                f"CREATE TRIGGER fail_{event.lower()} BEFORE {event} ON {table}"
                " BEGIN SELECT RAISE(ABORT, 'injected store failure'); END"
            )
        yield
        for event in ("insert", "update", "delete"):
            self.execute(f"DROP TRIGGER fail_{event}")

    @contextmanager
    def locked(self) -> Iterator[None]:
        connection = sqlite3.connect(sqlite_path(self.url), isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()


class PostgresBackend(Backend):
    name = "postgresql"

    def __init__(self) -> None:
        self.schema = f"test_{uuid.uuid4().hex[:12]}"
        separator = "&" if "?" in POSTGRES_URL else "?"
        self.url = f"{POSTGRES_URL}{separator}schema={self.schema}"
        self._conninfo = split_url(POSTGRES_URL)[0]

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self._conninfo, autocommit=True) as connection:
            connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
            cursor = connection.execute(statement.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []

    def drop(self) -> None:
        with psycopg.connect(self._conninfo, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema))
            )

    @contextmanager
    def locked(self) -> Iterator[None]:
        with psycopg.connect(self._conninfo) as connection:
            connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
            connection.execute("LOCK TABLE configs IN ACCESS EXCLUSIVE MODE")
            yield
            connection.rollback()

    @contextmanager
    def failing_writes(self, table: str) -> Iterator[None]:
        self.execute(
            "CREATE FUNCTION fail_write() RETURNS trigger LANGUAGE plpgsql"
            " AS $$ BEGIN RAISE EXCEPTION 'injected store failure'; END $$"
        )
        self.execute(
            f"CREATE TRIGGER fail_write BEFORE INSERT OR UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION fail_write()"
        )
        yield
        self.execute(f"DROP TRIGGER fail_write ON {table}")
        self.execute("DROP FUNCTION fail_write()")


@contextmanager
def backend(name: str, directory: Path) -> Iterator[Backend]:
    if name == "sqlite":
        yield SqliteBackend(directory)
        return
    require_postgres()
    postgres = PostgresBackend()
    try:
        yield postgres
    finally:
        postgres.drop()
