"""TCP_NODELAY is set once per connection and stays set: Tornado's HTTP/1 connection turns Nagle's
algorithm off as each answer ends and on again after it (two system calls per request), which the HTTP
listener replaces on each of its streams (`http_gateway.server.RpcHttpServer`). This depends on how Tornado
does it: the test fails when Tornado no longer asks the stream (the replacement would be dead code), or asks
some other way (the replacement would no longer hold)."""

import socket

import pytest
from tornado.iostream import IOStream

from http_gateway import server as http_server
from tests.support import ServerThread, make, running_server

ANSWERS = 3


def test_nagle_stays_off_for_the_whole_connection(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[bool] = []
    monkeypatch.setattr(http_server, "_nodelay_kept", asked.append)
    body = make("HeartBeat", agent_id="a").SerializeToString()
    request = (
        f"POST /Agent/HeartBeat HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    )
    with (
        running_server(store_url) as server,
        socket.create_connection(("127.0.0.1", server.http_port)) as client,
    ):
        client.settimeout(10)
        for _ in range(ANSWERS):
            client.sendall(request)
            assert client.recv(65536).startswith(b"HTTP/1.1 200")
        stream = served_stream(server)
        assert stream.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), "Nagle's algorithm came back"
    assert len(asked) >= ANSWERS, (
        f"Tornado asked {len(asked)} times in {ANSWERS} answers: drop the replacement"
    )
    assert True in asked and False in asked, asked


def served_stream(server: ServerThread) -> IOStream:
    """The server side of the one connection open (Tornado's own bookkeeping)."""
    assert server.server is not None and server.server.http is not None
    (connection,) = vars(server.server.http._server)["_connections"]
    stream: IOStream = connection.stream
    return stream
