"""Bounding the requests in flight, per API, on one transport.

Requests answered from memory finish in one go; those that wait for the store stay in flight. Past the
bound, new requests are shed at once (ServerBusy: HTTP 503 with Retry-After, gRPC UNAVAILABLE) instead of
queueing: memory and the latency of what was accepted stay flat. The User API and the Agent API have
bounds of their own, so a flood of one never starves the other; each transport has its own Admission,
used from its own event loop only.
"""

from core.errors import Code, ServiceError
from pipeline.rpcs import Api

DEFAULT_MAX_IN_FLIGHT = 256
"""Requests of one API in flight on one transport of one process."""
RETRY_AFTER = 1
"""Seconds a shed client is told to wait."""


class Admission:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = dict.fromkeys(Api, 0)

    def enter(self, api: Api) -> None:
        """Admit a request of `api`, or raise ServerBusy."""
        if self.in_flight[api] >= self.limit:
            raise ServiceError(
                Code.SERVER_BUSY, f"Too many {api} requests in flight; retry in {RETRY_AFTER} s."
            )
        self.in_flight[api] += 1

    def leave(self, api: Api) -> None:
        self.in_flight[api] -= 1
