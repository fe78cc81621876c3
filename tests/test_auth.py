"""Bearer tokens for the User API and the Agent API, on both transports; and the refusal to expose an
unauthenticated User API beyond loopback."""

import logging
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from pipeline.rpcs import Rpc
from tests.stores import Backend
from tests.support import (
    ALPHA_RPCS,
    GrpcClient,
    HttpClient,
    ServerProcess,
    ServerThread,
    expect,
    make,
    running_server,
)

USER, AGENT = "user-secret", "agent-secret"


@pytest.fixture
def guarded(store: Backend) -> Iterator[ServerThread]:
    with running_server(store.url, user_token=USER, agent_token=AGENT) as server:
        yield server


def token_for(rpc: Rpc) -> str:
    return USER if rpc.service.endswith("UserService") else AGENT


def sentinel(http: HttpClient) -> list[str]:
    reply = http.request("POST", "/User/ListConfigs", b"", {"Authorization": f"Bearer {USER}"})
    return [c.config_name for c in HttpClient.decode(ALPHA_RPCS[9], reply).response.config_details]


@pytest.mark.parametrize("rpc", ALPHA_RPCS, ids=lambda rpc: rpc.name)
def test_http_needs_the_right_token(guarded: ServerThread, rpc: Rpc) -> None:
    http = HttpClient(guarded.http_port)
    body = make("CreateConfig", config_detail={"config_name": "s", "content": "x"}).SerializeToString()
    assert http.request("POST", "/User/CreateConfig", body, {"Authorization": f"Bearer {USER}"}).status == 200
    wrong = AGENT if token_for(rpc) == USER else USER
    request = make(rpc.name, request_id="r").SerializeToString()
    for authorization in (
        None,
        "",
        "Bearer",
        f"Bearer {wrong}",
        f"Basic {token_for(rpc)}",
        f"Bearer {token_for(rpc)}x",
    ):
        headers = {} if authorization is None else {"Authorization": authorization}
        reply = http.request(rpc.http_methods[-1], rpc.http_path, request, headers)
        assert reply.status == 401, authorization
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
        assert HttpClient.decode(rpc, reply).code == "Unauthenticated"
    reply = http.request(
        rpc.http_methods[-1], rpc.http_path, request, {"Authorization": f"bearer {token_for(rpc)}"}
    )
    assert reply.status != 401
    assert sentinel(http) == ["s"]


def test_grpc_needs_the_right_token(guarded: ServerThread) -> None:
    client = GrpcClient(guarded.grpc_port)
    try:
        for rpc in ALPHA_RPCS:
            method = client.channel.unary_unary(
                rpc.grpc_path,
                request_serializer=rpc.request.SerializeToString,
                response_deserializer=rpc.response.FromString,
            )
            for metadata in ((), (("authorization", "Bearer nope"),)):
                with pytest.raises(grpc.aio.AioRpcError) as raised:
                    client.invoke(method, rpc.request(), metadata=metadata)
                assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED, rpc.name
            try:
                client.invoke(
                    method, rpc.request(), metadata=(("authorization", f"Bearer {token_for(rpc)}"),)
                )
            except grpc.aio.AioRpcError as error:
                assert error.code() != grpc.StatusCode.UNAUTHENTICATED, rpc.name
    finally:
        client.close()


def test_probes_need_no_token(guarded: ServerThread) -> None:
    http = HttpClient(guarded.http_port)
    assert http.request("GET", "/healthz").status == 200
    assert http.request("GET", "/readyz").status == 200


def test_an_open_agent_api_beside_a_guarded_user_api(store: Backend) -> None:
    with running_server(store.url, user_token=USER) as server:
        http = HttpClient(server.http_port)
        expect(http.call("HeartBeat", make("HeartBeat", agent_id="a")), "Accept")
        assert http.call("ListAgents", make("ListAgents", group_name="default")).code == "Unauthenticated"


def test_no_user_token_beyond_loopback_refuses_to_start(store: Backend, tmp_path: Path) -> None:
    server = ServerProcess(store.url)
    server.args[server.args.index("--http-listen") + 1] = f"0.0.0.0:{server.http_port}"
    code, log = server.run_to_exit()
    assert code == 1
    assert "without a token" in log and "--allow-unauthenticated-user-api" in log
    token_file = tmp_path / "user.token"
    token_file.write_text(USER + "\n")
    with ServerProcess(store.url, "--user-token-file", str(token_file)) as guarded:
        guarded.args[guarded.args.index("--http-listen") + 1] = f"0.0.0.0:{guarded.http_port}"
        guarded.start()
        http = HttpClient(guarded.http_port)
        assert http.call("ListConfigs", make("ListConfigs")).code == "Unauthenticated"
        reply = http.request("POST", "/User/ListConfigs", b"", {"Authorization": f"Bearer {USER}"})
        assert reply.status == 200
    with ServerProcess(store.url, "--allow-unauthenticated-user-api") as allowed:
        allowed.args[allowed.args.index("--http-listen") + 1] = f"0.0.0.0:{allowed.http_port}"
        allowed.start()
        assert HttpClient(allowed.http_port).call("ListConfigs", make("ListConfigs")).code == "Accept"


def test_tokens_from_the_environment(store: Backend) -> None:
    with ServerProcess(store.url, env={"CONFIGSERVER_AGENT_TOKEN": AGENT}).start() as server:
        http = HttpClient(server.http_port)
        assert http.call("HeartBeat", make("HeartBeat", agent_id="a")).code == "Unauthenticated"
        body = make("HeartBeat", agent_id="a").SerializeToString()
        assert (
            http.request("POST", "/Agent/HeartBeat", body, {"Authorization": f"Bearer {AGENT}"}).status == 200
        )


def test_an_agent_token_that_loongcollector_and_ilogtail_cannot_send_is_said_once(
    store: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither agent sends an Authorization header: with an agent token, their paths refuse them, which the
    start says once when those listeners are reachable beyond loopback."""
    caplog.set_level(logging.WARNING)
    with running_server(store.url, agent_token=AGENT, user_token=USER, http_host="0.0.0.0"):
        pass
    warned = [record for record in caplog.records if "cannot send it" in record.getMessage()]
    assert len(warned) == 1
    assert AGENT not in str(vars(warned[0])), "tokens are never logged"
    caplog.clear()
    with running_server(store.url, agent_token=AGENT):  # loopback only: a local proxy adds the header
        pass
    assert not [record for record in caplog.records if "cannot send it" in record.getMessage()]
