"""Overload: past the bound of requests in flight the server sheds at once (503 ServerBusy with
Retry-After, gRPC UNAVAILABLE); what waits on the store gets RequestTimeout instead of hanging, and is
not written; the other API keeps being served."""

import contextlib
import http.client
import threading
from collections import Counter
from collections.abc import Iterator

import grpc
import pytest

from configserver.proto import agent_pb2, service_pb2_grpc, user_pb2
from tests.stores import Backend
from tests.support import Client, GrpcClient, HttpClient, ServerThread, expect, make, running_server

LIMIT, TIMEOUT, CALLS = 4, 1.5, 12


@pytest.fixture
def bounded(store: Backend) -> Iterator[ServerThread]:
    with running_server(store.url, max_in_flight=LIMIT, request_timeout=TIMEOUT) as server:
        yield server


@pytest.fixture(params=["http", "grpc"])
def bounded_client(request: pytest.FixtureRequest, bounded: ServerThread) -> Iterator[Client]:
    if request.param == "http":
        yield HttpClient(bounded.http_port)
        return
    client = GrpcClient(bounded.grpc_port)
    yield client
    client.close()


def new_client(like: Client, server: ServerThread) -> Client:
    return HttpClient(server.http_port) if isinstance(like, HttpClient) else GrpcClient(server.grpc_port)


def test_writes_beyond_the_bound_are_shed_and_the_rest_time_out(
    store: Backend, bounded: ServerThread, bounded_client: Client
) -> None:
    expect(bounded_client.call("HeartBeat", make("HeartBeat", agent_id="known")), "Accept")
    expect(
        bounded_client.call(
            "CreateConfig", make("CreateConfig", config_detail={"config_name": "s", "content": "x"})
        ),
        "Accept",
    )
    codes: list[str] = []

    def write(index: int) -> None:
        client = new_client(bounded_client, bounded)
        request = make("CreateConfig", config_detail={"config_name": f"c{index}", "content": "x"})
        codes.append(client.call("CreateConfig", request).code)
        if isinstance(client, GrpcClient):
            client.close()

    with store.locked():
        writers = [threading.Thread(target=write, args=(index,)) for index in range(CALLS)]
        for writer in writers:
            writer.start()
        # The Agent API has its own bound: known agents are served while the User API is saturated.
        for _ in range(5):
            expect(bounded_client.call("HeartBeat", make("HeartBeat", agent_id="known")), "Accept")
            expect(bounded_client.call("GetConfigList", make("GetConfigList", agent_id="known")), "Accept")
        for writer in writers:
            writer.join()
    counted = Counter(codes)
    assert set(counted) == {"ServerBusy", "RequestTimeout"}, counted
    assert counted["RequestTimeout"] <= LIMIT
    listed = expect(bounded_client.call("ListConfigs", make("ListConfigs")), "Accept").config_details
    assert [config.config_name for config in listed] == ["s"], "nothing timed out was written"
    assert store.query("SELECT name FROM configs") == [("s",)]
    expect(
        bounded_client.call(
            "CreateConfig", make("CreateConfig", config_detail={"config_name": "t", "content": "x"})
        ),
        "Accept",
    )


def test_a_shed_http_request_says_when_to_retry(store: Backend, bounded: ServerThread) -> None:
    http = HttpClient(bounded.http_port)
    replies: list[tuple[int, str | None]] = []

    def write(index: int) -> None:
        body = make(
            "CreateConfig", config_detail={"config_name": f"c{index}", "content": "x"}
        ).SerializeToString()
        reply = http.request("POST", "/User/CreateConfig", body)
        replies.append((reply.status, reply.headers.get("Retry-After")))

    with store.locked():
        writers = [threading.Thread(target=write, args=(index,)) for index in range(CALLS)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
    shed = [retry for status, retry in replies if status == 503]
    assert shed, replies
    assert set(shed) == {"1"}


def test_a_timed_out_request_leaves_its_keep_alive_connection_serving(store: Backend) -> None:
    """A load balancer keeps upstream connections alive: the request after a RequestTimeout on the same
    connection is answered at once (on Python 3.12+, a deadline measured against the connection's own
    task once cancelled the connection instead of the call)."""
    create = make("CreateConfig", config_detail={"config_name": "c", "content": "x"}).SerializeToString()
    heartbeat = make("HeartBeat", agent_id="a").SerializeToString()
    with (
        running_server(store.url, request_timeout=1.0) as server,
        contextlib.closing(
            http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
        ) as connection,
    ):
        with store.locked():
            connection.request("POST", "/User/CreateConfig", create)
            reply = connection.getresponse()
            answer = user_pb2.CreateConfigResponse.FromString(reply.read())
        assert (reply.status, answer.code) == (500, "RequestTimeout")
        for _ in range(3):
            connection.request("POST", "/Agent/HeartBeat", heartbeat)
            reply = connection.getresponse()
            code = agent_pb2.HeartBeatResponse.FromString(reply.read()).code
            assert (reply.status, code) == (200, "Accept")


def create_with_deadline(server: ServerThread, transport: str, name: str, seconds: float) -> str:
    """CreateConfig `name` with a client deadline of `seconds`: the code the client sees."""
    request = make("CreateConfig", config_detail={"config_name": name, "content": "x"})
    if transport == "http":
        headers = {"Request-Timeout": str(seconds)}
        http = HttpClient(server.http_port, timeout=seconds + 5)  # the client waits a little longer itself
        reply = http.request("POST", "/User/CreateConfig", request.SerializeToString(), headers)
        return str(user_pb2.CreateConfigResponse.FromString(reply.body).code)
    client = GrpcClient(server.grpc_port)
    try:
        stub = service_pb2_grpc.UserServiceStub(client.channel)
        client.invoke(stub.CreateConfig, request, timeout=seconds)
        return "Accept"
    except grpc.aio.AioRpcError as error:
        return str(error.code())
    finally:
        client.close()


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_the_clients_deadline_bounds_the_store_work(store: Backend, transport: str) -> None:
    """A client that gives a write one second gets its answer (or its own deadline) then, and the write
    is not made later: the store work is bounded by the client's deadline, not the server's 30 s."""
    with running_server(store.url, request_timeout=30.0) as server:
        with store.locked():
            code = create_with_deadline(server, transport, "late", 1.0)
        assert code in ("RequestTimeout", "StatusCode.DEADLINE_EXCEEDED"), code
        # Queued behind whatever the store thread still does for "late": then "late" is settled.
        expect(HttpClient(server.http_port).call("CreateConfig", make("CreateConfig", config_detail={
            "config_name": "after", "content": "x"})), "Accept")  # fmt: skip
        assert store.query("SELECT name FROM configs ORDER BY name") == [("after",)]


def test_a_call_whose_deadline_has_passed_is_not_started(store: Backend) -> None:
    with running_server(store.url) as server:
        assert create_with_deadline(server, "http", "never", 0) == "RequestTimeout"
        assert store.query("SELECT name FROM configs") == []


@pytest.mark.parametrize("given", ["soon", "-1", "nan", "inf"])
def test_a_request_timeout_that_is_not_seconds_is_refused(store: Backend, given: str) -> None:
    with running_server(store.url) as server:
        body = make("ListConfigs").SerializeToString()
        reply = HttpClient(server.http_port).request(
            "POST", "/User/ListConfigs", body, {"Request-Timeout": given}
        )
        answer = user_pb2.ListConfigsResponse.FromString(reply.body)
        assert (reply.status, answer.code) == (400, "BadRequest")
        assert "Request-Timeout" in answer.message and given in answer.message
