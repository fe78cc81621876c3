"""The protocol's RPCs, read from the service descriptors in `proto/configserver/proto/service.proto`.

This is the one table both transports are built from: the gRPC method path, the HTTP route and method
(from the `http` option next to each RPC), the message classes, and the API it belongs to (which token it
needs, which admission bound it counts against). Serving a new RPC takes the RPC in the .proto and its
method in the façade's Protocol (`facades.contracts`) and in the façade.
"""

from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from configserver.proto import http_pb2, service_pb2

USER_SERVICE = "configserver.proto.UserService"


class Api(StrEnum):
    """Operators' calls and agents' calls: separate tokens, separate admission bounds."""

    USER = "user"
    AGENT = "agent"


@dataclass(frozen=True)
class Rpc:
    service: str  # full name: configserver.proto.UserService
    name: str  # CreateAgentGroup: the method name and the HTTP path's last segment
    request: type[Message]
    response: type[Message]
    http_method: str  # the protocol document's method
    http_path: str  # without the trailing slash
    listener: str = ""  # the HTTP listener serving it: "" the main one, "v1" the v1 one

    @property
    def grpc_path(self) -> str:
        return f"/{self.service}/{self.name}"

    @cached_property  # this and the two below: read on every call
    def api(self) -> Api:
        return Api.USER if self.service == USER_SERVICE else Api.AGENT

    @cached_property
    def writes(self) -> bool:
        """Whether the RPC changes anything (a read's route is GET): viewers may not call it, and each call
        is audited."""
        return self.http_method != "GET"

    @cached_property
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
                    listener=route.listener,
                )
            )
    return tuple(rpcs)


RPCS = _read_rpcs()
