"""Hostile input on the agent protocols of LoongCollector (v2, main listener) and iLogtail (v1, own listener).

What the agents send and check is in `../shared/agent-protocols.md` (sections 2.2, 2.7, 3.3-3.5, 4). Over
HTTP only, on both stores:

- fuzz: mutated realistic bodies of every v1 and v2 RPC (protobuf and JSON), and random bytes: never a 5xx,
  always the RPC's own decodable answer (a refusal is marked as one; an acceptance echoes `request_id`),
  and the catalog (groups, configs, bindings, history) unchanged. Agents may register from a
  valid-enough heartbeat, so the set of agents is not compared there;
- targeted refusals (ids empty, too long, not UTF-8, with control characters; too many tags or entries;
  extreme versions; unknown agents): refused with a decodable answer and nothing stored at all;
- routing: paths are case-sensitive, alpha and v1 paths stay on their own listeners;
- the Agent API token guards the v1 and v2 paths too;
- `Expect: 100-continue`: an oversized body is refused at once, a normal one is served.
"""

import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from hypothesis import given
from hypothesis import strategies as st

from configserver.proto import agent_pb2
from configserver.proto.v1 import agent_v1_pb2 as v1
from configserver.proto.v2 import agent_v2_pb2 as v2
from pipeline.rpcs import Rpc
from tests.stores import Backend
from tests.support import RPC_BY_NAME, HttpClient, HttpReply, ServerThread, expect, make, running_server
from tests.test_fuzz import json_values, mutated

AGENT_RPCS: tuple[Rpc, ...] = tuple(
    RPC_BY_NAME[name]
    for name in (
        "v2.Heartbeat",
        "v2.FetchPipelineConfig",
        "v2.FetchInstanceConfig",
        "v1.HeartBeat",
        "v1.FetchPipelineConfig",
        "v1.FetchAgentConfig",
    )
)
PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}

V2_ID = b"1B4E28BA-2FA1-11D2-883F-0016D3CCA427_10.0.0.1_1700000000"
V1_ID = "2C5F39CB-3FB2-22E3-994F-1127E4DDB538_10.0.0.2_1700000000"
PIPELINE_CONTENT = '{"inputs": [{"Type": "input_file"}], "flushers": [{"Type": "flusher_stdout"}]}'


def v2_heartbeat(instance_id: bytes = V2_ID, **fields: Any) -> v2.HeartbeatRequest:
    """What LoongCollector sends (section 2.1): tags sorted by name, attributes, every config it holds."""
    request = v2.HeartbeatRequest(
        request_id=b"5A6B7C8D-2FA1-11D2-883F-0016D3CCA427",
        sequence_num=7,
        capabilities=v2.AcceptsContinuousPipelineConfig | v2.AcceptsInstanceConfig,
        instance_id=instance_id,
        agent_type="LoongCollector",
        attributes=v2.AgentAttributes(
            version=b"3.3.5",
            ip=b"10.0.0.1",
            hostname=b"host-1",
            extras={"osDetail": b"Linux; 5.15.0; #1 SMP; x86_64"},
        ),
        tags=[v2.AgentGroupTag(name="env", value="prod"), v2.AgentGroupTag(name="zone", value="a")],
        running_status="running",
        startup_time=1_700_000_000,
        continuous_pipeline_configs=[
            v2.ConfigInfo(name="c", version=2, status=v2.APPLIED),
            v2.ConfigInfo(name="old", version=1, status=v2.FAILED),
            v2.ConfigInfo(name="gone", version=-1),
        ],
        instance_configs=[v2.ConfigInfo(name="inst", version=1, status=v2.APPLYING)],
    )
    for name, value in fields.items():
        request.ClearField(name)  # type: ignore[arg-type]
        field = getattr(request, name)
        if isinstance(value, list):
            field.extend(value)
        else:
            setattr(request, name, value)
    return request


def v2_fetch(instance_id: bytes = V2_ID) -> v2.FetchConfigRequest:
    return v2.FetchConfigRequest(
        request_id=b"6B7C8D9E-2FA1-11D2-883F-0016D3CCA427",
        instance_id=instance_id,
        continuous_pipeline_configs=[
            v2.ConfigInfo(name="c", version=2),
            v2.ConfigInfo(name="old", version=1),
        ],
        instance_configs=[v2.ConfigInfo(name="inst", version=1)],
    )


def v1_heartbeat(agent_id: str = V1_ID, **fields: Any) -> v1.HeartBeatRequest:
    """What iLogtail sends (section 3.2): tag values only, version and ip, the configs it holds."""
    request = v1.HeartBeatRequest(
        request_id="aGVhcnRiZWF0MTcwMDAwMDAwMA==",
        agent_id=agent_id,
        agent_type="iLogtail",
        attributes=v1.AgentAttributes(version="1.8.8", ip="10.0.0.2"),
        tags=["prod", "a"],
        interval=10,
        pipeline_configs=[
            v1.ConfigInfo(name="c", version=2),
            v1.ConfigInfo(name="old", version=1, context="x"),
        ],
    )
    for name, value in fields.items():
        request.ClearField(name)  # type: ignore[arg-type]
        field = getattr(request, name)
        if isinstance(value, list):
            field.extend(value)
        else:
            setattr(request, name, value)
    return request


def v1_fetch(agent_id: str = V1_ID) -> v1.FetchPipelineConfigRequest:
    return v1.FetchPipelineConfigRequest(
        request_id="MkM1RjM5Q0JfMTcwMDAwMDAwMA==",
        agent_id=agent_id,
        req_configs=[v1.ConfigInfo(name="c", version=2), v1.ConfigInfo(name="old", version=1, context="x")],
    )


SEEDS: dict[str, Message] = {
    "v2.Heartbeat": v2_heartbeat(),
    "v2.FetchPipelineConfig": v2_fetch(),
    "v2.FetchInstanceConfig": v2_fetch(),
    "v1.HeartBeat": v1_heartbeat(),
    "v1.FetchPipelineConfig": v1_fetch(),
    "v1.FetchAgentConfig": v1.FetchAgentConfigRequest(
        request_id="ZmV0Y2g=",
        agent_id=V1_ID,
        attributes=v1.AgentAttributes(version="1.8.8", ip="10.0.0.2", extras={"k": "v"}),
        req_configs=[v1.ConfigInfo(type=v1.AGENT_CONFIG, name="a", version=3)],
    ),
}


def rpc_key(rpc: Rpc) -> str:
    return f"{rpc.service[-2:].lower()}.{rpc.name}"


# The server.


@dataclass
class Target:
    server: ServerThread
    store: Backend
    main: HttpClient  # alpha and v2
    v1: HttpClient  # the iLogtail listener

    def client(self, rpc: Rpc) -> HttpClient:
        return self.v1 if rpc.listener == "v1" else self.main


def open_target(server: ServerThread, store: Backend) -> Target:
    assert server.server is not None and server.server.http_v1 is not None
    return Target(server, store, HttpClient(server.http_port), HttpClient(server.server.http_v1.port))


def seed_catalog(target: Target) -> None:
    """A group matching both seed agents (v1 tags are values: "prod" matches env=prod), a pipeline config with
    history, an instance config, both applied; then both seed agents registered."""
    main = target.main
    calls: list[tuple[str, dict[str, Any]]] = [
        (
            "CreateAgentGroup",
            {"agent_group": {"group_name": "g", "tags": [{"name": "env", "value": "prod"}]}},
        ),
        ("CreateConfig", {"config_detail": {"config_name": "c", "content": PIPELINE_CONTENT}}),
        ("UpdateConfig", {"config_detail": {"config_name": "c", "content": PIPELINE_CONTENT + " "}}),
        (
            "CreateConfig",
            {"config_detail": {"config_name": "inst", "content": '{"a": 1}', "kind": "INSTANCE"}},
        ),
        ("ApplyConfigToAgentGroup", {"group_name": "g", "config_name": "c"}),
        ("ApplyConfigToAgentGroup", {"group_name": "g", "config_name": "inst"}),
    ]
    for name, fields in calls:
        expect(main.call(name, make(name, **fields)), "Accept")
    assert send(target, "v2.Heartbeat", v2_heartbeat()).status == 200
    assert send(target, "v1.HeartBeat", v1_heartbeat()).status == 200


@pytest.fixture
def target(store: Backend) -> Iterator[Target]:
    with running_server(store.url, v1_http_port=0) as server:
        chosen = open_target(server, store)
        seed_catalog(chosen)
        yield chosen


# What is stored.

CATALOG_QUERIES = (
    "SELECT name, description, tags FROM agent_groups ORDER BY name",
    "SELECT name, agent_type, description, content, version, deleted, kind FROM configs ORDER BY name",
    "SELECT group_name, config_name FROM applied_configs ORDER BY group_name, config_name",
    "SELECT name, version, action, kind, content FROM config_revisions ORDER BY name, version",
)


def catalog(store: Backend) -> list[list[tuple[Any, ...]]]:
    """Groups, configs, bindings and config history, as stored."""
    return [store.query(statement) for statement in CATALOG_QUERIES]


def stored(store: Backend) -> list[list[tuple[Any, ...]]]:
    """The catalog and the set of agents, as stored."""
    return [*catalog(store), store.query("SELECT agent_id FROM agents ORDER BY agent_id")]


# Sending and reading.


def send(
    target: Target,
    rpc_name: str,
    request: Message | bytes,
    headers: dict[str, str] | None = None,
) -> HttpReply:
    """POST `request` to the RPC's path on its own listener."""
    rpc = RPC_BY_NAME[rpc_name]
    body = request if isinstance(request, bytes) else request.SerializeToString()
    return target.client(rpc).request("POST", rpc.http_path, body, headers or PROTOBUF)


def answer(rpc: Rpc, reply: HttpReply, as_json: bool = False) -> Any:
    """The reply's body as the RPC's response message (raises if it is not one)."""
    response = rpc.response()
    if as_json:
        json_format.Parse(reply.body, response)
    else:
        response.ParseFromString(reply.body)
    return response


def check_answer(rpc: Rpc, reply: HttpReply, sent: bytes, as_json: bool) -> None:
    """Below 500; the RPC's own answer; a refusal marked as one; an acceptance echoes the request_id."""
    assert reply.status < 500, (reply.status, sent)
    response = answer(rpc, reply, as_json)
    v2_rpc = rpc.listener != "v1"
    if reply.status != 200:
        if v2_rpc:
            assert response.common_response.status == 1, (reply.status, response, sent)
            assert response.common_response.errorMessage, sent
        else:
            assert response.code in (v1.INVALID_PARAMETER, v1.INTERNAL_SERVER_ERROR), (response, sent)
            assert response.message, sent
        return
    request = rpc.request()
    if not sent:
        pass  # an empty body is the empty request
    elif as_json:
        json_format.Parse(sent, request)
    else:
        request.ParseFromString(sent)
    assert response.request_id == getattr(request, "request_id"), (response, sent)  # noqa: B009
    if v2_rpc:
        assert response.common_response.status == 0, (response, sent)
    else:
        assert response.code == v1.ACCEPT, (response, sent)


def refused(rpc_name: str, reply: HttpReply, status: int, request_id: str | bytes | None = None) -> Any:
    """A refusal with `status`, answered with the RPC's decodable response, `request_id` echoed if given."""
    rpc = RPC_BY_NAME[rpc_name]
    assert reply.status == status, (reply.status, reply.body)
    response = answer(rpc, reply)
    if rpc.listener == "v1":
        assert response.code == v1.INVALID_PARAMETER, response
        assert response.message, response
    else:
        assert response.common_response.status == 1, response
        assert response.common_response.errorMessage, response
    if request_id is not None:
        assert response.request_id == request_id, response
    return response


# 1. Fuzz.


def protobuf_bodies(rpc: Rpc) -> st.SearchStrategy[bytes]:
    return st.one_of(mutated(SEEDS[rpc_key(rpc)].SerializeToString()), st.binary(max_size=256))


def json_bodies(rpc: Rpc) -> st.SearchStrategy[bytes]:
    seed = json.loads(json_format.MessageToJson(SEEDS[rpc_key(rpc)]))
    names = list(seed) + [field.json_name for field in rpc.request.DESCRIPTOR.fields]
    documents = st.dictionaries(st.sampled_from(names) | st.text(max_size=8), json_values, max_size=6)
    variants = st.fixed_dictionaries({}, optional={name: json_values for name in seed}).map(
        lambda changes: json.dumps({**seed, **changes}).encode()
    )
    return st.one_of(
        documents.map(lambda document: json.dumps(document).encode()),
        variants,
        mutated(json.dumps(seed).encode()),
    )


@pytest.mark.parametrize("body_format", ["protobuf", "json"])
@pytest.mark.parametrize("rpc", AGENT_RPCS, ids=rpc_key)
def test_fuzzed_bodies(target: Target, rpc: Rpc, body_format: str) -> None:
    client = target.client(rpc)
    as_json = body_format == "json"
    before = catalog(target.store)
    content_types = (
        st.just("application/json")
        if as_json
        else st.sampled_from(["application/x-protobuf", "", "application/x-protouf"])
    )

    @given(body=json_bodies(rpc) if as_json else protobuf_bodies(rpc), content_type=content_types)
    def check(body: bytes, content_type: str) -> None:
        headers = {"Content-Type": content_type} if content_type else {}
        reply = client.request("POST", rpc.http_path, body, headers)
        check_answer(rpc, reply, body, as_json)

    check()
    assert catalog(target.store) == before
    for name, fields in (("ListAgents", {"group_name": "g"}), ("GetConfigStatus", {"config_name": "c"})):
        expect(target.main.call(name, make(name, **fields)), "Accept")  # what agents reported still reads


# 2. Targeted hostile input.

CONTROL_CHARACTERS = [
    b"a\x00b",
    b"a\x01b",
    b"a\nb",
    b"a\x1b[31mb",
    b"a\x7fb",
    b"a\xc2\x85b",
    b"a\xe2\x80\xa8b",
]


BAD_INSTANCE_IDS = [b"", b"x" * 257, "é".encode() * 129, *CONTROL_CHARACTERS]
"""Empty, over 256 bytes (ASCII, and 258 UTF-8 bytes in 129 characters), control characters (C0, DEL, C1,
the line separator)."""


def test_v2_heartbeat_with_a_bad_instance_id_is_refused(target: Target) -> None:
    before = stored(target.store)
    for instance_id in BAD_INSTANCE_IDS:
        request = v2_heartbeat(instance_id)
        reply = send(target, "v2.Heartbeat", request)
        refused("v2.Heartbeat", reply, 400, request.request_id)
        assert stored(target.store) == before, instance_id


def test_v2_heartbeat_with_an_instance_id_not_utf8_is_refused(target: Target) -> None:
    before = stored(target.store)
    for instance_id in (b"bad-\xff", b"bad-\xfe", b"\xc3\x28"):
        request = v2_heartbeat(instance_id)
        refused("v2.Heartbeat", send(target, "v2.Heartbeat", request), 400, request.request_id)
    assert stored(target.store) == before


def test_v2_heartbeat_at_the_limits_is_accepted(target: Target) -> None:
    """256 bytes of id, 64 tags: served, and the agent registered under its id."""
    instance_id = b"x" * 256
    tags = [v2.AgentGroupTag(name=f"k{index:02}", value="v") for index in range(64)]
    request = v2_heartbeat(instance_id, tags=tags)
    reply = send(target, "v2.Heartbeat", request)
    assert reply.status == 200, answer(RPC_BY_NAME["v2.Heartbeat"], reply)
    assert answer(RPC_BY_NAME["v2.Heartbeat"], reply).request_id == request.request_id
    assert ("x" * 256,) in target.store.query("SELECT agent_id FROM agents")


def too_many_configs(kind: str) -> dict[str, Any]:
    return {kind: [v2.ConfigInfo(name=f"c{index}", version=1) for index in range(10_001)]}


BAD_V2_TAGS = [
    [v2.AgentGroupTag(name=f"k{index:02}", value="v") for index in range(65)],
    [v2.AgentGroupTag(name="", value="v")],
    [v2.AgentGroupTag(name="k\x01", value="v")],
    [v2.AgentGroupTag(name="k", value="v\x00")],
    [v2.AgentGroupTag(name="k" * 257, value="v")],
    [v2.AgentGroupTag(name="k", value="v" * 257)],
]
"""65 tags (the limit is 64); a tag without a name; control characters; names and values over 256 bytes."""


def test_v2_heartbeat_with_bad_tags_is_refused(target: Target) -> None:
    before = stored(target.store)
    for tags in BAD_V2_TAGS:
        request = v2_heartbeat(b"NEW-AGENT_10.0.0.9_1700000000", tags=tags)
        refused("v2.Heartbeat", send(target, "v2.Heartbeat", request), 400, request.request_id)
        assert stored(target.store) == before, tags[:2]


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param(
            too_many_configs("continuous_pipeline_configs"),
            id="10001-pipeline-configs",
        ),
        pytest.param(
            too_many_configs("instance_configs"),
            id="10001-instance-configs",
        ),
    ],
)
def test_v2_heartbeat_over_the_limits_is_refused(target: Target, fields: dict[str, Any]) -> None:
    before = stored(target.store)
    request = v2_heartbeat(b"NEW-AGENT_10.0.0.9_1700000000", **fields)
    refused("v2.Heartbeat", send(target, "v2.Heartbeat", request), 400, request.request_id)
    assert stored(target.store) == before


def configured_version(target: Target, name: str) -> int:
    version: int = target.main.call(
        "GetConfig", make("GetConfig", config_name=name)
    ).response.config_detail.version
    return version


def test_v2_heartbeat_with_an_odd_version_gets_the_config_again(target: Target) -> None:
    """A version no config has (0 is reserved; -1 alone means removed; the int64 extremes) is answered with
    the config at its version; what the agent reported stays readable."""
    before = catalog(target.store)
    wanted = {"c": configured_version(target, "c") + 1, "inst": configured_version(target, "inst") + 1}
    for version in (0, -5, 2**63 - 1, -(2**63)):
        request = v2_heartbeat(
            f"ODD-{version}_10.0.0.3_1700000000".encode(),
            continuous_pipeline_configs=[v2.ConfigInfo(name="c", version=version, status=v2.APPLIED)],
            instance_configs=[v2.ConfigInfo(name="inst", version=version, status=v2.FAILED)],
        )
        reply = send(target, "v2.Heartbeat", request)
        assert reply.status == 200, version
        response = answer(RPC_BY_NAME["v2.Heartbeat"], reply)
        assert response.request_id == request.request_id
        updates = {(u.name, u.version, bool(u.detail)) for u in response.continuous_pipeline_config_updates}
        assert updates == {("c", wanted["c"], True)}, version
        instances = {(u.name, u.version, bool(u.detail)) for u in response.instance_config_updates}
        assert instances == {("inst", wanted["inst"], True)}, version
    assert catalog(target.store) == before
    for name, fields in (("ListAgents", {"group_name": "g"}), ("GetConfigStatus", {"config_name": "c"})):
        expect(target.main.call(name, make(name, **fields)), "Accept")


def check_v1_odd_versions(target: Target, versions: tuple[int, ...]) -> None:
    before = catalog(target.store)
    wanted = configured_version(target, "c") + 1
    for version in versions:
        request = v1_heartbeat(
            f"ODD-V1-{version}", pipeline_configs=[v1.ConfigInfo(name="c", version=version)]
        )
        reply = send(target, "v1.HeartBeat", request)
        assert reply.status == 200, version
        response = answer(RPC_BY_NAME["v1.HeartBeat"], reply)
        assert response.request_id == request.request_id
        checks = {
            (c.name, c.old_version, c.new_version, c.check_status) for c in response.pipeline_check_results
        }
        assert checks == {("c", version, wanted, v1.MODIFIED)}, version
    assert catalog(target.store) == before
    for name, fields in (("ListAgents", {"group_name": "g"}), ("GetConfigStatus", {"config_name": "c"})):
        expect(target.main.call(name, make(name, **fields)), "Accept")


def test_v1_heartbeat_with_an_odd_version_gets_the_config_again(target: Target) -> None:
    check_v1_odd_versions(target, (0, -5, 2**31, 2**63 - 1))


def test_v1_heartbeat_with_the_lowest_int64_version_keeps_list_agents_answering(target: Target) -> None:
    check_v1_odd_versions(target, (-(2**63),))


BAD_V1_HEARTBEATS: list[dict[str, Any]] = [
    {"agent_id": ""},
    {"agent_id": "x" * 257},
    *({"agent_id": value.decode()} for value in CONTROL_CHARACTERS),
    {"tags": [f"v{index}" for index in range(65)]},
    {"tags": ["v\x00"]},
    {"tags": ["v" * 257]},
]
"""Agent ids empty, over 256 bytes, with control characters; 65 tags (the limit is 64); tag values with
control characters, over 256 bytes. (An empty tag value is dropped, not refused: `tests/test_agents.py`.)"""


def check_v1_refusals(target: Target, cases: list[dict[str, Any]]) -> None:
    before = stored(target.store)
    for case in cases:
        fields = dict(case)
        request = v1_heartbeat(fields.pop("agent_id", "NEW-V1-AGENT"), **fields)
        refused("v1.HeartBeat", send(target, "v1.HeartBeat", request), 400, request.request_id)
        assert stored(target.store) == before, str(case)[:100]


def test_v1_heartbeat_with_bad_fields_is_refused(target: Target) -> None:
    check_v1_refusals(target, BAD_V1_HEARTBEATS)


def test_v1_heartbeat_with_too_many_configs_is_refused(target: Target) -> None:
    configs = [v1.ConfigInfo(name=f"c{index}", version=1) for index in range(10_001)]
    check_v1_refusals(target, [{"pipeline_configs": configs}])


def test_v1_strings_not_utf8_are_refused(target: Target) -> None:
    """v1 ids are proto3 strings: bytes that are not UTF-8 make the body undecodable."""
    before = stored(target.store)
    body = b"\x0a\x01r" + b"\x12\x05bad-\xff"  # request_id "r", agent_id b"bad-\xff"
    refused("v1.HeartBeat", send(target, "v1.HeartBeat", body), 400)
    refused("v1.FetchPipelineConfig", send(target, "v1.FetchPipelineConfig", body), 400)
    assert stored(target.store) == before


def test_fetch_for_an_unknown_agent_echoes_the_request_id(target: Target) -> None:
    before = stored(target.store)
    for rpc_name in ("v1.FetchPipelineConfig", "v2.FetchPipelineConfig", "v2.FetchInstanceConfig"):
        request: Message = v1_fetch("NOBODY") if rpc_name.startswith("v1") else v2_fetch(b"NOBODY")
        request_id = getattr(request, "request_id")  # noqa: B009
        response = refused(rpc_name, send(target, rpc_name, request), 404, request_id)
        if rpc_name.startswith("v1"):
            assert not response.config_details
        else:
            assert not response.continuous_pipeline_config_updates and not response.instance_config_updates
    assert stored(target.store) == before


def test_known_agents_fetch_what_they_are_assigned(target: Target) -> None:
    """The positive control of the refusals above: the seed agents' fetches answer their configs."""
    reply = send(target, "v1.FetchPipelineConfig", v1_fetch())
    assert reply.status == 200
    details = answer(RPC_BY_NAME["v1.FetchPipelineConfig"], reply).config_details
    assert {(detail.name, bool(detail.detail)) for detail in details} == {("c", True), ("old", False)}
    reply = send(target, "v2.FetchInstanceConfig", v2_fetch())
    assert reply.status == 200
    updates = answer(RPC_BY_NAME["v2.FetchInstanceConfig"], reply).instance_config_updates
    assert [(update.name, update.detail) for update in updates] == [("inst", b'{"a": 1}')]


# Routing: case-sensitive paths; each protocol on its own listener.


WRONG_CASE = [
    "/agent/heartbeat",
    "/Agent/HEARTBEAT",
    "/agent/Heartbeat",
    "/Agent/heartbeat",
    "/AGENT/Heartbeat",
]
NOT_ON_V1 = [
    "/User/ListConfigs",
    "/User/CreateConfig",
    "/Agent/RunningStatistics",
    "/Agent/Heartbeat",
    "/Agent/FetchInstanceConfig",
    "/agent/heartbeat",
]


def test_wrong_case_paths_are_not_found_on_the_main_listener(target: Target) -> None:
    before = stored(target.store)
    for path in WRONG_CASE:
        reply = target.main.request("POST", path, v2_heartbeat(b"CASE").SerializeToString(), PROTOBUF)
        assert reply.status == 404, path
        assert HttpClient.decode(None, reply).code == "BadRequest"
    assert stored(target.store) == before


def test_alpha_and_v2_paths_are_not_found_on_the_v1_listener(target: Target) -> None:
    before = stored(target.store)
    body = make("CreateConfig", config_detail={"config_name": "v1-sneak", "content": "x"}).SerializeToString()
    for path in NOT_ON_V1:
        reply = target.v1.request("POST", path, body, PROTOBUF)
        assert reply.status == 404, path
        assert HttpClient.decode(None, reply).code == "BadRequest"
    assert stored(target.store) == before


def test_v1_and_alpha_heartbeat_paths_stay_apart(target: Target) -> None:
    """`/Agent/HeartBeat` is alpha's on the main listener (even with a v1 body) and v1's on the v1 one."""
    body = v1_heartbeat("ALPHA-OR-V1").SerializeToString()
    reply = target.main.request("POST", "/Agent/HeartBeat", body, PROTOBUF)
    assert reply.status < 500
    alpha = answer(RPC_BY_NAME["HeartBeat"], reply)
    assert isinstance(alpha, agent_pb2.HeartBeatResponse)
    assert alpha.code and alpha.message, alpha
    alpha_reply = target.main.call("HeartBeat", make("HeartBeat", agent_id="alpha-agent"))
    expect(alpha_reply, "Accept")

    reply = target.v1.request("POST", "/Agent/HeartBeat", body, PROTOBUF)
    assert reply.status == 200
    response = answer(RPC_BY_NAME["v1.HeartBeat"], reply)
    assert response.request_id == "aGVhcnRiZWF0MTcwMDAwMDAwMA==" and response.code == v1.ACCEPT
    protocols = dict(target.store.query("SELECT agent_id, protocol FROM agents"))
    assert protocols["alpha-agent"] == "alpha"
    assert protocols["ALPHA-OR-V1"] == "v1"


# 3. The Agent API token.


@pytest.fixture
def guarded(store: Backend) -> Iterator[Target]:
    with running_server(store.url, agent_token="t", v1_http_port=0) as server:
        yield open_target(server, store)


def test_agent_token_guards_the_v1_and_v2_paths(guarded: Target) -> None:
    before = stored(guarded.store)
    for rpc in AGENT_RPCS:
        for authorization in (None, "Bearer wrong", "t", "Basic dDp0", "Bearer "):
            headers = {**PROTOBUF, **({"Authorization": authorization} if authorization else {})}
            reply = send(guarded, rpc_key(rpc), SEEDS[rpc_key(rpc)], headers)
            refused(rpc_key(rpc), reply, 401)
    assert stored(guarded.store) == before


def test_agent_token_lets_heartbeats_through(guarded: Target) -> None:
    headers = {**PROTOBUF, "Authorization": "Bearer t"}
    for rpc_name, request in (("v2.Heartbeat", v2_heartbeat()), ("v1.HeartBeat", v1_heartbeat())):
        reply = send(guarded, rpc_name, request, headers)
        assert reply.status == 200, reply.body
        response = answer(RPC_BY_NAME[rpc_name], reply)
        assert response.request_id == getattr(request, "request_id")  # noqa: B009
    agents = {row[0] for row in guarded.store.query("SELECT agent_id FROM agents")}
    assert {V2_ID.decode(), V1_ID} <= agents


# 4. Expect: 100-continue.


def read_head(stream: Any) -> tuple[int, dict[str, str]]:
    """A response's status and headers, read from a socket file."""
    status_line = stream.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    headers: dict[str, str] = {}
    while (line := stream.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers


def expect_continue(port: int, length: int, body: Callable[[], bytes] | None) -> tuple[int, float, bytes]:
    """POST a v2 heartbeat's head with `Expect: 100-continue` and wait; on 100 Continue send `body()`.
    The final status, the seconds until the first answer, and the final body."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        stream = connection.makefile("rb")
        head = (
            "POST /Agent/Heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n"
            f"Content-Type:application/x-protobuf\r\nContent-Length: {length}\r\nExpect: 100-continue\r\n\r\n"
        )
        started = time.monotonic()
        connection.sendall(head.encode())
        status, headers = read_head(stream)
        waited = time.monotonic() - started
        if status == 100:
            assert body is not None, "100 Continue for a body the server should refuse"
            connection.sendall(body())
            status, headers = read_head(stream)
        return status, waited, stream.read(int(headers.get("content-length", "0")))


def test_expect_continue_over_the_body_limit_is_refused_at_once(target: Target) -> None:
    before = stored(target.store)
    status, waited, body = expect_continue(target.main.port, target.server.settings.max_body_size + 1, None)
    assert status == 413
    assert waited < 2, "the 413 comes before any body is sent"
    response = v2.HeartbeatResponse.FromString(body)
    assert response.common_response.status == 1 and response.common_response.errorMessage
    assert stored(target.store) == before


def test_expect_continue_on_a_normal_heartbeat_is_served(target: Target) -> None:
    request = v2_heartbeat(b"CONTINUE_10.0.0.4_1700000000")
    body = request.SerializeToString()
    status, waited, answered = expect_continue(target.main.port, len(body), lambda: body)
    assert status == 200
    assert waited < 2, "100 Continue comes at once"
    response = v2.HeartbeatResponse.FromString(answered)
    assert response.request_id == request.request_id and response.common_response.status == 0
    assert ("CONTINUE_10.0.0.4_1700000000",) in target.store.query("SELECT agent_id FROM agents")
