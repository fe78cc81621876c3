"""The HTTP side of the request pipeline: route, method, body, then the pipeline; one place for errors.

Every answer, errors included, is the endpoint's own response message (a generic `ErrorResponse` for an
unknown path), built by its protocol's error answer: alpha's has `response_id` echoed when the body could
be decoded, `code` and a human `message`; v1's and v2's echo `request_id`, which their agents check.
Every refusal is raised, wherever it is found (the pipeline's, and the HTTP-only ones: 404 no such path,
405 wrong method, 413 body too large), and reaches `write_error`, the one place error answers are built.

A body over the limit is read and dropped, for at most `LINGER` seconds, before the 413 is sent, so that
the client is done sending and reads the answer instead of a connection reset (nginx's lingering close).
A client that waits for `100-continue` gets the 413 at once and never sends the body.
"""

import logging
from http import HTTPStatus
from typing import Any

from google.protobuf.message import Message
from tornado.http1connection import HTTP1Connection
from tornado.ioloop import IOLoop
from tornado.web import HTTPError, RequestHandler, stream_request_body

from configserver.proto import http_pb2
from core.errors import Code, ServiceError
from http_gateway import codec
from http_gateway.routes import Gateway
from http_gateway.status import HTTP_HEADERS, HTTP_STATUS
from pipeline.calls import ACCEPT, Call, Endpoint

log = logging.getLogger(__name__)

LINGER = 10.0
"""Seconds an oversized body is read and dropped before the 413 is sent regardless."""
UNBOUNDED = 1 << 62
"""The body limit while dropping an oversized body: time bounds it, not size."""


class HttpRefusal(ServiceError):
    """A refusal only HTTP has, with its own status and headers (code BadRequest)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(Code.BAD_REQUEST, message)
        self.status = status
        self.headers = headers or {}


@stream_request_body
class RpcHandler(RequestHandler):
    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")

    def initialize(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self._endpoint: Endpoint | None = None
        self._call: Call | None = None
        self._chunks: list[bytes] = []
        self._size = 0
        self._request_id: object = None
        self._json_in = False
        self._json_out = False
        self._oversized = False
        self._linger: object | None = None
        self._code = ""
        gateway.request_started()

    def prepare(self) -> None:
        headers = self.request.headers
        self._json_in = codec.is_json(headers.get("Content-Type", ""))
        self._json_out = codec.answers_json(self._json_in, headers.get("Accept", ""))
        path = self.request.path
        self._endpoint = endpoint = self._gateway.routes.get(path[:-1] if path.endswith("/") else path)
        if endpoint is None:
            raise HttpRefusal(404, f"No endpoint at {path}.")
        allowed = endpoint.rpc.http_methods
        if self.request.method not in allowed:
            raise HttpRefusal(
                405,
                f"{self.request.method} is not allowed here; use {', '.join(allowed)}.",
                {"Allow": ", ".join(allowed)},
            )
        self._call = self._gateway.pipeline.start(endpoint)
        self._call.authenticate(headers.get("Authorization"), self.request.remote_ip or "")
        if self._declared_length() > self._gateway.max_body_size:
            if headers.get("Expect", "").lower() == "100-continue":
                raise self._too_large()
            self._drop_body()
        self._call.admit()

    def _declared_length(self) -> int:
        try:
            return int(self.request.headers.get("Content-Length", "0"))
        except ValueError:
            return 0

    def _too_large(self) -> HttpRefusal:
        return HttpRefusal(
            413, f"The body exceeds {self._gateway.max_body_size} bytes.", {"Connection": "close"}
        )

    def _drop_body(self) -> None:
        """Read the rest of the body without keeping it, for at most LINGER seconds."""
        self._oversized = True
        self._chunks = []
        connection = self.request.connection
        if isinstance(connection, HTTP1Connection):
            connection.set_max_body_size(UNBOUNDED)
        self._linger = IOLoop.current().call_later(LINGER, self._stop_lingering)

    def _stop_lingering(self) -> None:
        if not self._finished:
            self._render(self._too_large())

    def data_received(self, chunk: bytes) -> None:
        if self._oversized:
            return
        self._size += len(chunk)
        if self._size > self._gateway.max_body_size:
            self._drop_body()
        else:
            self._chunks.append(chunk)

    async def _serve(self) -> None:
        if self._oversized:
            raise self._too_large()
        assert self._call is not None, "prepare started the call"
        response = await self._call.invoke(self._decode)
        self._answer(200, response, ACCEPT)

    get = post = put = delete = patch = head = options = _serve

    def _decode(self) -> Message:
        assert self._endpoint is not None
        request = self._endpoint.rpc.request()
        body = b"".join(self._chunks)
        if body:
            codec.decode(request, body, self._json_in)
        elif self.request.query_arguments:
            codec.decode_query(request, self.request.query_arguments)
        self._request_id = getattr(request, "request_id", None)
        return request

    def _answer(self, status: int, message: Message, code: str) -> None:
        body, content_type = codec.encode(message, self._json_out)
        self._code = code
        self.set_status(status)
        self.set_header("Content-Type", content_type)
        self.finish(body)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every refusal raised while handling the request, and Tornado's own errors, end here."""
        error = kwargs.get("exc_info", (None, None, None))[1]
        if not isinstance(error, ServiceError):
            if status_code == 405:
                error = HttpRefusal(405, f"{self.request.method} is not allowed here.")
            elif status_code < 500:
                error = HttpRefusal(status_code, HTTPStatus(status_code).phrase)
            else:
                error = ServiceError(Code.INTERNAL_SERVER_ERROR, "Internal server error.")
        self._render(error)

    def _render(self, error: ServiceError) -> None:
        """The one place error answers are built."""
        if isinstance(error, HttpRefusal):
            status, headers = error.status, error.headers
        else:
            status, headers = HTTP_STATUS[error.code], HTTP_HEADERS.get(error.code, {})
        for name, value in headers.items():
            self.set_header(name, value)
        if self._endpoint is not None:
            message = self._endpoint.refusal_answer(self._request_id, error)
        else:
            message = http_pb2.ErrorResponse(code=error.code.value, message=error.message)
        self._answer(status, message, error.code.value)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Refusals are answers, not failures; anything else raised here is a bug of the adapter."""
        if not isinstance(value, ServiceError | HTTPError):
            log.error("request failed", exc_info=(typ, value, tb), extra={"path": self.request.path})

    def on_finish(self) -> None:
        if self._linger is not None:
            IOLoop.current().remove_timeout(self._linger)
        if self._call is not None:
            self._call.finish(self._code)
        else:
            rpc_name = self._endpoint.rpc.name if self._endpoint else "unknown"
            self._gateway.pipeline.record(rpc_name, self._code, self.request.request_time())
        self._gateway.request_finished()
