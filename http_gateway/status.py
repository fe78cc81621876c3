"""Protocol code -> HTTP status, and the headers some refusals carry: the gateway's one table."""

from core.errors import Code
from pipeline.admission import RETRY_AFTER

HTTP_STATUS: dict[Code, int] = {
    Code.ACCEPT: 200,
    Code.AGENT_GROUP_ALREADY_EXIST: 400,
    Code.CONFIG_ALREADY_EXIST: 400,
    Code.AGENT_ALREADY_EXIST: 400,
    Code.INVALID_PARAMETER: 400,
    Code.BAD_REQUEST: 400,
    Code.AGENT_GROUP_NOT_EXIST: 404,
    Code.CONFIG_NOT_EXIST: 404,
    Code.AGENT_NOT_EXIST: 404,
    Code.INTERNAL_SERVER_ERROR: 500,
    Code.REQUEST_TIMEOUT: 500,
    Code.SERVER_BUSY: 503,
    Code.UNAUTHENTICATED: 401,
    Code.PERMISSION_DENIED: 403,
    Code.CONFIG_VERSION_CONFLICT: 409,
}

HTTP_HEADERS: dict[Code, dict[str, str]] = {
    Code.SERVER_BUSY: {"Retry-After": str(RETRY_AFTER)},
    Code.UNAUTHENTICATED: {"WWW-Authenticate": 'Bearer realm="configserver"'},
}
