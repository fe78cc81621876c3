"""Protocol code -> HTTP status: the gateway's one table."""

from core.errors import Code

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
}
