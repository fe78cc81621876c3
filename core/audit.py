"""Audit events of refused writes, waiting for the next batch: bounded, so that a flood of refused calls
(a client with a wrong token in a retry loop) cannot grow memory or write a row per request.

An accepted write records its event in its own transaction (`core.store`); a refused one has no
transaction, so its event waits here and the heartbeat batcher writes it with the next batch. Beyond
`total` pending events, new ones are dropped and counted. Both transports' threads add; the store thread
takes.
"""

import threading
from collections.abc import Iterable

from core.model import AuditEvent

MAX_PENDING = 10_000
"""Refused writes' events waiting for one batch."""


class AuditBuffer:
    def __init__(self, total: int = MAX_PENDING) -> None:
        self._total = total
        self._pending: list[AuditEvent] = []
        self.dropped = 0
        """Events dropped because the buffer was full (since start)."""
        self._lock = threading.Lock()

    def add(self, event: AuditEvent) -> None:
        with self._lock:
            if len(self._pending) >= self._total:
                self.dropped += 1
                return
            self._pending.append(event)

    def take(self) -> list[AuditEvent]:
        """Every pending event, in the order they came."""
        with self._lock:
            pending, self._pending = self._pending, []
        return pending

    def put_back(self, events: Iterable[AuditEvent]) -> None:
        """What a failed batch did not write, before what came since (still within the bound)."""
        with self._lock:
            merged = [*events, *self._pending]
            self.dropped += max(0, len(merged) - self._total)
            self._pending = merged[: self._total]
