"""Hostile bodies on every endpoint, both formats, both transports: never a 5xx, never a dropped
connection, always the endpoint's own decodable answer, and a sentinel of stored data left as it was.

Seeds: valid requests of each RPC, mutated (bits flipped, cut, spliced, lengths made absurd), random
bytes, and random JSON. CI runs a fixed derandomized sample; `make fuzz` runs many more examples.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from hypothesis import given
from hypothesis import strategies as st

from pipeline.rpcs import Rpc
from tests.support import ALPHA_RPCS, GrpcClient, HttpClient, ServerThread, expect, make, running_server

SEEDS: dict[str, dict[str, Any]] = {
    "CreateAgentGroup": {
        "agent_group": {"group_name": "g", "description": "d", "tags": [{"name": "k", "value": "v"}]}
    },
    "UpdateAgentGroup": {"agent_group": {"group_name": "g", "tags": [{"name": "k", "value": "v"}]}},
    "DeleteAgentGroup": {"group_name": "g"},
    "GetAgentGroup": {"group_name": "g"},
    "ListAgentGroups": {},
    "CreateConfig": {"config_detail": {"config_name": "c", "agent_type": "t", "content": "x"}},
    "UpdateConfig": {"config_detail": {"config_name": "c", "content": "y"}},
    "DeleteConfig": {"config_name": "c"},
    "GetConfig": {"config_name": "c"},
    "ListConfigs": {},
    "ApplyConfigToAgentGroup": {"group_name": "g", "config_name": "c"},
    "RemoveConfigFromAgentGroup": {"group_name": "g", "config_name": "c"},
    "GetAppliedConfigsForAgentGroup": {"group_name": "g"},
    "GetAppliedAgentGroups": {"config_name": "c"},
    "ListAgents": {"group_name": "default", "status": "ONLINE", "page_size": 2, "page_token": "YQ=="},
    "DeleteAgent": {"agent_id": "a"},
    "GetConfigStatus": {"config_name": "c"},
    "ListConfigHistory": {"config_name": "c", "page_size": 2, "page_token": "MQ=="},
    "RollbackConfig": {"config_name": "c", "to_version": 0, "reason": "r", "expected_version": 1},
    "ListAuditEvents": {"since": 5, "actor": "a", "target": "c", "page_size": 3, "page_token": "MTox"},
    "WhoAmI": {},
    "PreviewAgentGroup": {"agent_group": {"group_name": "g", "tags": [{"name": "k", "value": "v"}]}},
    "GetFleetSummary": {},
    "ListAlarms": {"agent_id": "a", "type": "t", "since": 5, "page_size": 3, "page_token": "MTox"},
    "HeartBeat": {"agent_id": "a", "agent_type": "t", "ip": "1.2.3.4", "tags": {"k": "v"}, "startup_time": 7},
    "RunningStatistics": {
        "agent_id": "a",
        "running_details": {"cpu": 0.5, "memory": 9, "extras": {"x": "y"}},
    },
    "Alarm": {"agent_id": "a", "type": "t", "detail": "d"},
    "GetConfigList": {"agent_id": "a", "config_versions": {"c": 1, "d": 2}},
}


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "splice", "length", "repeat"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[position:]
        elif kind == "splice":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "length" and data:
            data[position] = draw(st.sampled_from([0x7F, 0xFF, 0x80]))
        elif kind == "repeat":
            data += data[: draw(st.integers(0, 64))]
    return bytes(data)


def protobuf_bodies(rpc: Rpc) -> st.SearchStrategy[bytes]:
    seed = make(rpc.name, request_id="r", **SEEDS[rpc.name]).SerializeToString()
    return st.one_of(mutated(seed), st.binary(max_size=256))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


def json_bodies(rpc: Rpc) -> st.SearchStrategy[bytes]:
    seed = json.loads(json_format.MessageToJson(make(rpc.name, **SEEDS[rpc.name])))
    names = list(seed) + [field.json_name for field in rpc.request.DESCRIPTOR.fields]
    documents = st.dictionaries(st.sampled_from(names) | st.text(max_size=8), json_values, max_size=6)
    text = json.dumps(seed).encode()
    return st.one_of(documents.map(lambda document: json.dumps(document).encode()), mutated(text))


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    directory: Path = tmp_path_factory.mktemp("fuzz")
    with running_server(f"sqlite:///{directory / 'fuzz.db'}") as server:
        http = HttpClient(server.http_port)
        seed: list[tuple[str, dict[str, Any]]] = [
            (
                "CreateAgentGroup",
                {"agent_group": {"group_name": "sentinel-g", "tags": [{"name": "s", "value": "s"}]}},
            ),
            ("CreateConfig", {"config_detail": {"config_name": "sentinel-c", "content": "keep"}}),
            ("ApplyConfigToAgentGroup", {"group_name": "sentinel-g", "config_name": "sentinel-c"}),
            ("HeartBeat", {"agent_id": "sentinel-a", "tags": {"s": "s"}}),
        ]
        for name, fields in seed:
            expect(http.call(name, make(name, **fields)), "Accept")
        yield server


def sentinel(server: ServerThread) -> tuple[str, ...]:
    http = HttpClient(server.http_port)
    config = http.call("GetConfig", make("GetConfig", config_name="sentinel-c")).response.config_detail
    applied = http.call(
        "GetAppliedConfigsForAgentGroup", make("GetAppliedConfigsForAgentGroup", group_name="sentinel-g")
    )
    agents = http.call("ListAgents", make("ListAgents", group_name="sentinel-g")).response.agents
    return (config.content, *applied.response.config_names, *(agent.agent_id for agent in agents))


EXPECTED = ("keep", "sentinel-c", "sentinel-a")


@pytest.mark.parametrize("rpc", ALPHA_RPCS, ids=lambda rpc: rpc.name)
@pytest.mark.parametrize("body_format", ["protobuf", "json"])
def test_http_bodies(target: ServerThread, rpc: Rpc, body_format: str) -> None:
    http = HttpClient(target.http_port)
    is_json = body_format == "json"
    content_type = "application/json" if is_json else "application/x-protobuf"

    @given(
        body=json_bodies(rpc) if is_json else protobuf_bodies(rpc), method=st.sampled_from(rpc.http_methods)
    )
    def check(body: bytes, method: str) -> None:
        reply = http.request(method, rpc.http_path, body, {"Content-Type": content_type})
        assert reply.status < 500, (reply.status, body)
        decoded = HttpClient.decode(rpc, reply, json=is_json)
        assert decoded.code, body

    check()
    assert sentinel(target) == EXPECTED


@pytest.mark.parametrize("rpc", ALPHA_RPCS, ids=lambda rpc: rpc.name)
def test_grpc_bodies(target: ServerThread, rpc: Rpc) -> None:
    client = GrpcClient(target.grpc_port)
    method = client.channel.unary_unary(
        rpc.grpc_path, request_serializer=None, response_deserializer=rpc.response.FromString
    )
    try:

        @given(body=protobuf_bodies(rpc))
        def check(body: bytes) -> None:
            try:
                client.invoke(method, body, timeout=10)
            except grpc.aio.AioRpcError as error:
                assert error.code() not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), (error, body)

        check()
    finally:
        client.close()
    assert sentinel(target) == EXPECTED
