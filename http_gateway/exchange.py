"""The HTTP side of the request pipeline, straight on Tornado's HTTP/1 connection: route, method, body,
then the pipeline; one place for errors.

`RpcRouter` is the listener's `HTTPServerConnectionDelegate`. Each request is routed once, when its headers
arrive, as Tornado's own `_RoutingDelegate` does (`Routed`): the paths of the `Application` (probes,
metrics, the console) to it, every other path to an `RpcExchange`, which serves the RPCs (and answers 404 for
a path nobody serves). Serving RPCs without `RequestHandler` is what keeps the agents' hot paths fast: a
RequestHandler builds a request object, parses cookies and arguments, runs transforms and computes an ETag
for every request, none of which an RPC uses.

A client may bound a call with the header `Request-Timeout: SECONDS` (a decimal number): its store work is
then bounded by the lesser of it and the server's `--request-timeout`, as a gRPC call's is by its deadline.

Every answer, errors included, is the endpoint's own response message (a generic `ErrorResponse` for an
unknown path), built by its protocol's error answer: alpha's has `response_id` echoed when the body could
be decoded, `code` and a human `message`; v1's and v2's echo `request_id`, which their agents check. Every
refusal is raised wherever it is found (the pipeline's, and the HTTP-only ones: 404 no such path, 405
wrong method, 413 body too large) and reaches `_refuse`, the one place error answers are built; anything
else raised is a bug, logged with its traceback and answered 500.

A body over the limit is read and dropped, for at most `LINGER` seconds, before the 413 is sent, so that
the client is done sending and reads the answer instead of a connection reset (nginx's lingering close).
A client that waits for `100-continue` gets the 413 at once and never sends the body.
"""

import asyncio
import logging
import math
import re
import time
from collections.abc import Awaitable, Sequence
from http.client import responses
from typing import Any

from google.protobuf.message import Message
from tornado import httputil
from tornado.escape import parse_qs_bytes
from tornado.http1connection import HTTP1Connection
from tornado.ioloop import IOLoop
from tornado.web import Application

from configserver.proto import http_pb2
from core import errors
from core.errors import Code, ServiceError
from http_gateway import codec, eager
from http_gateway.routes import Gateway
from http_gateway.status import HTTP_HEADERS, HTTP_STATUS
from pipeline.answers import AnyAnswer
from pipeline.calls import ACCEPT, Call, Endpoint, refusal

log = logging.getLogger(__name__)

LINGER = 10.0
"""Seconds an oversized body is read and dropped before the 413 is sent regardless."""
UNBOUNDED = 1 << 62
"""The body limit while dropping an oversized body: time bounds it, not size."""
CLOSED = "ClientClosedRequest"
"""The code counted for a request whose client went away before it was answered."""


class HttpRefusal(ServiceError):
    """A refusal only HTTP has, with its own status and headers (code BadRequest)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(Code.BAD_REQUEST, message)
        self.status = status
        self.headers = headers or {}


class HttpDate:
    """The Date header, formatted once a second rather than once a request."""

    def __init__(self) -> None:
        self._second = 0
        self._text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second, self._text = second, httputil.format_timestamp(second)
        return self._text


class RpcRouter(httputil.HTTPServerConnectionDelegate):
    """Every request of one listener: the application's paths to it, every other path to the pipeline."""

    def __init__(self, gateway: Gateway, application: Application, routes: Sequence[tuple[Any, ...]]) -> None:
        """`application` serves `routes` (path pattern first, as Tornado takes them); the router matches
        their patterns the way Tornado does, to know which paths to hand it."""
        self.gateway = gateway
        self.application = application
        self._application_paths = [re.compile(str(route[0]) + "$") for route in routes]
        self.date = HttpDate()

    def start_request(
        self, server_conn: object, request_conn: httputil.HTTPConnection
    ) -> httputil.HTTPMessageDelegate:
        return Routed(self, server_conn, request_conn)

    def served_by_application(self, path: str) -> bool:
        """Whether the application serves `path`, and no RPC does."""
        return path not in self.gateway.routes and any(
            pattern.match(path) for pattern in self._application_paths
        )

    def on_close(self, server_conn: object) -> None:
        self.application.on_close(server_conn)


class Routed(httputil.HTTPMessageDelegate):
    """One request, handed when its headers arrive to what serves its path; everything after goes there."""

    def __init__(self, router: RpcRouter, server_conn: object, request_conn: httputil.HTTPConnection) -> None:
        self._router = router
        self._server_conn = server_conn
        self._request_conn = request_conn
        self._target: httputil.HTTPMessageDelegate | None = None

    def headers_received(
        self,
        start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
        headers: httputil.HTTPHeaders,
    ) -> Awaitable[None] | None:
        assert isinstance(start_line, httputil.RequestStartLine), "a server reads requests"
        router = self._router
        if router.served_by_application(start_line.path.partition("?")[0]):
            self._target = router.application.start_request(self._server_conn, self._request_conn)
        else:
            self._target = RpcExchange(router, self._request_conn)
        return self._target.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        assert self._target is not None, "a body follows its headers"
        return self._target.data_received(chunk)

    def finish(self) -> None:
        assert self._target is not None, "a request ends after its headers"
        self._target.finish()

    def on_connection_close(self) -> None:
        if self._target is not None:  # Tornado tells only a delegate that received headers
            self._target.on_connection_close()


class RpcExchange(httputil.HTTPMessageDelegate):
    """One RPC request and its answer. `_end` runs exactly once for every request, when it is answered or
    its client goes away unanswered."""

    def __init__(self, router: RpcRouter, request_conn: httputil.HTTPConnection) -> None:
        self._router = router
        self._gateway = router.gateway
        self._conn = request_conn
        self._method = ""
        self._path = ""
        self._query = ""
        self._endpoint: Endpoint | None = None
        self._call: Call | None = None
        self._chunks: list[bytes] = []
        self._size = 0
        self._request_id: object = None
        self._json_in = False
        self._json_out = False
        self._oversized = False
        self._linger: object | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = 0.0
        self._ended = False

    # -- reading the request (called by the connection) --

    def headers_received(
        self,
        start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
        headers: httputil.HTTPHeaders,
    ) -> None:
        assert isinstance(start_line, httputil.RequestStartLine), "a server reads requests"
        path, _, self._query = start_line.path.partition("?")
        endpoint = self._gateway.routes.get(path[:-1] if path.endswith("/") else path)
        self._started = time.perf_counter()
        self._gateway.request_started()
        self._method, self._path, self._endpoint = start_line.method, path, endpoint
        try:
            self._open(headers)
        except Exception as error:
            self._refuse(refusal(error, self._rpc_name()))

    def _open(self, headers: httputil.HTTPHeaders) -> None:
        self._json_in = codec.is_json(headers.get("Content-Type", ""))
        self._json_out = codec.answers_json(self._json_in, headers.get("Accept", ""))
        endpoint = self._endpoint
        if endpoint is None:
            raise HttpRefusal(404, f"No endpoint at {self._path}.")
        allowed = endpoint.rpc.http_methods
        if self._method not in allowed:
            raise HttpRefusal(
                405,
                f"{self._method} is not allowed here; use {', '.join(allowed)}.",
                {"Allow": ", ".join(allowed)},
            )
        self._call = call = self._gateway.pipeline.start(endpoint, _timeout(headers))
        call.authenticate(headers.get("Authorization"), self._remote_ip())
        if _declared_length(headers) > self._gateway.max_body_size:
            if headers.get("Expect", "").lower() == "100-continue":
                raise self._too_large()
            self._drop_body()
        call.admit()

    def _remote_ip(self) -> str:
        context = getattr(self._conn, "context", None)
        return str(getattr(context, "remote_ip", "") or "")

    def data_received(self, chunk: bytes) -> None:
        if not (self._oversized or self._ended):
            self._size += len(chunk)
            if self._size > self._gateway.max_body_size:
                self._drop_body()
            else:
                self._chunks.append(chunk)

    def finish(self) -> None:
        if self._oversized:
            self._refuse(self._too_large())
        elif not self._ended:
            self._task = eager.start(self._serve())

    def on_connection_close(self) -> None:
        if self._task is None:  # a call waiting for the store answers (to nobody) and ends itself
            self._end(CLOSED, 0)

    # -- the body limit --

    def _too_large(self) -> HttpRefusal:
        return HttpRefusal(
            413, f"The body exceeds {self._gateway.max_body_size} bytes.", {"Connection": "close"}
        )

    def _drop_body(self) -> None:
        """Read the rest of the body without keeping it, for at most LINGER seconds."""
        self._oversized = True
        self._chunks = []
        if isinstance(self._conn, HTTP1Connection):
            self._conn.set_max_body_size(UNBOUNDED)
        self._linger = IOLoop.current().call_later(LINGER, self._stop_lingering)

    def _stop_lingering(self) -> None:
        self._linger = None
        self._refuse(self._too_large())

    # -- the call --

    async def _serve(self) -> None:
        call = self._call
        assert call is not None, "a request that reaches its body has a call"
        try:
            response = await call.invoke(self._decode)
            self._answer(200, response, ACCEPT)
        except Exception as error:
            self._refuse(refusal(error, self._rpc_name()))

    def _decode(self) -> Message:
        assert self._endpoint is not None
        request = self._endpoint.rpc.request()
        body = b"".join(self._chunks)
        if body:
            codec.decode(request, body, self._json_in)
        elif self._query:
            codec.decode_query(request, parse_qs_bytes(self._query, keep_blank_values=True))
        self._request_id = getattr(request, "request_id", None)
        return request

    # -- answering --

    def _rpc_name(self) -> str:
        return self._endpoint.rpc.name if self._endpoint else self._path

    def _refuse(self, error: ServiceError) -> None:
        """The one place error answers are built."""
        if isinstance(error, HttpRefusal):
            status, headers = error.status, error.headers
        else:
            status, headers = HTTP_STATUS[error.code], HTTP_HEADERS.get(error.code, {})
        if self._endpoint is not None:
            message = self._endpoint.refusal_answer(self._request_id, error)
        else:
            message = http_pb2.ErrorResponse(code=error.code.value, message=error.message)
        self._answer(status, message, error.code.value, headers)

    def _answer(
        self, status: int, message: AnyAnswer, code: str, extra: dict[str, str] | None = None
    ) -> None:
        if self._ended:
            return
        body, content_type = codec.encode(message, self._json_out)
        headers = httputil.HTTPHeaders(
            {"Content-Type": content_type, "Content-Length": str(len(body)), "Date": self._router.date.now()}
        )
        if extra:
            headers.update(extra)
        start_line = httputil.ResponseStartLine("HTTP/1.1", status, responses.get(status, "Unknown"))
        self._conn.write_headers(start_line, headers, b"" if self._method == "HEAD" else body)
        self._conn.finish()
        self._end(code, status)

    def _end(self, code: str, status: int) -> None:
        if self._ended:
            return
        self._ended = True
        if self._linger is not None:
            IOLoop.current().remove_timeout(self._linger)
            self._linger = None
        if self._call is not None:
            self._call.finish(code)
        else:
            rpc_name = self._endpoint.rpc.name if self._endpoint else "unknown"
            self._gateway.pipeline.record(rpc_name, code, time.perf_counter() - self._started)
        self._gateway.request_finished()
        if status >= 400:
            _log_refusal(self._path, status)


def _timeout(headers: httputil.HTTPHeaders) -> float | None:
    """The seconds the client gives the call (`Request-Timeout`), None when it says nothing."""
    given = headers.get("Request-Timeout")
    if given is None:
        return None
    try:
        seconds = float(given)
    except ValueError:
        seconds = math.nan
    if not seconds >= 0 or math.isinf(seconds):
        raise errors.bad_request(
            f"Request-Timeout must be the seconds the call may take, a number of at least 0; got {given!r}."
        )
    return seconds


def _declared_length(headers: httputil.HTTPHeaders) -> int:
    try:
        return int(headers.get("Content-Length", "0"))
    except ValueError:
        return 0


def _log_refusal(path: str, status: int) -> None:
    """One line per failed request (status 400 and above); successful ones are counted, never logged at
    INFO."""
    if status >= 500:
        log.error("http request failed", extra={"path": path, "status": status})
    else:
        log.debug("http request refused", extra={"path": path, "status": status})
