"""A store that fails mid-request: 500 InternalServerError / INTERNAL with a generic message, nothing
half-written, and the server serving again once the store is."""

from tests.stores import Backend
from tests.support import Client, expect, make


def test_store_failure_is_internal_error_and_changes_nothing(client: Client, store: Backend) -> None:
    expect(
        client.call(
            "CreateConfig", make("CreateConfig", config_detail={"config_name": "c", "content": "v0"})
        ),
        "Accept",
    )
    with store.failing_writes("configs"):
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


def test_registration_is_refused_while_the_store_fails(client: Client, store: Backend) -> None:
    with store.failing_writes("agents"):
        expect(client.call("HeartBeat", make("HeartBeat", agent_id="a-1")), "InternalServerError")
    expect(client.call("GetConfigList", make("GetConfigList", agent_id="a-1")), "AgentNotExist")
    expect(client.call("HeartBeat", make("HeartBeat", agent_id="a-1")), "Accept")
    expect(client.call("GetConfigList", make("GetConfigList", agent_id="a-1")), "Accept")
