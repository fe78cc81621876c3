"""The bare handlers: the limit of the stack on this machine.

    python -m bench.bare http|http-delegate|grpc PORT ANSWERS_FILE WORKERS

A Tornado `RequestHandler` and a grpc.aio handler that only decode the request and answer fixed bytes: the
real server's own answer to the same request, so that the shape and size on the wire are the same. WORKERS
processes share the port (SO_REUSEPORT), like the server's --workers. `http-delegate` is the ceiling of
the server's own HTTP path: a bare `HTTPMessageDelegate` on Tornado's HTTP/1 connection, on uvloop, as the
server runs.
"""

import asyncio
import json
import os
import signal
import sys
from typing import Any

import grpc
import uvloop
from google.protobuf.message import Message
from tornado.httpserver import HTTPServer
from tornado.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    RequestStartLine,
    ResponseStartLine,
)
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from pipeline.rpcs import RPCS

Answers = dict[str, tuple[type[Message], bytes]]


def load_answers(path: str) -> Answers:
    """ANSWERS_FILE: a JSON object from HTTP path or gRPC method path to the answer's bytes, in hex."""
    main = [rpc for rpc in RPCS if not rpc.listener]  # the main HTTP listener's routes
    by_path = {rpc.http_path: rpc for rpc in main} | {rpc.grpc_path: rpc for rpc in RPCS}
    with open(path) as source:
        return {key: (by_path[key].request, bytes.fromhex(value)) for key, value in json.load(source).items()}


class BareHandler(RequestHandler):
    def initialize(self, answers: Answers) -> None:
        self._answers = answers

    def post(self) -> None:
        request_class, answer = self._answers[self.request.path]
        request_class.FromString(self.request.body)
        self.set_header("Content-Type", "application/x-protobuf")
        self.finish(answer)


async def serve_http(port: int, answers: Answers) -> None:
    server = HTTPServer(
        Application([(r"/.*", BareHandler, {"answers": answers})], log_function=lambda _: None)
    )
    server.add_sockets(bind_sockets(port, "127.0.0.1", reuse_port=True))
    await asyncio.Event().wait()


class BareExchange(HTTPMessageDelegate):
    def __init__(self, answers: Answers, connection: HTTPConnection) -> None:
        self._answers = answers
        self._connection = connection
        self._path = ""
        self._chunks: list[bytes] = []

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> None:
        assert isinstance(start_line, RequestStartLine)
        self._path = start_line.path

    def data_received(self, chunk: bytes) -> None:
        self._chunks.append(chunk)

    def finish(self) -> None:
        request_class, answer = self._answers[self._path]
        request_class.FromString(b"".join(self._chunks))
        headers = HTTPHeaders({"Content-Type": "application/x-protobuf", "Content-Length": str(len(answer))})
        self._connection.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK"), headers, answer)
        self._connection.finish()


class BareRouter(HTTPServerConnectionDelegate):
    def __init__(self, answers: Answers) -> None:
        self._answers = answers

    def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
        return BareExchange(self._answers, request_conn)


async def serve_http_delegate(port: int, answers: Answers) -> None:
    server = HTTPServer(BareRouter(answers))
    server.add_sockets(bind_sockets(port, "127.0.0.1", reuse_port=True))
    await asyncio.Event().wait()


async def serve_grpc(port: int, answers: Answers) -> None:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 1)])
    services: dict[str, dict[str, grpc.RpcMethodHandler[Any, Any]]] = {}
    for rpc in RPCS:
        if rpc.grpc_path not in answers:
            continue
        answer = answers[rpc.grpc_path][1]

        async def handle(request: Message, context: Any, answer: bytes = answer) -> bytes:
            return answer

        services.setdefault(rpc.service, {})[rpc.name] = grpc.unary_unary_rpc_method_handler(
            handle, request_deserializer=rpc.request.FromString, response_serializer=lambda data: data
        )
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(name, m) for name, m in services.items()]
    )
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def main() -> None:
    transport, port, answers_file, workers = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    serve = {"http": serve_http, "http-delegate": serve_http_delegate, "grpc": serve_grpc}[transport]
    children = []
    for _ in range(workers):  # fork before any gRPC object exists
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            loop_factory = uvloop.new_event_loop if transport == "http-delegate" else None
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(serve(port, load_answers(answers_file)))
            os._exit(0)
        children.append(pid)

    def stop(signum: int, frame: object) -> None:
        for child in children:
            os.kill(child, signal.SIGKILL)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    for _ in children:
        os.wait()


if __name__ == "__main__":
    main()
