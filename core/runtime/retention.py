"""Retention: agents silent for the policy's `expire_after` are removed, from memory and the store, and
alarms older than `alarm_retention_seconds` and audit events older than `audit_retention_seconds` are
dropped, so that memory and the store stay bounded by the
live fleet whatever its churn (LoongCollector agents take a new id at every restart).

A sweep runs on the store thread in bounded batches (one transaction each, its removals published in the
change feed, so every server drops them too), after writing this server's pending heartbeats so that none
of its live agents is taken for silent. It is skipped when memory knows of no agent silent that long, and
logged as one line with the count when it removed any. An expired agent that sends a heartbeat again
registers anew.
"""

import logging

from core.clock import Clock
from core.errors import StoreFailure
from core.memory import FleetMemory
from core.model import FleetPolicy
from core.runtime.batcher import HeartbeatBatcher
from core.runtime.health import StoreHealth
from core.runtime.worker import StoreWorker

log = logging.getLogger(__name__)

BATCH = 1000
"""Agents removed in one transaction."""


def sweep_interval(policy: FleetPolicy) -> float:
    """Seconds between two sweeps: a minute, or a quarter of the expiry when that is shorter."""
    return min(60.0, max(1.0, policy.expire_after / 4))


class Retention:
    def __init__(
        self,
        worker: StoreWorker,
        memory: FleetMemory,
        batcher: HeartbeatBatcher,
        health: StoreHealth,
        clock: Clock,
        policy: FleetPolicy,
    ) -> None:
        self._worker = worker
        self._memory = memory
        self._batcher = batcher
        self._health = health
        self._clock = clock
        self._policy = policy

    async def sweep(self) -> None:
        if not self._health.ok:
            return
        try:
            await self._expire_agents()
            now, policy, store = self._clock.now(), self._policy, self._worker.store
            alarms_before = int(now - policy.alarm_retention_seconds)
            await self._worker.run(lambda: store.prune_alarms(alarms_before), None, "prune_alarms")
            audit_before = int(now - policy.audit_retention_seconds)
            await self._worker.run(lambda: store.prune_audit(audit_before), None, "prune_audit")
        except StoreFailure as error:
            self._health.failed(error)

    async def _expire_agents(self) -> None:
        cutoff = int(self._clock.now() - self._policy.expire_after)
        if not self._memory.agents.any_silent_since(cutoff):
            return
        removed = 0
        while True:
            count = await self._worker.run(lambda: self._expire_batch(cutoff), None, "expire_agents")
            removed += count
            if count < BATCH:
                break
        if removed:
            await self._worker.run(self._memory.agents.compact, None, "compact")
            silent_for = self._policy.expire_after
            log.info("agents expired", extra={"count": removed, "silent_for_seconds": silent_for})

    def _expire_batch(self, cutoff: int) -> int:
        """Store thread: write our pending heartbeats, then remove one batch of silent agents."""
        self._batcher.write_pending()
        gone = self._worker.store.expire_agents(cutoff, BATCH)
        for change in gone:
            self._memory.apply(change)
        return len(gone)
