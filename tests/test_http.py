"""The HTTP details the protocol document leaves open: URL forms, GET and POST for reads, query
parameters, body formats and content negotiation."""

import json

import pytest
from google.protobuf import json_format

from configserver.proto import user_pb2
from pipeline.rpcs import Rpc
from tests.support import ALPHA_RPCS, RPC_BY_NAME, HttpClient, expect, make


@pytest.mark.parametrize("rpc", ALPHA_RPCS, ids=lambda rpc: rpc.name)
def test_both_url_forms_reach_the_endpoint(http: HttpClient, rpc: Rpc) -> None:
    for path in (rpc.http_path, rpc.http_path + "/"):
        reply = http.request(rpc.http_methods[0], path, make(rpc.name, request_id="r").SerializeToString())
        decoded = HttpClient.decode(rpc, reply)
        assert reply.status in (200, 400), (path, decoded.message)  # 400: the empty request lacks a field
        assert decoded.response.response_id == "r"


def test_json_request_gets_json_answer(http: HttpClient) -> None:
    body = json.dumps({"requestId": "j1", "configDetail": {"configName": "c1", "content": "x"}})
    reply = http.request(
        "POST", "/User/CreateConfig", body.encode(), {"Content-Type": "application/json; charset=utf-8"}
    )
    assert (reply.status, reply.headers["Content-Type"]) == (200, "application/json")
    assert json.loads(reply.body) == {"responseId": "j1", "code": "Accept", "message": "Add config success"}
    proto_names = json.dumps({"request_id": "j2", "config_name": "c1"}).encode()
    reply = http.request("GET", "/User/GetConfig", proto_names, {"Content-Type": "application/json"})
    answer = json.loads(reply.body)
    assert answer["configDetail"]["configName"] == "c1"
    assert answer["responseId"] == "j2"


def test_a_json_field_the_message_lacks_is_refused_by_name(http: HttpClient) -> None:
    """A misspelt field would otherwise be dropped silently: here the agent would get no configs."""
    body = json.dumps({"requestId": "j1", "agentId": "a", "tag": {"env": "prod"}}).encode()
    reply = http.request("POST", "/Agent/HeartBeat", body, {"Content-Type": "application/json"})
    answer = json.loads(reply.body)
    assert (reply.status, answer["code"]) == (400, "BadRequest")
    assert answer["message"].startswith('Unknown field "tag" in HeartBeatRequest')
    nested = json.dumps({"configDetail": {"configName": "c", "content": "x", "agentTyp": "t"}}).encode()
    reply = http.request("POST", "/User/CreateConfig", nested, {"Content-Type": "application/json"})
    assert json.loads(reply.body)["message"].startswith(
        'Unknown field "agentTyp" in CreateConfigRequest.configDetail'
    )
    listed = http.request(
        "GET", "/User/ListConfigs", b'{"request_id": "r"}', {"Content-Type": "application/json"}
    )
    assert json.loads(listed.body)["configDetails"] == [], "nothing was created"


def test_json_sent_as_protobuf_is_told_to_set_the_content_type(http: HttpClient) -> None:
    reply = http.request("POST", "/User/CreateConfig", b'{"configDetail": {"configName": "c"}}')
    assert reply.status == 400
    assert "Content-Type: application/json" in HttpClient.decode(RPC_BY_NAME["CreateConfig"], reply).message


def test_protobuf_keeps_accepting_fields_it_does_not_know(http: HttpClient) -> None:
    """How a newer client talks to this server: field 99 of the request is skipped."""
    known = make("CreateConfig", request_id="p", config_detail={"config_name": "c", "content": "x"})
    reply = http.request("POST", "/User/CreateConfig", known.SerializeToString() + b"\xf8\x06\x01")
    assert reply.status == 200


def test_json_int64_and_maps(http: HttpClient) -> None:
    http.call("HeartBeat", make("HeartBeat", agent_id="a", startup_time=2**40, tags={"k": "v"}), json=True)
    reply = http.request(
        "POST", "/User/ListAgents", b'{"groupName": "default"}', {"Content-Type": "application/json"}
    )
    agent = json.loads(reply.body)["agents"][0]
    assert agent["startupTime"] == str(2**40)
    assert agent["tags"] == {"k": "v"}


@pytest.mark.parametrize(
    ("content_type", "accept", "answer_type"),
    [
        ("application/json", "", "application/json"),
        ("application/json", "application/x-protobuf", "application/x-protobuf"),
        ("application/json", "application/json, application/x-protobuf", "application/json"),
        ("application/x-protobuf", "application/json", "application/json"),
        ("application/x-protobuf", "*/*", "application/x-protobuf"),
        ("", "", "application/x-protobuf"),
        ("application/x-protouf", "", "application/x-protobuf"),
        ("text/plain", "", "application/x-protobuf"),
        ("application/octet-stream", "", "application/x-protobuf"),
    ],
)
def test_content_negotiation(http: HttpClient, content_type: str, accept: str, answer_type: str) -> None:
    request = make("GetAgentGroup", request_id="n1", group_name="default")
    is_json = content_type == "application/json"
    body = json_format.MessageToJson(request).encode() if is_json else request.SerializeToString()
    headers = {"Accept": accept} if accept else {}
    if content_type:
        headers["Content-Type"] = content_type
    reply = http.request("POST", "/User/GetAgentGroup", body, headers)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == answer_type
    decoded = HttpClient.decode(RPC_BY_NAME["GetAgentGroup"], reply, json=answer_type == "application/json")
    assert decoded.response.agent_group.group_name == "default"
    assert decoded.response.response_id == "n1"


def test_reads_answer_get_and_post_with_body_or_query(http: HttpClient) -> None:
    expect(
        http.call("CreateConfig", make("CreateConfig", config_detail={"config_name": "c1", "content": "x"})),
        "Accept",
    )
    for method in ("GET", "POST"):
        reply = http.call("GetConfig", make("GetConfig", config_name="c1"), method=method)
        assert expect(reply, "Accept").config_detail.config_name == "c1"
    for query in ("config_name=c1&request_id=q1", "configName=c1&requestId=q1&unknown=1"):
        raw = http.request("GET", f"/User/GetConfig?{query}")
        decoded = HttpClient.decode(RPC_BY_NAME["GetConfig"], raw)
        assert (raw.status, decoded.response.config_detail.content, decoded.response.response_id) == (
            200,
            "x",
            "q1",
        )
    raw = http.request("GET", "/User/GetConfig/?config_name=nope")
    expect(HttpClient.decode(RPC_BY_NAME["GetConfig"], raw), "ConfigNotExist")


def test_query_parameters_of_the_wrong_type(http: HttpClient) -> None:
    http.call("HeartBeat", make("HeartBeat", agent_id="a"))
    reply = http.request("POST", "/Agent/HeartBeat?agent_id=a&startup_time=soon")
    expect(HttpClient.decode(RPC_BY_NAME["HeartBeat"], reply), "BadRequest")


def test_error_answers_echo_the_request_id(http: HttpClient) -> None:
    reply = http.call("GetAgentGroup", user_pb2.GetAgentGroupRequest(request_id="e1", group_name="nope"))
    assert expect(reply, "AgentGroupNotExist").response_id == "e1"
    assert reply.message == "Agent group nope doesn't exist."
