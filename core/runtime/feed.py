"""Following the writes of other server processes on the same store, and reading one's own writes.

The store numbers every write with a revision in commit order (`core.store`). This part remembers the
revision memory reflects and catches up by reading the entries after it, on the store thread, applying
those of other processes to memory (this process applied its own when it committed them).

- In the background: the store's watcher wakes it whenever another connection may have committed (a
  NOTIFY on PostgreSQL, `data_version` polled every 50 ms on SQLite), so the Agent API, served from
  memory, lags other servers' writes by that delay plus one catch-up.
- On demand: `read_index` catches up before a User API read, so that a read answered by any server
  reflects every write acknowledged before the read began, by any server (as etcd's ReadIndex does): one
  small query, and only the new entries.
- When entries it needs were pruned (a process more than an hour behind), it reloads everything.
"""

import logging
from types import TracebackType

from core.clock import Clock, Deadline
from core.errors import StoreFailure
from core.memory import FleetMemory
from core.runtime.health import StoreHealth
from core.runtime.lifeline import Lifeline
from core.runtime.worker import StoreWorker

log = logging.getLogger(__name__)

RETENTION = 3600.0
"""Seconds an entry stays in the feed."""
PRUNE_INTERVAL = 600.0
"""Seconds between two prunings of the feed (by each server: a cheap DELETE)."""


class ChangeFeed:
    def __init__(
        self,
        worker: StoreWorker,
        memory: FleetMemory,
        clock: Clock,
        health: StoreHealth,
        lifeline: Lifeline,
    ) -> None:
        self._worker = worker
        self._store = worker.store
        self._memory = memory
        self._clock = clock
        self._lifeline = lifeline
        self._health = health
        self.revision = 0
        """The store revision memory reflects (store thread only)."""
        self._wake_pending = False
        self._closing = False

    async def __aenter__(self) -> "ChangeFeed":
        """Watch first, then load everything, so that no write falls between the two."""
        await self._worker.run(lambda: self._store.watch(self._wake), None, "watch")
        await self._worker.run(self.reload, None, "load")
        log.info(
            "state loaded",
            extra={
                "groups": len(self._memory.catalog.groups),
                "configs": len(self._memory.catalog.configs),
                "agents": len(self._memory.agents),
                "revision": self.revision,
            },
        )
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closing = True

    def reload(self) -> None:
        """Everything from the store (store thread)."""
        state = self._store.load()
        self._memory.reload(state)
        self.revision = state.revision

    def catch_up(self, deadline: Deadline | None = None) -> None:
        """Apply what other processes committed since `revision` (store thread)."""
        self._wake_pending = False
        read = self._store.feed_after(self.revision, deadline)
        if not read.complete:
            log.warning("change feed pruned past this server; reloading", extra={"revision": self.revision})
            self.reload()
            return
        for entry in read.entries:
            if entry.origin != self._store.origin:
                self._memory.apply(self._store.read_change(entry.kind, entry.name, deadline))
            self.revision = entry.revision

    async def read_index(self, deadline: Deadline) -> None:
        """Return once memory reflects every write committed before this call."""
        await self._worker.run(lambda: self.catch_up(deadline), deadline, "read_index")

    def _wake(self) -> None:
        """From the store's watcher thread: catch up on the store thread, once per burst of wake-ups."""
        if self._closing or self._wake_pending or not self._health.ok:
            return  # once the store is back, the health probe catches up
        self._wake_pending = True
        self._worker.submit(self._catch_up_in_background)

    def _catch_up_in_background(self) -> None:
        try:
            self.catch_up()
        except StoreFailure as error:  # the health probe catches up within its interval
            log.warning("following the change feed failed", extra={"error": str(error)})
        except Exception as error:
            self._lifeline.fail(error, "change feed")

    async def prune(self) -> None:
        """Every PRUNE_INTERVAL (`Periodic`): drop the entries older than RETENTION."""
        try:
            await self._worker.run(self._prune, None, "prune_feed")
        except StoreFailure as error:
            log.warning("pruning the change feed failed", extra={"error": str(error)})

    def _prune(self) -> None:
        self._store.prune_feed(self._clock.now() - RETENTION)
