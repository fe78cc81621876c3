"""A store that fails mid-request: 500 InternalServerError / INTERNAL with a generic message, nothing
half-written, and the server serving again once the store is."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from core.store.sqlite import sqlite_path
from tests.support import Client, expect, make


@contextmanager
def failing_writes(store_url: str, table: str) -> Iterator[None]:
    """Make SQLite itself refuse writes to `table`, through a trigger added by a second connection."""
    connection = sqlite3.connect(sqlite_path(store_url), isolation_level=None)
    try:
        for event in ("INSERT", "UPDATE", "DELETE"):
            connection.execute(
                f"CREATE TRIGGER fail_{event.lower()} BEFORE {event} ON {table}"
                " BEGIN SELECT RAISE(ABORT, 'injected store failure'); END"
            )
        yield
        for event in ("insert", "update", "delete"):
            connection.execute(f"DROP TRIGGER fail_{event}")
    finally:
        connection.close()


def test_store_failure_is_internal_error_and_changes_nothing(client: Client, store_url: str) -> None:
    expect(
        client.call(
            "CreateConfig", make("CreateConfig", config_detail={"config_name": "c", "content": "v0"})
        ),
        "Accept",
    )
    with failing_writes(store_url, "configs"):
        reply = client.call(
            "UpdateConfig", make("UpdateConfig", config_detail={"config_name": "c", "content": "v1"})
        )
        expect(reply, "InternalServerError")
        assert "injected" not in reply.message, "internals stay in the log"
        reply = client.call(
            "CreateConfig", make("CreateConfig", config_detail={"config_name": "d", "content": "x"})
        )
        expect(reply, "InternalServerError")
    got = expect(client.call("GetConfig", make("GetConfig", config_name="c")), "Accept")
    assert got.config_detail.content == "v0"
    expect(client.call("GetConfig", make("GetConfig", config_name="d")), "ConfigNotExist")
    expect(
        client.call(
            "UpdateConfig", make("UpdateConfig", config_detail={"config_name": "c", "content": "v1"})
        ),
        "Accept",
    )


def test_registration_is_refused_while_the_store_fails(client: Client, store_url: str) -> None:
    with failing_writes(store_url, "agents"):
        expect(client.call("HeartBeat", make("HeartBeat", agent_id="a-1")), "InternalServerError")
    expect(client.call("GetConfigList", make("GetConfigList", agent_id="a-1")), "AgentNotExist")
    expect(client.call("HeartBeat", make("HeartBeat", agent_id="a-1")), "Accept")
    expect(client.call("GetConfigList", make("GetConfigList", agent_id="a-1")), "Accept")
