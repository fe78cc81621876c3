"""The heartbeat batcher: what only moves with time (heartbeat times, running statistics, the versions
agents report holding) reaches the store in one statement every interval, instead of a write per request,
and so do alarms and the audit events of refused writes; memory has the activity at once, so reads never
lag. A batch that fails is put back for the next one; while the store is known to be down, batches wait
(the health probe alone knocks). On exit, the last batch is written.

Nothing drops silently: what the bounded buffers drop (alarms, refused writes' audit events) is counted
in `configserver_dropped_total{what}` every interval, and logged at most once a minute per kind, with the
count since the last line. The activity of agents never drops: it is one pending entry per known agent.
"""

import logging
import math
from types import TracebackType

from core.agents import AgentRegistry
from core.alarms import AlarmBuffer
from core.audit import AuditBuffer
from core.clock import Clock
from core.errors import StoreFailure
from core.model import FleetPolicy
from core.runtime.health import StoreHealth
from core.runtime.observer import Observer
from core.runtime.worker import StoreWorker

log = logging.getLogger(__name__)

LOG_EVERY = 60.0
"""Seconds between two log lines of one kind of drop: a flood is a line a minute, with its count."""


class Drops:
    """What one bounded buffer dropped: counted at once, logged at most once per LOG_EVERY."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._reported = 0
        self._unlogged = 0
        self._logged_at = -math.inf

    def report(self, total: int, now: float, observer: Observer) -> None:
        """`total`: what the buffer dropped since start; `now`: monotonic seconds."""
        new = total - self._reported
        if new:
            self._reported = total
            self._unlogged += new
            observer.dropped(self.what, new)
        if self._unlogged and now - self._logged_at >= LOG_EVERY:
            log.warning(
                "buffer full: items dropped",
                extra={"what": self.what, "count": self._unlogged, "at_most_one_line_per_seconds": LOG_EVERY},
            )
            self._unlogged, self._logged_at = 0, now


class HeartbeatBatcher:
    def __init__(
        self,
        worker: StoreWorker,
        agents: AgentRegistry,
        alarms: AlarmBuffer,
        audit: AuditBuffer,
        policy: FleetPolicy,
        health: StoreHealth,
        clock: Clock,
        observer: Observer,
    ) -> None:
        self._worker = worker
        self._agents = agents
        self._alarms = alarms
        self._audit = audit
        self._policy = policy
        self._health = health
        self._clock = clock
        self._observer = observer
        self._drops = (Drops("alarm"), Drops("audit_event"))

    async def __aenter__(self) -> "HeartbeatBatcher":
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        """The last batch."""
        try:
            await self.flush()
        except StoreFailure as failure:
            log.error("the last heartbeat batch was not written", extra={"error": str(failure)})

    async def flush(self) -> None:
        """Write the activity, the alarms and the refused writes' events received since the last batch."""
        await self._worker.run(self.write_pending, None, "heartbeat_batch")

    def write_pending(self) -> None:
        """Store thread: the batch now."""
        store = self._worker.store
        pending = self._agents.take_pending()
        try:
            store.save_pending(pending)
        except BaseException:
            self._agents.mark_pending(write.agent_id for write in pending)
            raise
        alarms = self._alarms.take()
        try:
            store.save_alarms(alarms, self._policy.alarm_retention_count)
        except BaseException:
            self._alarms.put_back(alarms)
            raise
        events = self._audit.take()
        try:
            store.save_audit(events)
        except BaseException:
            self._audit.put_back(events)
            raise

    async def tick(self) -> None:
        """Every interval (`Periodic`): the batch, then the fleet's size and what was dropped."""
        if self._health.ok:
            try:
                await self.flush()
            except StoreFailure as error:
                self._health.failed(error)
        now = self._clock.now()
        online, last_minute = self._agents.seen_after(now - self._policy.offline_after, now - 60)
        self._observer.fleet_size(len(self._agents), last_minute, online)
        moment = self._clock.monotonic()
        alarms, audit_events = self._drops
        alarms.report(self._alarms.dropped, moment, self._observer)
        audit_events.report(self._audit.dropped, moment, self._observer)
