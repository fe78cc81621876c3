"""The route table: every RPC's HTTP path (read from the service descriptors) to its core handler."""

import asyncio
from dataclasses import dataclass, field

from pipeline.admission import DEFAULT_MAX_IN_FLIGHT, Admission
from pipeline.auth import Tokens
from pipeline.rpcs import RPCS, Handler, Rpc, handler

MAX_BODY_SIZE_CAP = 64 * 1024 * 1024
"""No configured limit goes above this; Tornado drops a connection whose body exceeds it unread."""


@dataclass(frozen=True)
class Route:
    rpc: Rpc
    handler: Handler


@dataclass
class Gateway:
    """What every request handler shares: routes, limits, and the count of requests in flight."""

    routes: dict[str, Route]
    max_body_size: int
    tokens: Tokens = field(default_factory=Tokens)
    admission: Admission = field(default_factory=lambda: Admission(DEFAULT_MAX_IN_FLIGHT))
    in_flight: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.idle.set()

    @classmethod
    def for_service(
        cls, service: object, max_body_size: int, tokens: Tokens, max_in_flight: int
    ) -> "Gateway":
        routes = {rpc.http_path: Route(rpc, handler(service, rpc)) for rpc in RPCS}
        return cls(
            routes=routes, max_body_size=max_body_size, tokens=tokens, admission=Admission(max_in_flight)
        )

    def request_started(self) -> None:
        self.in_flight += 1
        self.idle.clear()

    def request_finished(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self.idle.set()
