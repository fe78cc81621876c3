"""Bad input on every endpoint: a defined status and code, and stored data left exactly as it was."""

from collections.abc import Callable
from typing import Any

import grpc
import pytest

from http_gateway.routes import MAX_BODY_SIZE_CAP
from pipeline.rpcs import Rpc
from tests.support import ALPHA_RPCS, RPC_BY_NAME, Client, GrpcClient, HttpClient, ServerThread, expect, make

UNDECODABLE = [
    pytest.param(b"\x0a\xff\xff\xff\xff\x0f", id="truncated-length"),
    pytest.param(b"\x0a\x02\xff\xfe", id="invalid-utf8"),
    pytest.param(b"\x0f", id="bad-wire-type"),
]

# The smallest request of each RPC that lacks a field it needs. ListAgentGroups and ListConfigs need none.
MISSING_FIELD: dict[str, dict[str, Any]] = {
    "CreateAgentGroup": {},
    "UpdateAgentGroup": {"agent_group": {"description": "no name"}},
    "DeleteAgentGroup": {},
    "GetAgentGroup": {},
    "CreateConfig": {"config_detail": {"config_name": "no-content"}},
    "UpdateConfig": {"config_detail": {"content": "no name"}},
    "DeleteConfig": {},
    "GetConfig": {},
    "ApplyConfigToAgentGroup": {"group_name": "g1"},
    "RemoveConfigFromAgentGroup": {"config_name": "c1"},
    "GetAppliedConfigsForAgentGroup": {},
    "GetAppliedAgentGroups": {},
    "ListAgents": {},
    "DeleteAgent": {},
    "GetConfigStatus": {},
    "ListConfigHistory": {},
    "RollbackConfig": {"to_version": 1},
    "PreviewAgentGroup": {"agent_group": {"description": "no name"}},
    "HeartBeat": {"agent_type": "ilogtail"},
    "RunningStatistics": {},
    "Alarm": {"type": "t"},
    "GetConfigList": {},
}

Snapshot = Callable[[], bytes]


@pytest.fixture
def snapshot(server: ServerThread) -> Snapshot:
    """Seed some data, and return a function that reads all of it back, as bytes to compare."""
    http = HttpClient(server.http_port)
    seed: list[tuple[str, dict[str, Any]]] = [
        ("CreateAgentGroup", {"agent_group": {"group_name": "g1", "tags": [{"name": "env", "value": "p"}]}}),
        ("CreateConfig", {"config_detail": {"config_name": "c1", "content": "x"}}),
        ("ApplyConfigToAgentGroup", {"group_name": "g1", "config_name": "c1"}),
        ("HeartBeat", {"agent_id": "a-1", "tags": {"env": "p"}}),
    ]
    for name, fields in seed:
        expect(http.call(name, make(name, **fields)), "Accept")

    def read_all() -> bytes:
        parts = [
            http.call("ListAgentGroups", make("ListAgentGroups")).response,
            http.call("ListConfigs", make("ListConfigs")).response,
            http.call("ListAgents", make("ListAgents", group_name="default")).response,
            http.call(
                "GetAppliedConfigsForAgentGroup", make("GetAppliedConfigsForAgentGroup", group_name="g1")
            ).response,
        ]
        return b"".join(part.SerializeToString(deterministic=True) for part in parts)

    return read_all


def test_every_rpc_with_required_fields_is_in_the_table() -> None:
    assert set(MISSING_FIELD) == {rpc.name for rpc in ALPHA_RPCS} - {
        "ListAgentGroups",
        "ListConfigs",
        "ListAlarms",
        "ListAuditEvents",
        "WhoAmI",
        "GetFleetSummary",
    }


@pytest.mark.parametrize("rpc_name", sorted(MISSING_FIELD))
def test_missing_field(client: Client, snapshot: Snapshot, rpc_name: str) -> None:
    before = snapshot()
    reply = client.call(rpc_name, make(rpc_name, request_id="r1", **MISSING_FIELD[rpc_name]))
    response = expect(reply, "BadRequest")
    if response is not None:
        assert response.response_id == "r1"
    assert "required" in reply.message
    assert snapshot() == before


def http_send(
    http: HttpClient, rpc: Rpc, body: bytes, content_type: str = "application/x-protobuf"
) -> object:
    return HttpClient.decode(
        rpc,
        http.request(
            "POST" if rpc.http_method == "GET" else rpc.http_method,
            rpc.http_path,
            body,
            {"Content-Type": content_type},
        ),
    )


@pytest.mark.parametrize("body", UNDECODABLE)
@pytest.mark.parametrize("rpc", ALPHA_RPCS, ids=lambda rpc: rpc.name)
def test_undecodable_protobuf_over_http(http: HttpClient, snapshot: Snapshot, rpc: Rpc, body: bytes) -> None:
    before = snapshot()
    reply = http_send(http, rpc, body)
    expect(reply, "BadRequest")  # type: ignore[arg-type]
    assert reply.response.response_id == ""  # type: ignore[attr-defined]
    assert snapshot() == before


@pytest.mark.parametrize("body", UNDECODABLE)
@pytest.mark.parametrize("rpc", ALPHA_RPCS, ids=lambda rpc: rpc.name)
def test_undecodable_protobuf_over_grpc(
    grpc_client: GrpcClient, snapshot: Snapshot, rpc: Rpc, body: bytes
) -> None:
    before = snapshot()
    method = grpc_client.channel.unary_unary(  # no serializer: the bytes go out as they are
        rpc.grpc_path, request_serializer=None, response_deserializer=rpc.response.FromString
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        grpc_client.invoke(method, body)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    metadata: dict[str, Any] = dict(raised.value.trailing_metadata() or ())  # type: ignore[arg-type]
    assert metadata["configserver-code"] == "BadRequest"
    assert snapshot() == before


@pytest.mark.parametrize(
    "body", [b"{", b"[]", b'{"requestId": 5, "agentGroup": 7}', b"\xff\xfe", b"[" * 10000]
)
@pytest.mark.parametrize("rpc", ALPHA_RPCS, ids=lambda rpc: rpc.name)
def test_bad_json(http: HttpClient, snapshot: Snapshot, rpc: Rpc, body: bytes) -> None:
    before = snapshot()
    reply = http.request(rpc.http_methods[-1], rpc.http_path, body, {"Content-Type": "application/json"})
    assert reply.status == 400
    assert reply.headers["Content-Type"] == "application/json"
    expect(HttpClient.decode(rpc, reply, json=True), "BadRequest")
    assert snapshot() == before


@pytest.mark.parametrize("rpc", ALPHA_RPCS, ids=lambda rpc: rpc.name)
def test_wrong_method(http: HttpClient, snapshot: Snapshot, rpc: Rpc) -> None:
    before = snapshot()
    for method in sorted({"GET", "POST", "PUT", "DELETE", "PATCH"} - set(rpc.http_methods)):
        reply = http.request(method, rpc.http_path, make(rpc.name, request_id="r").SerializeToString())
        assert reply.status == 405, method
        assert reply.headers["Allow"] == ", ".join(rpc.http_methods)
        decoded = HttpClient.decode(rpc, reply)
        assert decoded.code == "BadRequest"
        assert method in decoded.message
    assert snapshot() == before


def test_unknown_http_method(http: HttpClient) -> None:
    reply = http.request("BREW", "/User/ListConfigs")
    assert reply.status == 405
    assert HttpClient.decode(ALPHA_RPCS[0], reply).code == "BadRequest"


@pytest.mark.parametrize("rpc", ALPHA_RPCS, ids=lambda rpc: rpc.name)
def test_oversized_body(store_url: str, rpc: Rpc) -> None:
    from tests.support import running_server

    with running_server(store_url, max_body_size=1024) as server:
        http = HttpClient(server.http_port)
        method = rpc.http_methods[-1]
        expect(
            http.call(
                "CreateConfig", make("CreateConfig", config_detail={"config_name": "c", "content": "x"})
            ),
            "Accept",
        )
        before = http.call("ListConfigs", make("ListConfigs")).response
        big = make(rpc.name, request_id="r" * 2000).SerializeToString()
        reply = http.request(method, rpc.http_path, big)
        assert reply.status == 413
        assert reply.headers["Connection"] == "close"
        assert HttpClient.decode(rpc, reply).code == "BadRequest"
        # An iterable body goes chunked, without Content-Length: the limit is found while reading.
        chunked = http.request(method, rpc.http_path, iter([big[:1000], big[1000:]]))  # type: ignore[arg-type]
        assert chunked.status == 413
        assert http.call("ListConfigs", make("ListConfigs")).response == before


def test_a_body_beyond_the_hard_cap_gets_a_413_the_client_can_read(http: HttpClient) -> None:
    """The body is read and dropped (for a bounded time) before the answer, so a client that sends it all
    before reading, as http.client does, reads the 413 instead of a broken pipe."""
    reply = http.request("POST", "/User/CreateConfig", b"x" * (MAX_BODY_SIZE_CAP + 1024 * 1024))
    assert reply.status == 413
    assert reply.headers["Connection"] == "close"
    assert HttpClient.decode(RPC_BY_NAME["CreateConfig"], reply).message == "The body exceeds 4194304 bytes."
    assert http.call("ListConfigs", make("ListConfigs")).response.config_details == []


def test_unknown_path(http: HttpClient) -> None:
    for path in ("/", "/User", "/User/Nope", "/Agent/HeartBeat/extra", "/user/listconfigs"):
        reply = http.request("POST", path, b"", {"Accept": "application/json"})
        assert reply.status == 404, path
        assert reply.headers["Content-Type"] == "application/json"
        assert b'"code": "BadRequest"' in reply.body
