"""The core's one refusal type and the protocol codes it carries, and the one failure type of stores.

    Exception
    ├── ServiceError   a request refused on purpose: bad input, a missing or existing name, a broken rule,
    │                  overload, a deadline. Carries a `Code`; each transport maps it with one table
    │                  (`http_gateway.status`, `grpc_service.status`).
    └── StoreFailure   the store did not do what was asked (unreachable, disk full, a failing statement):
                       answered InternalServerError and logged with its cause; the store health probe
                       decides whether the server is ready.

Anything else is a bug: logged with its traceback and answered InternalServerError with a generic message.
"""

from enum import StrEnum


class Code(StrEnum):
    """The protocol's response codes, as they travel in every response's `code` field."""

    ACCEPT = "Accept"  # success
    AGENT_GROUP_ALREADY_EXIST = "AgentGroupAlreadyExist"  # a group of that name exists
    CONFIG_ALREADY_EXIST = "ConfigAlreadyExist"  # a config of that name exists, or is already applied
    AGENT_ALREADY_EXIST = "AgentAlreadyExist"  # an agent of that id exists
    INVALID_PARAMETER = "InvalidParameter"  # a field is present but its value is not acceptable
    BAD_REQUEST = "BadRequest"  # undecodable body, missing field, or an operation that can never succeed
    AGENT_GROUP_NOT_EXIST = "AgentGroupNotExist"  # no group of that name
    CONFIG_NOT_EXIST = "ConfigNotExist"  # no config of that name, or it is not applied
    AGENT_NOT_EXIST = "AgentNotExist"  # the agent never sent a heartbeat
    INTERNAL_SERVER_ERROR = "InternalServerError"  # the server or its store failed; retrying may help
    REQUEST_TIMEOUT = "RequestTimeout"  # the request ran out of time
    SERVER_BUSY = "ServerBusy"  # the server is overloaded and shed the request; retry later
    UNAUTHENTICATED = "Unauthenticated"  # the API's bearer token is missing or wrong (not in the alpha table)
    PERMISSION_DENIED = "PermissionDenied"  # the token may read the User API but not write it
    CONFIG_VERSION_CONFLICT = "ConfigVersionConflict"  # expected_version is not the config's current version


class ServiceError(Exception):
    """A request the core refuses, with the protocol code and a message meant for a human."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"ServiceError({self.code.value}, {self.message!r})"


class StoreFailure(Exception):
    """The store failed; `__cause__` is the driver's error."""


def group_not_found(name: str) -> ServiceError:
    return ServiceError(Code.AGENT_GROUP_NOT_EXIST, f"Agent group {name} doesn't exist.")


def group_exists(name: str) -> ServiceError:
    return ServiceError(Code.AGENT_GROUP_ALREADY_EXIST, f"Agent group {name} already exists.")


def config_not_found(name: str) -> ServiceError:
    return ServiceError(Code.CONFIG_NOT_EXIST, f"Config {name} doesn't exist.")


def config_exists(name: str) -> ServiceError:
    return ServiceError(Code.CONFIG_ALREADY_EXIST, f"Config {name} already exists.")


def revision_not_found(name: str, version: int) -> ServiceError:
    return ServiceError(Code.CONFIG_NOT_EXIST, f"Config {name} has no revision {version} kept.")


def no_history(name: str) -> ServiceError:
    return ServiceError(Code.CONFIG_NOT_EXIST, f"Config {name} has no revision kept.")


def version_conflict(name: str, current: int, expected: int) -> ServiceError:
    return ServiceError(
        Code.CONFIG_VERSION_CONFLICT,
        f"Config {name} is at version {current}, not {expected}: someone changed it meanwhile. "
        "Read it again, then retry with expected_version set to its current version.",
    )


def agent_not_found(agent_id: str) -> ServiceError:
    return ServiceError(Code.AGENT_NOT_EXIST, f"Agent {agent_id} doesn't exist.")


def bad_request(message: str) -> ServiceError:
    return ServiceError(Code.BAD_REQUEST, message)


def request_timeout() -> ServiceError:
    return ServiceError(Code.REQUEST_TIMEOUT, "The store did not answer in time; nothing was written.")


def store_unavailable() -> ServiceError:
    return ServiceError(Code.INTERNAL_SERVER_ERROR, "The store is unavailable; retry later.")
