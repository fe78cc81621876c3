"""Protocol code -> gRPC status: the service's one table. The code itself travels in the trailing
metadata `configserver-code`, the human message in the status details."""

import grpc

from core.errors import Code

CODE_METADATA_KEY = "configserver-code"

GRPC_STATUS: dict[Code, grpc.StatusCode] = {
    Code.ACCEPT: grpc.StatusCode.OK,
    Code.AGENT_GROUP_ALREADY_EXIST: grpc.StatusCode.ALREADY_EXISTS,
    Code.CONFIG_ALREADY_EXIST: grpc.StatusCode.ALREADY_EXISTS,
    Code.AGENT_ALREADY_EXIST: grpc.StatusCode.ALREADY_EXISTS,
    Code.INVALID_PARAMETER: grpc.StatusCode.INVALID_ARGUMENT,
    Code.BAD_REQUEST: grpc.StatusCode.INVALID_ARGUMENT,
    Code.AGENT_GROUP_NOT_EXIST: grpc.StatusCode.NOT_FOUND,
    Code.CONFIG_NOT_EXIST: grpc.StatusCode.NOT_FOUND,
    Code.AGENT_NOT_EXIST: grpc.StatusCode.NOT_FOUND,
    Code.INTERNAL_SERVER_ERROR: grpc.StatusCode.INTERNAL,
    Code.REQUEST_TIMEOUT: grpc.StatusCode.DEADLINE_EXCEEDED,
    Code.SERVER_BUSY: grpc.StatusCode.UNAVAILABLE,
    Code.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    Code.PERMISSION_DENIED: grpc.StatusCode.PERMISSION_DENIED,
    Code.CONFIG_VERSION_CONFLICT: grpc.StatusCode.ABORTED,
}
