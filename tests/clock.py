"""A clock that tests move by hand: time passes only when `advance` says, sleepers wake then."""

import asyncio
import threading


class ManualClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self._now = now
        self._monotonic = 0.0
        self._sleepers: list[tuple[float, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    async def sleep(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._sleepers.append((self._monotonic + seconds, loop, woken))
        await woken

    def shift_wall(self, now: float) -> None:
        """Set the wall clock alone (the time agents are seen at); nothing wakes."""
        self._now = now

    def advance(self, seconds: float) -> None:
        """Move both clocks and wake every sleeper whose time came (on its own loop)."""
        with self._lock:
            self._now += seconds
            self._monotonic += seconds
            due = [sleeper for sleeper in self._sleepers if sleeper[0] <= self._monotonic]
            self._sleepers = [sleeper for sleeper in self._sleepers if sleeper[0] > self._monotonic]
        for _, loop, woken in due:
            loop.call_soon_threadsafe(_wake, woken)


def _wake(future: "asyncio.Future[None]") -> None:
    if not future.done():
        future.set_result(None)
