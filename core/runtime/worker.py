"""The store worker: the one thread that runs store work, so that memory follows the store's commit order.

Both transports' event loops hand it work and await the result; the store itself is synchronous. A request
passes its `Deadline` explicitly: the lesser of its client's deadline and the server's request timeout.
Work whose deadline has passed is not started (neither queued nor, once queued, run), and the caller gets
RequestTimeout once it expires, whatever the store is doing (the store bounds its statements and lock
waits by it, and rolls back a transaction that would commit past it).
"""

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import TypeVar

from core import errors
from core.clock import Clock, Deadline
from core.runtime.observer import Observer
from core.store import Store

T = TypeVar("T")


class StoreWorker:
    def __init__(self, store: Store, clock: Clock, observer: Observer, request_timeout: float) -> None:
        self.store = store
        self._clock = clock
        self._observer = observer
        self._request_timeout = request_timeout
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")

    async def __aenter__(self) -> "StoreWorker":
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the store on its thread, once the work queued before has run."""
        try:
            await self.run(self.store.close, None, "close")
        finally:
            self._executor.shutdown()

    def deadline(self, timeout: float | None = None) -> Deadline:
        """The deadline of a request starting now whose client gives it `timeout` seconds (None: no bound
        of its own): never later than the server's request timeout."""
        seconds = self._request_timeout if timeout is None else min(timeout, self._request_timeout)
        return Deadline(self._clock, seconds)

    async def run(self, work: Callable[[], T], deadline: Deadline | None, operation: str) -> T:
        """Run `work` on the store thread and return its result; RequestTimeout past `deadline`."""
        if deadline is not None and deadline.expired():
            raise errors.request_timeout()  # not started: its caller has given up already

        def timed() -> T:
            if deadline is not None and deadline.expired():
                raise errors.request_timeout()  # answered RequestTimeout while it queued: not written
            start = self._clock.monotonic()
            try:
                return work()
            finally:
                self._observer.store_time(operation, self._clock.monotonic() - start)

        future = asyncio.get_running_loop().run_in_executor(self._executor, timed)
        if deadline is None:
            return await future
        try:
            return await asyncio.wait_for(future, max(0.0, deadline.remaining()))
        except TimeoutError:
            raise errors.request_timeout() from None

    def submit(self, work: Callable[[], None]) -> None:
        """Queue `work` from any thread, without waiting for it (it handles its own errors); dropped once
        the worker is closing."""
        with contextlib.suppress(RuntimeError):  # shut down: the store is closing, nothing more to do
            self._executor.submit(work)
