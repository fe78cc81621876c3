"""The one request handler: route lookup, limits, decode, call the core, encode, map errors.

Every answer, errors included, is the endpoint's own response message (a generic `ErrorResponse` for an
unknown path) with `response_id` echoed when the body could be decoded, `code` and a human `message`.
`_answer_error` is the one place error bodies are built; Tornado's own errors (an unknown HTTP method)
reach it through `write_error`.
"""

import logging
from http import HTTPStatus
from typing import Any

from google.protobuf.message import Message
from tornado.web import RequestHandler, stream_request_body

from configserver.proto import http_pb2
from core.errors import Code, ServiceError
from http_gateway import codec
from http_gateway.routes import MAX_BODY_SIZE_CAP, Gateway, Route
from http_gateway.status import HTTP_STATUS
from pipeline import metrics
from pipeline.admission import RETRY_AFTER, Admission
from pipeline.rpcs import Rpc

log = logging.getLogger(__name__)


@stream_request_body
class RpcHandler(RequestHandler):
    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")

    def initialize(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self._route: Route | None = None
        self._chunks: list[bytes] = []
        self._size = 0
        self._request_id = ""
        self._json_in = False
        self._json_out = False
        self._oversized = False
        self._admitted = ""
        self._code = ""
        gateway.request_started()

    def prepare(self) -> None:
        gateway = self._gateway
        request = self.request
        headers = request.headers
        self._json_in = codec.is_json(headers.get("Content-Type", ""))
        self._json_out = codec.answers_json(self._json_in, headers.get("Accept", ""))
        path = request.path
        self._route = gateway.routes.get(path[:-1] if path.endswith("/") else path)
        if self._route is None:
            self._answer_error(404, Code.BAD_REQUEST, f"No endpoint at {path}.")
        elif request.method not in self._route.rpc.http_methods:
            allowed = ", ".join(self._route.rpc.http_methods)
            self.set_header("Allow", allowed)
            self._answer_error(405, Code.BAD_REQUEST, f"{request.method} is not allowed here; use {allowed}.")
        elif not gateway.tokens.allows(self._route.rpc, headers.get("Authorization")):
            self.set_header("WWW-Authenticate", 'Bearer realm="configserver"')
            self._answer_error(401, Code.UNAUTHENTICATED, "A valid bearer token is required.")
        elif self._declared_length() > gateway.max_body_size:
            # A client waiting for 100-continue never sends the body; one beyond the hard cap would be
            # cut by Tornado. Any other is read and dropped, so that the client is done sending and
            # reads the 413 instead of a reset.
            if (
                headers.get("Expect", "").lower() == "100-continue"
                or self._declared_length() > MAX_BODY_SIZE_CAP
            ):
                self._refuse_oversized()
            self._oversized = True
        else:
            self._admit(self._route.rpc)

    def _admit(self, rpc: Rpc) -> None:
        api = Admission.api(rpc)
        try:
            self._gateway.admission.enter(api)
        except ServiceError as busy:
            metrics.shed("http", api)
            self.set_header("Retry-After", str(RETRY_AFTER))
            self._answer_error(HTTP_STATUS[busy.code], busy.code, busy.message)
            return
        self._admitted = api

    def _declared_length(self) -> int:
        try:
            return int(self.request.headers.get("Content-Length", "0"))
        except ValueError:
            return 0

    def data_received(self, chunk: bytes) -> None:
        if self._oversized:
            return
        self._size += len(chunk)
        if self._size > self._gateway.max_body_size:
            self._oversized = True
            self._chunks = []
        else:
            self._chunks.append(chunk)

    def _refuse_oversized(self) -> None:
        self.set_header("Connection", "close")
        self._answer_error(413, Code.BAD_REQUEST, f"The body exceeds {self._gateway.max_body_size} bytes.")

    async def _serve(self) -> None:
        route = self._route
        assert route is not None
        if self._oversized:
            self._refuse_oversized()
            return
        request = route.rpc.request()
        try:
            body = b"".join(self._chunks)
            if body:
                codec.decode(request, body, self._json_in)
            elif self.request.query_arguments:
                codec.decode_query(request, self.request.query_arguments)
            self._request_id = getattr(request, "request_id", "")
            response = await route.handler(request)
        except ServiceError as error:
            self._answer_error(HTTP_STATUS[error.code], error.code, error.message)
            return
        self._answer(200, response)

    get = post = put = delete = patch = head = options = _serve

    def _answer(self, status: int, message: Message) -> None:
        body, content_type = codec.encode(message, self._json_out)
        self._code = message.code  # type: ignore[attr-defined]
        self.set_status(status)
        self.set_header("Content-Type", content_type)
        self.finish(body)

    def _answer_error(self, status: int, code: Code, text: str) -> None:
        response_class = self._route.rpc.response if self._route else http_pb2.ErrorResponse
        message = response_class(response_id=self._request_id, code=code.value, message=text)
        self._answer(status, message)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if status_code == 405:
            self._answer_error(405, Code.BAD_REQUEST, f"{self.request.method} is not allowed here.")
        elif status_code < 500:
            self._answer_error(status_code, Code.BAD_REQUEST, HTTPStatus(status_code).phrase)
        else:
            self._answer_error(500, Code.INTERNAL_SERVER_ERROR, "Internal server error.")

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, Exception) and not hasattr(value, "status_code"):
            log.error("request failed", exc_info=(typ, value, tb), extra={"path": self.request.path})

    def on_finish(self) -> None:
        rpc_name = self._route.rpc.name if self._route else "unknown"
        metrics.record("http", rpc_name, self._code, self.request.request_time())
        if self._admitted:
            self._gateway.admission.leave(self._admitted)
        self._gateway.request_finished()
