"""The route table (every endpoint by its HTTP path) and what every request handler shares."""

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from pipeline.calls import Endpoint, Pipeline

MAX_BODY_SIZE_CAP = 64 * 1024 * 1024
"""No configured limit goes above this."""


@dataclass
class Gateway:
    """Routes, the body limit, the HTTP pipeline, and the count of requests in flight (for draining)."""

    routes: dict[str, Endpoint]
    max_body_size: int
    pipeline: Pipeline
    in_flight: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.idle.set()

    @classmethod
    def build(cls, endpoints: Iterable[Endpoint], max_body_size: int, pipeline: Pipeline) -> "Gateway":
        routes = {endpoint.rpc.http_path: endpoint for endpoint in endpoints}
        return cls(routes=routes, max_body_size=max_body_size, pipeline=pipeline)

    def request_started(self) -> None:
        self.in_flight += 1
        self.idle.clear()

    def request_finished(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self.idle.set()
