"""The protocol's RPCs, read from the service descriptors in `proto/configserver/proto/service.proto`.

This is the one table both transports are built from: the gRPC method path, the HTTP route and method
(from the `http` option next to each RPC), the message classes, and the `ConfigService` method to call.
Adding an RPC to the .proto and a method to `ConfigService` is all it takes to serve it on both.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from configserver.proto import http_pb2, service_pb2

Handler = Callable[[Any], Awaitable[Message]]


@dataclass(frozen=True)
class Rpc:
    service: str  # full name: configserver.proto.UserService
    name: str  # CreateAgentGroup: the method name, the HTTP path's last segment and ConfigService's method
    request: type[Message]
    response: type[Message]
    http_method: str  # the protocol document's method
    http_path: str  # without the trailing slash

    @property
    def grpc_path(self) -> str:
        return f"/{self.service}/{self.name}"

    @property
    def http_methods(self) -> tuple[str, ...]:
        """The methods the HTTP route answers: a read (GET) answers POST too."""
        return ("GET", "POST") if self.http_method == "GET" else (self.http_method,)


def _read_rpcs() -> tuple[Rpc, ...]:
    rpcs = []
    for service in service_pb2.DESCRIPTOR.services_by_name.values():
        for method in service.methods:
            route = method.GetOptions().Extensions[http_pb2.http]
            rpcs.append(
                Rpc(
                    service=service.full_name,
                    name=method.name,
                    request=GetMessageClass(method.input_type),
                    response=GetMessageClass(method.output_type),
                    http_method=route.method,
                    http_path=route.path,
                )
            )
    return tuple(rpcs)


RPCS = _read_rpcs()


def handler(service: object, rpc: Rpc) -> Handler:
    """The coroutine function of `service` that serves `rpc`."""
    found: Handler = getattr(service, rpc.name)
    return found
