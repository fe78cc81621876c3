"""The domain's way to the store, for every caller: reads and writes bounded by the caller's deadline, with
memory kept in step with what they commit.

- `current` is the catalog once it reflects every write acknowledged before the call began, by any server:
  one catch-up with the store's change feed (`ChangeFeed.read_index`), then memory.
- `read` runs a read on the store thread.
- `write` runs one store transaction on the store thread and applies the change it committed to memory,
  on the same thread, so memory follows the store's commit order; with `catch_up`, the transaction first
  sees the catalog caught up with the feed, so one server's writes are each checked against what the one
  before committed.

Each refuses at once while the store is known to be down, and bounds its work by the lesser of the
caller's deadline and the server's request timeout (`StoreWorker.deadline`).
"""

from collections.abc import Callable
from typing import TypeVar

from core.catalog import Catalog
from core.changes import Change
from core.clock import Deadline
from core.memory import FleetMemory
from core.model import Caller
from core.runtime.feed import ChangeFeed
from core.runtime.health import StoreHealth
from core.runtime.worker import StoreWorker
from core.store import Store

T = TypeVar("T")
C = TypeVar("C", bound=Change)


class Transactions:
    def __init__(
        self, memory: FleetMemory, worker: StoreWorker, feed: ChangeFeed, health: StoreHealth
    ) -> None:
        self._memory = memory
        self._worker = worker
        self._feed = feed
        self._health = health

    @property
    def store(self) -> Store:
        """The store, for work handed to `read` and `write` (which run it on the store thread)."""
        return self._worker.store

    def deadline(self, caller: Caller) -> Deadline:
        return self._worker.deadline(caller.timeout)

    async def current(self, caller: Caller) -> Catalog:
        """The catalog, once it reflects every write committed before this call."""
        self._health.check()
        await self._feed.read_index(self.deadline(caller))
        return self._memory.catalog

    async def read(self, caller: Caller, work: Callable[[Deadline], T]) -> T:
        """`work` on the store thread, with the caller's deadline."""
        self._health.check()
        deadline = self.deadline(caller)
        return await self._worker.run(lambda: work(deadline), deadline, "request")

    async def write(
        self, caller: Caller, work: Callable[[Catalog, Deadline], C], catch_up: bool = False
    ) -> C:
        """One store transaction (`work`, given the catalog and the deadline), its change applied to memory
        once committed."""
        self._health.check()
        deadline = self.deadline(caller)

        def commit() -> C:
            if catch_up:
                self._feed.catch_up(deadline)
            change = work(self._memory.catalog, deadline)
            self._memory.apply(change)
            return change

        return await self._worker.run(commit, deadline, "request")
