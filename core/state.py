"""The core's state: the catalog snapshot and the agent registry in memory, and the one store thread that
changes them.

Everything that writes runs on the store thread: a request's store transaction with the in-memory update
right after its commit, the heartbeat batches, and the changes other server processes made (reported by
the store's change feed, applied by reloading what they name). Serializing these on one thread keeps memory
in commit order. Reads on any thread take the current catalog snapshot or registry entry and never wait.

When the store fails, calls that need it fail fast (InternalServerError) instead of queueing behind it, the
server reports not ready, and a maintenance task keeps probing it; once it answers, the state is reloaded
in full (changes made meanwhile elsewhere may have been missed) and everything resumes.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from core.agents import AgentRegistry
from core.catalog import Catalog
from core.errors import Code, ServiceError
from core.model import Agent
from core.store import Change, Store
from pipeline import metrics

log = logging.getLogger(__name__)

T = TypeVar("T")


class State:
    def __init__(
        self,
        store: Store,
        flush_interval: float = 1.0,
        store_timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.catalog = Catalog.build((), (), ())
        self.agents = AgentRegistry()
        self._flush_interval = flush_interval
        self._store_timeout = store_timeout
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._maintenance: asyncio.Task[None] | None = None
        self._store_ok = True
        self._stale = False
        self._closing = False

    # Lifecycle.

    async def start(self) -> None:
        """Follow the change feed, then load everything (so that no change falls between the two)."""
        await self._on_store_thread(lambda: self.store.watch(self._on_change))
        await self._on_store_thread(self._reload)
        self._maintenance = asyncio.create_task(self._maintain(), name="store-maintenance")
        log.info(
            "state loaded",
            extra={
                "groups": len(self.catalog.groups),
                "configs": len(self.catalog.configs),
                "agents": len(self.agents),
            },
        )

    async def close(self) -> None:
        """Write the pending heartbeat batch, then close the store. Call once no request runs any more."""
        self._closing = True
        if self._maintenance is not None:
            self._maintenance.cancel()
            await asyncio.gather(self._maintenance, return_exceptions=True)
        try:
            await self.flush()
        finally:
            await self._on_store_thread(self.store.close)
            self._thread.shutdown()

    @property
    def ready(self) -> bool:
        """The store answers and the server is not shutting down."""
        return self._store_ok and not self._closing

    # Running work on the store thread.

    async def _on_store_thread(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, work)

    async def write(self, work: Callable[[], T]) -> T:
        """Run a store transaction and its in-memory update on the store thread; answer once committed.

        Fails at once with InternalServerError while the store is known to be down, and with RequestTimeout
        when the store does not answer within `store_timeout`: a write that timed out while it queued is
        dropped, and one that would wait in the store past the deadline (for a lock) is rolled back, so that
        RequestTimeout means "not written" but for a commit racing the deadline to the last millisecond.
        """
        if not self._store_ok:
            raise ServiceError(Code.INTERNAL_SERVER_ERROR, "The store is unavailable; retry later.")
        deadline = time.monotonic() + self._store_timeout

        def unless_expired() -> T:
            # A request already answered RequestTimeout while it queued must not be written after all.
            if time.monotonic() > deadline:
                raise ServiceError(Code.REQUEST_TIMEOUT, "The store did not answer in time.")
            self.store.deadline = deadline
            try:
                with metrics.StoreTimer("request"):
                    return work()
            finally:
                self.store.deadline = None

        try:
            return await asyncio.wait_for(self._on_store_thread(unless_expired), self._store_timeout)
        except TimeoutError:
            raise ServiceError(Code.REQUEST_TIMEOUT, "The store did not answer in time.") from None

    read = write
    """Reads that must reach the store (an agent another server registered) go the same way."""

    # What requests need beyond memory.

    async def load_agent(self, agent_id: str) -> Agent | None:
        """An agent memory does not hold, from the store (another server registered it), kept in memory."""
        return await self.read(lambda: self._load_agent(agent_id))

    def _load_agent(self, agent_id: str) -> Agent | None:
        agent = self.agents.get(agent_id)  # an earlier job on this thread may have loaded it meanwhile
        if agent is None:
            agent = self.store.get_agent(agent_id)
            if agent is not None:
                self.agents.put(agent)
        return agent

    async def refresh_heartbeats(self, agents: Sequence[Agent]) -> None:
        """Bring in the heartbeat times other servers on the store wrote (batched: up to a second old)."""
        if not agents:
            return
        stored = await self.read(lambda: self.store.heartbeat_times(agent.agent_id for agent in agents))
        for agent in agents:
            found = stored.get(agent.agent_id)
            if found is not None and found[0] > agent.latest_heartbeat_time:
                agent.latest_heartbeat_time, agent.running_details = found

    # Heartbeat batches.

    async def flush(self) -> None:
        """Write the heartbeat times and statistics received since the last batch."""
        await self._on_store_thread(self._flush_pending)

    def _flush_pending(self) -> None:
        pending = self.agents.take_pending()
        try:
            with metrics.StoreTimer("heartbeat_batch"):
                self.store.save_pending(pending)
        except BaseException:
            self.agents.mark_pending(write.agent_id for write in pending)
            raise

    async def _maintain(self) -> None:
        """Every flush interval: write the batch, probe the store, reload after an outage."""
        while True:
            await asyncio.sleep(self._flush_interval)
            try:
                await self._on_store_thread(self._maintenance_step)
            except Exception as error:
                if self._store_ok:
                    log.error("store unavailable", extra={"error": repr(error)})
                self._store_ok = False
                self._stale = True

    def _maintenance_step(self) -> None:
        if self._stale:
            self._reload()
            self._stale = False
            log.info("store available again; state reloaded")
        else:
            self.store.ping()
        self._store_ok = True
        self._flush_pending()
        self._count_agents()

    def _count_agents(self) -> None:
        """Refresh the agent gauges (a pass over the agents: about 5 ms for 100,000)."""
        metrics.AGENTS_KNOWN.set(len(self.agents))
        metrics.AGENTS_SEEN.set(self.agents.seen_since(int(time.time()) - 60))

    # Changes made by other processes.

    def _on_change(self, change: Change | None) -> None:
        """Called by the store's watcher thread: apply the change on the store thread, in order."""
        if not self._closing:
            self._thread.submit(self._apply_change, change)

    def _apply_change(self, change: Change | None) -> None:
        try:
            if change is None:
                self._reload()
            elif change.kind == "group":
                group = self.store.get_group(change.name)
                catalog = (
                    self.catalog.without_group(change.name)
                    if group is None
                    else self.catalog.with_group(group)
                )
                self.catalog = catalog.with_applied(change.name, self.store.get_applied(change.name))
            elif change.kind == "config":
                config = self.store.get_config(change.name)
                self.catalog = (
                    self.catalog.without_config(change.name)
                    if config is None
                    else self.catalog.with_config(config)
                )
            elif change.kind == "binding":
                self.catalog = self.catalog.with_applied(change.name, self.store.get_applied(change.name))
            elif change.kind == "agent":
                agent = self.store.get_agent(change.name)
                if agent is not None:
                    self.agents.merge(agent)
        except Exception:
            log.exception("applying a change from another server failed; reloading soon")
            self._stale = True

    def _reload(self) -> None:
        state = self.store.load()
        self.catalog = Catalog.build(state.groups, state.configs, state.bindings)
        self.agents.reload(state.agents)
