"""The gRPC side of the request pipeline: one generic handler per service, one method per RPC.

Each method reads the wire (the `authorization` metadata, the request bytes) and hands them to the
pipeline; a refusal ends the call with the status of `grpc_service.status`, the message as details and the
protocol code in trailing metadata.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import grpc
from google.protobuf.message import DecodeError, Message

from core import errors
from core.errors import Code, ServiceError
from grpc_service.status import CODE_METADATA_KEY, GRPC_STATUS
from pipeline.admission import RETRY_AFTER
from pipeline.answers import AnyAnswer, wire_bytes
from pipeline.calls import ACCEPT, Endpoint, Pipeline
from pipeline.rpcs import Api, Rpc


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


def _decoded(rpc: Rpc, request: Message | _Undecodable) -> Message:
    if isinstance(request, _Undecodable):
        raise errors.bad_request(
            f"The request is not a valid protobuf {rpc.request.DESCRIPTOR.name}: {request.error}"
        )
    return request


def _authorization(context: grpc.aio.ServicerContext[Message, Message]) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            return value if isinstance(value, str) else value.decode("latin-1")
    return None


def _peer(context: grpc.aio.ServicerContext[Message, Message]) -> str:
    """The caller's address as gRPC names it (`ipv4:127.0.0.1:5000`), without the scheme and port."""
    address = context.peer().partition(":")[2]
    host = address.rpartition(":")[0] or address
    return host.strip("[]")


def _method(endpoint: Endpoint, pipeline: Pipeline) -> grpc.RpcMethodHandler[Any, Any]:
    rpc = endpoint.rpc
    user_api = rpc.api is Api.USER  # only operators' calls name their peer (in the audit trail)

    async def serve(
        request: Message | _Undecodable, context: grpc.aio.ServicerContext[Message, Message]
    ) -> AnyAnswer:
        call = pipeline.start(endpoint, context.time_remaining())
        try:
            authorization = _authorization(context) if pipeline.tokens.required(rpc.api) else None
            call.authenticate(authorization, _peer(context) if user_api else "")
            call.admit()
            response = await call.invoke(lambda: _decoded(rpc, request))
        except ServiceError as error:
            call.finish(error.code.value)
            metadata: tuple[tuple[str, str], ...] = ((CODE_METADATA_KEY, error.code.value),)
            if error.code is Code.SERVER_BUSY:
                metadata += (("retry-after", str(RETRY_AFTER)),)
            await context.abort(GRPC_STATUS[error.code], error.message, trailing_metadata=metadata)
            raise AssertionError("unreachable: abort raises") from None
        call.finish(ACCEPT)
        return response

    return grpc.unary_unary_rpc_method_handler(
        serve,
        request_deserializer=_deserializer(rpc.request),
        response_serializer=wire_bytes,
    )


def generic_handlers(
    endpoints: Iterable[Endpoint], pipeline: Pipeline
) -> list[grpc.GenericRpcHandler[Any, Any]]:
    """The handlers serving every endpoint, grouped by gRPC service."""
    methods: dict[str, dict[str, grpc.RpcMethodHandler[Any, Any]]] = {}
    for endpoint in endpoints:
        rpc = endpoint.rpc
        methods.setdefault(rpc.service, {})[rpc.name] = _method(endpoint, pipeline)
    return [grpc.method_handlers_generic_handler(name, table) for name, table in methods.items()]
