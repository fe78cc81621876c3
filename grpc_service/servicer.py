"""The servicers, built from the service descriptors: one generic handler per service, one method per RPC.

Each method calls the core and returns its response; a refused request ends the call with the mapped
status, the message as details and the protocol code in trailing metadata. Anything else is a bug: it is
logged with its traceback and the client gets INTERNAL with a generic message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError, Message

from core import errors
from core.errors import Code, ServiceError
from grpc_service.status import CODE_METADATA_KEY, GRPC_STATUS
from pipeline import metrics
from pipeline.admission import RETRY_AFTER, Admission
from pipeline.auth import Tokens
from pipeline.rpcs import RPCS, Handler, Rpc, handler

log = logging.getLogger(__name__)

ACCEPT = Code.ACCEPT.value


class _Undecodable:
    """What the deserializer hands on for bytes that are not the request message."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _deserializer(message_class: type[Message]) -> Callable[[bytes], Message | _Undecodable]:
    """Parse leniently, so that an undecodable request is answered INVALID_ARGUMENT (BadRequest) like on
    HTTP, instead of grpc's generic INTERNAL for a failing deserializer."""

    def parse(data: bytes) -> Message | _Undecodable:
        try:
            return message_class.FromString(data)
        except (DecodeError, RecursionError, ValueError) as error:
            return _Undecodable(error)

    return parse


def _authorization(context: grpc.aio.ServicerContext[Message, Message]) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            return value if isinstance(value, str) else value.decode("latin-1")
    return None


def _method(call: Handler, rpc: Rpc, tokens: Tokens, admission: Admission) -> grpc.RpcMethodHandler[Any, Any]:
    guarded = tokens.required(rpc) is not None
    api = Admission.api(rpc)

    async def serve(
        request: Message | _Undecodable, context: grpc.aio.ServicerContext[Message, Message]
    ) -> Message:
        start = time.perf_counter()
        try:
            if guarded and not tokens.allows(rpc, _authorization(context)):
                raise ServiceError(Code.UNAUTHENTICATED, "A valid bearer token is required.")
            if isinstance(request, _Undecodable):
                raise errors.bad_request(
                    f"The request is not a valid protobuf {rpc.request.DESCRIPTOR.name}: {request.error}"
                )
            admission.enter(api)
            try:
                response = await call(request)
            finally:
                admission.leave(api)
            metrics.record("grpc", rpc.name, ACCEPT, time.perf_counter() - start)
            return response
        except ServiceError as error:
            code, text = error.code, error.message
        except Exception:
            log.exception("grpc call failed", extra={"method": rpc.name})
            code, text = Code.INTERNAL_SERVER_ERROR, "Internal server error."
        metrics.record("grpc", rpc.name, code.value, time.perf_counter() - start)
        metadata: tuple[tuple[str, str], ...] = ((CODE_METADATA_KEY, code.value),)
        if code is Code.SERVER_BUSY:
            metrics.shed("grpc", api)
            metadata += (("retry-after", str(RETRY_AFTER)),)
        await context.abort(GRPC_STATUS[code], text, trailing_metadata=metadata)
        raise AssertionError("unreachable: abort raises")

    return grpc.unary_unary_rpc_method_handler(
        serve,
        request_deserializer=_deserializer(rpc.request),
        response_serializer=rpc.response.SerializeToString,
    )


def generic_handlers(
    service: object, tokens: Tokens, admission: Admission
) -> list[grpc.GenericRpcHandler[Any, Any]]:
    """The handlers serving every RPC of `service`, grouped by gRPC service."""
    methods: dict[str, dict[str, grpc.RpcMethodHandler[Any, Any]]] = {}
    for rpc in RPCS:
        methods.setdefault(rpc.service, {})[rpc.name] = _method(handler(service, rpc), rpc, tokens, admission)
    return [grpc.method_handlers_generic_handler(name, table) for name, table in methods.items()]


SERVICE_NAMES = tuple(dict.fromkeys(rpc.service for rpc in RPCS))
