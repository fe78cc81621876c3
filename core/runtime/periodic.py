"""Periodic work of the runtime: a step run every interval of the clock, as a task whose unexpected end is
fatal (reported to the `Lifeline`). Entered after what it works on, so that it stops first."""

import asyncio
from collections.abc import Awaitable, Callable
from types import TracebackType

from core.clock import Clock
from core.runtime.lifeline import Lifeline


class Periodic:
    def __init__(
        self,
        name: str,
        interval: float,
        step: Callable[[], Awaitable[None]],
        clock: Clock,
        lifeline: Lifeline,
    ) -> None:
        self._name = name
        self._interval = interval
        self._step = step
        self._clock = clock
        self._lifeline = lifeline
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "Periodic":
        self._task = asyncio.create_task(self._run(), name=self._name)
        self._lifeline.watch(self._task)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await self._clock.sleep(self._interval)
            await self._step()
