"""The status tables of both transports, checked against the protocol document's own figures (the
contract tests check answers against these tables, so the tables themselves are pinned here)."""

import grpc

from core.errors import Code
from grpc_service.status import GRPC_STATUS
from http_gateway.status import HTTP_STATUS

PROTOCOL = {
    "Accept": (200, "OK"),
    "AgentGroupAlreadyExist": (400, "ALREADY_EXISTS"),
    "ConfigAlreadyExist": (400, "ALREADY_EXISTS"),
    "AgentAlreadyExist": (400, "ALREADY_EXISTS"),
    "InvalidParameter": (400, "INVALID_ARGUMENT"),
    "BadRequest": (400, "INVALID_ARGUMENT"),
    "AgentGroupNotExist": (404, "NOT_FOUND"),
    "ConfigNotExist": (404, "NOT_FOUND"),
    "AgentNotExist": (404, "NOT_FOUND"),
    "InternalServerError": (500, "INTERNAL"),
    "RequestTimeout": (500, "DEADLINE_EXCEEDED"),
    "ServerBusy": (503, "UNAVAILABLE"),
    "Unauthenticated": (401, "UNAUTHENTICATED"),
    "PermissionDenied": (403, "PERMISSION_DENIED"),
    "ConfigVersionConflict": (409, "ABORTED"),
}


def test_every_code_maps_as_the_protocol_says() -> None:
    assert {code.value for code in Code} == set(PROTOCOL)
    for code in Code:
        http_status, grpc_status = PROTOCOL[code.value]
        assert HTTP_STATUS[code] == http_status, code
        assert GRPC_STATUS[code] == getattr(grpc.StatusCode, grpc_status), code
