"""Time, injected: the core reads the wall clock, the monotonic clock and sleeps only through a `Clock`, so
that tests move time instead of waiting for it."""

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock seconds since the epoch: heartbeat times, liveness."""

    def monotonic(self) -> float:
        """Seconds that only move forward: deadlines."""

    async def sleep(self, seconds: float) -> None:
        """Wait: the periodic work of the runtime (batches, probes)."""


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Deadline:
    """The moment by which a request's store work must be done, on a clock's monotonic time. Work still
    queued at that moment is dropped, and a transaction that would run past it rolls back: RequestTimeout
    means "not written"."""

    def __init__(self, clock: Clock, seconds: float) -> None:
        self._clock = clock
        self.at = clock.monotonic() + seconds

    def expired(self) -> bool:
        return self._clock.monotonic() >= self.at

    def remaining(self) -> float:
        return self.at - self._clock.monotonic()
