"""The request pipeline: what every call goes through, in one order, whatever its transport.

    authenticate → authorize → admit → decode → call → record metrics → audit a refused write
                                                           ↳ map the error

A transport adapter finds the `Endpoint` of a request, starts a `Call`, and hands it what only the wire
knows: the `Authorization` value, then a function that decodes the request. It gets back the response
message, or a `ServiceError` to render with its own status table. Each transport has its own `Pipeline`
(and so its own admission bounds), built from the same endpoints.

Every User API write that reaches authentication is audited: an accepted one by its own store transaction
(the fleet records it), a refused one here, whatever refused it (token, role, admission, input, rule), with
the target and reason its request names (none when the caller was not authenticated: a stranger's body is
not read).

Mapping the error is the one place exceptions are classified: a `ServiceError` is a refusal and passes as
it is; a `StoreFailure` is answered InternalServerError and logged with its cause; anything else is a bug,
logged with its traceback and answered InternalServerError with a generic message.
"""

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from core.errors import Code, ServiceError, StoreFailure
from core.model import Caller
from pipeline import metrics
from pipeline.admission import Admission
from pipeline.answers import AnyAnswer
from pipeline.auth import Role, Tokens
from pipeline.rpcs import RPCS, Api, Rpc

log = logging.getLogger(__name__)

ACCEPT = Code.ACCEPT.value
UNAUTHENTICATED_ACTOR = "unauthenticated"
"""The actor of a refused write whose token was missing or wrong."""

AGENT_CALLER = Caller("agent")
"""The caller handed to the Agent API's handlers when the client set no deadline (agents' calls are not
audited: nothing to build per call on the hot path)."""

Handler = Callable[[Any, Caller], Awaitable[AnyAnswer]]
"""One RPC's implementation, a façade's method: its request message and its caller in, its answer out."""
ErrorAnswer = Callable[[type[Message], object, ServiceError], Message]
"""How a service answers a refusal over HTTP: its response class, the request's id (None when the request
could not be read) and the refusal in, the response message out (agents of each generation decode their
own response messages, errors included)."""
AuditSink = Callable[[Caller, str, str, str], None]
"""Records a refused write: (caller, target, code, reason)."""


@dataclass(frozen=True)
class Endpoint:
    """An RPC, the façade method that serves it, and how its protocol answers a refusal over HTTP."""

    rpc: Rpc
    handler: Handler
    error_answer: ErrorAnswer

    def refusal_answer(self, request_id: object, error: ServiceError) -> Message:
        return self.error_answer(self.rpc.response, request_id, error)


def endpoints(handlers: Mapping[str, Handler], errors: Mapping[str, ErrorAnswer]) -> tuple[Endpoint, ...]:
    """Every RPC of the table with its handler (by gRPC path) and its service's error answer (by service
    name); an RPC without either is a bug in the root."""
    missing = [rpc.grpc_path for rpc in RPCS if rpc.grpc_path not in handlers or rpc.service not in errors]
    if missing:
        raise LookupError(f"RPCs without a handler or an error answer: {', '.join(missing)}")
    return tuple(Endpoint(rpc, handlers[rpc.grpc_path], errors[rpc.service]) for rpc in RPCS)


def audit_target(request: Message | None) -> str:
    """The group, config or agent a write request names; GROUP/CONFIG for a binding."""
    if request is None:
        return ""
    fields: dict[str, Any] = {}
    for holder in ("agent_group", "config_detail"):
        if request.DESCRIPTOR.fields_by_name.get(holder) is not None:
            request = getattr(request, holder)
    for name in ("group_name", "config_name", "agent_id"):
        if name in request.DESCRIPTOR.fields_by_name:
            fields[name] = getattr(request, name)
    if "group_name" in fields and "config_name" in fields:
        return f"{fields['group_name']}/{fields['config_name']}"
    return str(next(iter(fields.values()), ""))


def refusal(error: Exception, rpc: str) -> ServiceError:
    """Any exception of a call as the refusal to answer: the one place errors are classified."""
    if isinstance(error, ServiceError):
        return error
    if isinstance(error, StoreFailure):
        log.error("store failed: %s", error, extra={"rpc": rpc})
        return ServiceError(Code.INTERNAL_SERVER_ERROR, "The store failed; nothing was changed. Retry later.")
    log.error("request failed", exc_info=error, extra={"rpc": rpc})
    return ServiceError(Code.INTERNAL_SERVER_ERROR, "Internal server error.")


class Pipeline:
    def __init__(self, transport: str, tokens: Tokens, max_in_flight: int, audit: AuditSink) -> None:
        self.transport = transport
        self.tokens = tokens
        self.admission = Admission(max_in_flight)
        self.audit = audit

    def start(self, endpoint: Endpoint, timeout: float | None = None) -> "Call":
        """A call of `endpoint` whose client gives it `timeout` seconds (None: it set no deadline)."""
        return Call(self, endpoint, timeout)

    def record(self, rpc: str, code: str, seconds: float) -> None:
        """Count an answer given before a call started (HTTP: no such path, wrong method)."""
        metrics.record(self.transport, rpc, code, seconds)


class Call:
    """One request on its way through the pipeline; `finish` must end every call that was started."""

    def __init__(self, pipeline: Pipeline, endpoint: Endpoint, timeout: float | None = None) -> None:
        self._pipeline = pipeline
        self.endpoint = endpoint
        self._started = time.perf_counter()
        self._admitted = False
        self._audited = endpoint.rpc.api is Api.USER and endpoint.rpc.writes
        self._timeout = timeout
        self.caller = AGENT_CALLER if timeout is None else Caller("agent", timeout=timeout)
        self._request: Message | None = None
        self._denied = False

    def authenticate(self, authorization: str | None, peer: str) -> None:
        """Raises Unauthenticated unless `authorization` carries a token of the RPC's API. A viewer's token
        calling a write is refused once its request is decoded (PermissionDenied), so that the audit trail
        names what it tried to change."""
        rpc = self.endpoint.rpc
        identity = self._pipeline.tokens.identify(rpc.api, authorization)
        if identity is None:
            if rpc.api is Api.USER:
                self.caller = Caller(UNAUTHENTICATED_ACTOR, peer, rpc.name)
            raise ServiceError(Code.UNAUTHENTICATED, "A valid bearer token is required.")
        if rpc.api is Api.AGENT:  # agents' calls are not audited: no caller to build on the hot path
            return
        may_write = identity.role is not Role.VIEWER
        self.caller = Caller(identity.name, peer, rpc.name, may_write, self._timeout)
        self._denied = rpc.writes and not may_write

    def admit(self) -> None:
        """Raises ServerBusy when the RPC's API has too many requests in flight on this transport."""
        api = self.endpoint.rpc.api
        try:
            self._pipeline.admission.enter(api)
        except ServiceError:
            metrics.shed(self._pipeline.transport, api)
            raise
        self._admitted = True

    async def invoke(self, decode: Callable[[], Message]) -> AnyAnswer:
        """Decode the request and call the façade; any failure comes out as a `ServiceError`."""
        try:
            self._request = decode()
            if self._denied:
                raise ServiceError(
                    Code.PERMISSION_DENIED,
                    f"The token {self.caller.actor} is a viewer's: it may read but not call "
                    f"{self.endpoint.rpc.name}. Use an editor's token.",
                )
            return await self.endpoint.handler(self._request, self.caller)
        except Exception as error:
            raise refusal(error, self.endpoint.rpc.name) from None

    def finish(self, code: str) -> None:
        """Record the answer's code and time, audit a refused write, and leave admission."""
        rpc = self.endpoint.rpc
        self._pipeline.record(rpc.name, code, time.perf_counter() - self._started)
        if self._audited and code != ACCEPT:
            self._audited = False
            reason = str(getattr(self._request, "reason", ""))
            self._pipeline.audit(self.caller, audit_target(self._request), code, reason)
        if self._admitted:
            self._admitted = False
            self._pipeline.admission.leave(rpc.api)
