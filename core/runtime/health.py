"""Store health: whether the store answers (`StoreHealth`), and the probe that keeps asking (`HealthProbe`).

The probe is a catch-up of the change feed (`ChangeFeed.catch_up`): one small query that also applies
whatever the feed's wake-ups missed, so after an outage memory catches up with every write made meanwhile.
Only a `StoreFailure` of background work (a probe, a heartbeat batch) marks the store unhealthy; then the
server reports not ready, requests that need the store fail fast with InternalServerError instead of
queueing behind a dead store, other background work waits, and the probe alone goes on until the store
answers. A request's own StoreFailure is only that request's: it is answered InternalServerError and the
next request tries again.
"""

import logging
from collections.abc import Callable

from core import errors
from core.errors import StoreFailure
from core.runtime.worker import StoreWorker

log = logging.getLogger(__name__)


class StoreHealth:
    def __init__(self) -> None:
        self._ok = True

    @property
    def ok(self) -> bool:
        return self._ok

    def check(self) -> None:
        """Refuse at once while the store is known to be down."""
        if not self._ok:
            raise errors.store_unavailable()

    def failed(self, error: StoreFailure) -> None:
        """Background work found the store failing (any thread)."""
        if self._ok:
            log.error("store unavailable", extra={"error": str(error)})
        self._ok = False

    def answered(self) -> None:
        """The probe reached the store."""
        if not self._ok:
            log.info("store available again")
            self._ok = True


class HealthProbe:
    """Asks the store, through `probe` on the store thread, and tells `health` what it found."""

    def __init__(self, worker: StoreWorker, health: StoreHealth, probe: Callable[[], None]) -> None:
        self._worker = worker
        self._health = health
        self._probe = probe

    async def probe(self) -> None:
        try:
            await self._worker.run(self._probe, None, "probe")
        except StoreFailure as error:
            self._health.failed(error)
        else:
            self._health.answered()
