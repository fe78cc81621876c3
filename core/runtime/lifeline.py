"""Where a part that cannot go on reports why. A bug in background work (a task, a callback on the store
thread, the gRPC thread) is not swallowed: it is logged with its traceback here, and the root stops the
process with a non-zero exit code so that a supervisor restarts it."""

import asyncio
import logging
import threading

log = logging.getLogger(__name__)


class Lifeline:
    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._failed = asyncio.Event()
        self._lock = threading.Lock()
        self.error: BaseException | None = None

    def fail(self, error: BaseException, where: str) -> None:
        """Report a fatal error from any thread: logged with its traceback; the first one ends the process."""
        log.critical("fatal error", exc_info=error, extra={"where": where})
        with self._lock:
            if self.error is not None:
                return
            self.error = error
        self._loop.call_soon_threadsafe(self._failed.set)

    def watch(self, task: "asyncio.Task[None]") -> None:
        """A background task that ends with an exception is fatal."""

        def done(finished: "asyncio.Task[None]") -> None:
            if not finished.cancelled() and finished.exception() is not None:
                error = finished.exception()
                assert error is not None
                self.fail(error, finished.get_name())

        task.add_done_callback(done)

    async def wait(self) -> BaseException:
        await self._failed.wait()
        assert self.error is not None
        return self.error
