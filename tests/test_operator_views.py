"""What the console and configserverctl stand on: WhoAmI, PreviewAgentGroup (the blast radius of a group
change before it is saved) and GetFleetSummary, on both transports and stores; and the console's files at
/ui/ with headers that keep agent-supplied text from running (and none of it with --no-ui)."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from configserver.proto.v1 import agent_v1_pb2 as v1
from configserver.proto.v2 import agent_v2_pb2 as v2
from console import STATIC
from http_gateway.console import CONTENT_SECURITY_POLICY
from tests.stores import Backend
from tests.support import Client, HttpClient, ServerThread, connected, expect, make, running_server

TOKENS = "alice editor TOKEN_A\nbob viewer TOKEN_B\n"


def call(client: Client, rpc: str, **fields: Any) -> Any:
    return expect(client.call(rpc, make(rpc, **fields)), "Accept")


def beat(client: Client, agent_id: str, **tags: str) -> None:
    call(client, "HeartBeat", agent_id=agent_id, tags=tags)


@pytest.fixture
def fleet(server: ServerThread, transport: str) -> Iterator[Client]:
    """Agents a1..a3 tagged env=prod, b1 tagged env=dev, and group prod (env=prod)."""
    with connected(server, transport) as client:
        for agent_id in ("a1", "a2", "a3"):
            beat(client, agent_id, env="prod")
        beat(client, "b1", env="dev")
        group = {"group_name": "prod", "tags": [{"name": "env", "value": "prod"}]}
        call(client, "CreateAgentGroup", agent_group=group)
        yield client


def test_a_preview_counts_the_agents_a_change_would_add_and_drop(fleet: Client) -> None:
    moved = {"group_name": "prod", "tags": [{"name": "env", "value": "dev"}]}
    preview = call(fleet, "PreviewAgentGroup", agent_group=moved)
    assert (preview.agents_matched, preview.agents_now, preview.agents_added, preview.agents_removed) == (
        1,
        3,
        1,
        3,
    )
    assert (list(preview.added_agent_ids), list(preview.removed_agent_ids)) == (["b1"], ["a1", "a2", "a3"])
    new = call(fleet, "PreviewAgentGroup", agent_group={"group_name": "new", "tags": moved["tags"]})
    assert (new.agents_matched, new.agents_now, list(new.added_agent_ids)) == (1, 0, ["b1"])
    group = call(fleet, "GetAgentGroup", group_name="prod").agent_group
    assert [(tag.name, tag.value) for tag in group.tags] == [("env", "prod")], "a preview changes nothing"
    refused = fleet.call("PreviewAgentGroup", make("PreviewAgentGroup", agent_group={"group_name": ""}))
    expect(refused, "BadRequest")


def test_the_fleet_summary_counts_per_protocol_and_group(fleet: Client) -> None:
    call(fleet, "Alarm", agent_id="a1", type="LOG_ERROR", detail="x")
    summary = call(fleet, "GetFleetSummary")
    assert (summary.agents.online, summary.agents.offline) == (4, 0)
    assert {name: count.online for name, count in summary.agents_by_protocol.items()} == {"alpha": 4}
    assert {name: count.online for name, count in summary.agents_by_group.items()} == {
        "default": 4,
        "prod": 3,
    }
    assert summary.alarms_last_hour == 1


def test_whoami_names_the_token_and_its_role(store: Backend) -> None:
    with running_server(store.url, user_token=TOKENS) as server:
        http = HttpClient(server.http_port)
        for token, actor, role in (("TOKEN_A", "alice", "editor"), ("TOKEN_B", "bob", "viewer")):
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            reply = http.request("POST", "/User/WhoAmI", b"{}", headers)
            answer = json.loads(reply.body)
            assert (reply.status, answer["actor"], answer["role"]) == (200, actor, role)
    with running_server(store.url) as server:
        answer = call(HttpClient(server.http_port), "WhoAmI")
        assert (answer.actor, answer.role) == ("anonymous", "editor")


def test_the_console_is_served_with_a_strict_policy(server: ServerThread) -> None:
    http = HttpClient(server.http_port)
    moved = http.request("GET", "/ui")
    assert (moved.status, moved.headers["Location"]) == (301, "/ui/")
    page = http.request("GET", "/ui/")
    assert page.status == 200
    assert page.body == (STATIC / "index.html").read_bytes()
    policy = page.headers["Content-Security-Policy"]
    assert policy == CONTENT_SECURITY_POLICY and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in page.headers
    assert http.request("GET", "/ui/../pyproject.toml").status in (403, 404)


def test_no_console_with_no_ui(store: Backend) -> None:
    with running_server(store.url, ui=False) as server:
        assert HttpClient(server.http_port).request("GET", "/ui/").status == 404


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_agents_are_listed_by_protocol(store: Backend, transport: str) -> None:
    with running_server(store.url, v1_http_port=0) as server:
        assert server.server is not None and server.server.http_v1 is not None
        beat(HttpClient(server.http_port), "alpha-1")
        v2_beat = v2.HeartbeatRequest(request_id=b"r", instance_id=b"v2-1", agent_type="LoongCollector")
        reply = HttpClient(server.http_port).request("POST", "/Agent/Heartbeat", v2_beat.SerializeToString())
        assert reply.status == 200
        v1_beat = v1.HeartBeatRequest(request_id="r", agent_id="v1-1", agent_type="ilogtail")
        reply = HttpClient(server.server.http_v1.port).request(
            "POST", "/Agent/HeartBeat", v1_beat.SerializeToString()
        )
        assert reply.status == 200
        with connected(server, transport) as client:
            for protocol, expected in (("alpha", ["alpha-1"]), ("v2", ["v2-1"]), ("v1", ["v1-1"])):
                listed = call(client, "ListAgents", group_name="default", protocol=protocol).agents
                assert [agent.agent_id for agent in listed] == expected
                assert {agent.protocol for agent in listed} == {protocol}
            everyone = call(client, "ListAgents", group_name="default").agents
            assert [agent.agent_id for agent in everyone] == ["alpha-1", "v1-1", "v2-1"]
            refused = client.call("ListAgents", make("ListAgents", group_name="default", protocol="v3"))
            assert refused.code == "InvalidParameter" and "protocol 'v3'" in refused.message
