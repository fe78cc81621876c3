"""Test support: a real server on free loopback ports, and one client interface over both transports.

`Reply` is what a call looks like from the outside, whatever the transport: the protocol code, the
message, the decoded response (gRPC has none on failure) and the transport's own status.
"""

import asyncio
import http.client
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from configserver.proto import http_pb2, service_pb2_grpc
from configserverd.app import ConfigServer
from configserverd.cli import command
from configserverd.flags import Flags
from configserverd.settings import Settings
from grpc_service.status import CODE_METADATA_KEY
from pipeline.rpcs import RPCS, Rpc

ALPHA_RPCS = tuple(rpc for rpc in RPCS if not rpc.service.endswith(("V1", "V2")))
"""The alpha protocol's RPCs (User API and Agent API): those whose answers carry response_id and code."""
RPC_BY_NAME: dict[str, Rpc] = {
    **{rpc.name: rpc for rpc in ALPHA_RPCS},
    **{f"{rpc.service[-2:].lower()}.{rpc.name}": rpc for rpc in RPCS if rpc not in ALPHA_RPCS},
}
"""Alpha RPCs by name; v1 and v2 ones as v1.HeartBeat, v2.Heartbeat (their names collide with alpha's)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Reply:
    code: str
    message: str
    response: Any  # the decoded response message, or None
    status: Any  # HTTP status (int) or grpc.StatusCode


class Client(Protocol):
    name: str

    def call(self, rpc_name: str, request: Message) -> Reply: ...


@dataclass
class HttpReply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


class HttpClient:
    """A plain HTTP/1.1 client (http.client), one connection per request."""

    name = "http"

    def __init__(self, port: int, timeout: float = 30) -> None:
        self.port = port
        self.timeout = timeout

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> HttpReply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return HttpReply(response.status, response.headers, response.read())
        finally:
            connection.close()

    def call(self, rpc_name: str, request: Message, json: bool = False, method: str | None = None) -> Reply:
        rpc = RPC_BY_NAME[rpc_name]
        if json:
            body = json_format.MessageToJson(request).encode()
            headers = {"Content-Type": "application/json"}
        else:
            body, headers = request.SerializeToString(), {"Content-Type": "application/x-protobuf"}
        reply = self.request(method or rpc.http_method, rpc.http_path, body, headers)
        return self.decode(rpc, reply, json)

    @staticmethod
    def decode(rpc: Rpc | None, reply: HttpReply, json: bool = False) -> Reply:
        response = rpc.response() if rpc else http_pb2.ErrorResponse()
        if json:
            json_format.Parse(reply.body, response)
        else:
            response.ParseFromString(reply.body)
        return Reply(response.code, response.message, response, reply.status)  # type: ignore[attr-defined]


class GrpcClient:
    """The official grpc.aio client through the generated stubs, on a loop of its own."""

    name = "grpc"

    def __init__(self, port: int) -> None:
        self._loop = asyncio.new_event_loop()
        self._channel = self._loop.run_until_complete(self._open(port))
        self._stubs = {
            "configserver.proto.UserService": service_pb2_grpc.UserServiceStub(self._channel),
            "configserver.proto.AgentService": service_pb2_grpc.AgentServiceStub(self._channel),
        }

    @staticmethod
    async def _open(port: int) -> grpc.aio.Channel:
        return grpc.aio.insecure_channel(f"127.0.0.1:{port}")

    @property
    def channel(self) -> grpc.aio.Channel:
        return self._channel

    def run(self, coroutine: Any) -> Any:
        return self._loop.run_until_complete(coroutine)

    def invoke(self, method: Any, request: Any, timeout: float = 30, metadata: Any = ()) -> Any:
        """Call a unary method on this client's loop (grpc.aio calls must start inside their loop)."""

        async def call() -> Any:
            return await method(request, timeout=timeout, metadata=metadata)

        return self.run(call())

    def call(self, rpc_name: str, request: Message) -> Reply:
        rpc = RPC_BY_NAME[rpc_name]
        method = getattr(self._stubs[rpc.service], rpc.name)
        try:
            response = self.invoke(method, request)
        except grpc.aio.AioRpcError as error:
            metadata: dict[str, Any] = dict(error.trailing_metadata() or ())  # type: ignore[arg-type]
            return Reply(str(metadata.get(CODE_METADATA_KEY, "")), error.details() or "", None, error.code())
        return Reply(response.code, response.message, response, grpc.StatusCode.OK)

    def close(self) -> None:
        self.run(self._channel.close(None))
        self._loop.close()


class ServerThread:
    """A real ConfigServer, in this process, on its own thread and loop, on free loopback ports."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server: ConfigServer | None = None
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="test-server", daemon=True)

    def _run(self) -> None:
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        try:
            async with ConfigServer(self.settings) as server:
                self.server = server
                self._ready.set()
                await self._stop.wait()
        except BaseException as error:
            self._failure = error
            self._ready.set()

    def __enter__(self) -> "ServerThread":
        self._thread.start()
        self._ready.wait(30)
        if self._failure is not None:
            raise self._failure
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        if self._failure is not None:
            raise self._failure

    def run(self, coroutine: Any) -> Any:
        """Run a coroutine on the server's loop (to reach the core as the HTTP gateway does)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(30)

    @property
    def http_port(self) -> int:
        assert self.server is not None and self.server.http is not None
        return self.server.http.port

    @property
    def grpc_port(self) -> int:
        assert self.server is not None and self.server.grpc is not None
        return self.server.grpc.port


def settings_for(store_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"http_port": 0, "grpc_port": 0, "store_url": store_url, "grace_period": 2.0}
    values.update(overrides)
    return Settings(**values)


@contextmanager
def running_server(store_url: str, **overrides: Any) -> Iterator[ServerThread]:
    with ServerThread(settings_for(store_url, **overrides)) as server:
        yield server


def parse_flags(*argv: str) -> Flags:
    """The flags of `configserver ARGV` in this environment, parsed by the command without running it."""
    with command.make_context("configserver", list(argv)) as context:
        return Flags(**context.params)


def make(rpc_name: str, **fields: Any) -> Message:
    """A request of `rpc_name` from proto field names (nested messages as dicts)."""
    return json_format.ParseDict(fields, RPC_BY_NAME[rpc_name].request())


def expect(reply: Reply, code: str) -> Any:
    """Assert the protocol code and the transport status the protocol maps it to; return the response."""
    from core.errors import Code
    from grpc_service.status import GRPC_STATUS
    from http_gateway.status import HTTP_STATUS

    assert reply.code == code, f"expected {code}, got {reply.code}: {reply.message}"
    mapped = HTTP_STATUS[Code(code)] if isinstance(reply.status, int) else GRPC_STATUS[Code(code)]
    assert reply.status == mapped, f"{code}: expected status {mapped}, got {reply.status}"
    assert reply.message, "every answer carries a human message"
    return reply.response


class ServerProcess:
    """The `configserver` command in a child process, on free ports; for signals and kill -9."""

    def __init__(self, store_url: str, *extra_args: str, env: dict[str, str] | None = None) -> None:
        import os
        import sys

        self.http_port, self.grpc_port = free_port(), free_port()
        self.args = [
            sys.executable,
            "-c",
            "from configserverd import cli; cli.main()",
            "--http-listen",
            f"127.0.0.1:{self.http_port}",
            "--grpc-listen",
            f"127.0.0.1:{self.grpc_port}",
            "--store",
            store_url,
            *extra_args,
        ]
        self.env = {**os.environ, **(env or {})}
        self.process: Any = None

    def start(self) -> "ServerProcess":
        import subprocess
        import time

        self.process = subprocess.Popen(self.args, env=self.env, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stderr.read()}")
            try:
                with socket.create_connection(("127.0.0.1", self.http_port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        self.process.kill()
        raise RuntimeError("server did not start")

    def run_to_exit(self, timeout: float = 30) -> tuple[int, str]:
        """Run a server expected to refuse to start: its exit code and what it logged."""
        import subprocess

        self.process = subprocess.Popen(self.args, env=self.env, stderr=subprocess.PIPE, text=True)
        _, log = self.process.communicate(timeout=timeout)
        return self.process.returncode, log

    def stop(self, signum: int, timeout: float = 30) -> tuple[int, str]:
        """Send `signum`, wait for the exit; the exit code and what the server logged."""
        self.process.send_signal(signum)
        code = self.process.wait(timeout)
        return code, self.process.stderr.read()

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process is not None:
            self.process.stderr.close()


@contextmanager
def connected(server: ServerThread, transport: str) -> Iterator[Client]:
    """A client of `server` over `transport` ("http" or "grpc"), closed on exit."""
    if transport == "http":
        yield HttpClient(server.http_port)
        return
    client = GrpcClient(server.grpc_port)
    try:
        yield client
    finally:
        client.close()
