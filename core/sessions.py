"""Agents' calls, whatever protocol they speak: heartbeats, what they hold and how applying it went, what
they should run, their statistics and alarms.

A façade (`facades/`) reads its protocol's messages into these calls and works out its generation's delta
rules (`core.versions`) from what they return; a new protocol adds a façade, not a method here.

The hot paths (a heartbeat of a known agent whose attributes did not change, a config fetch) are answered
from memory, with work bounded by the agent's own tags, groups and configs: no store round trip, no scan of
the fleet, no store write per request. What only moves with time (heartbeat times, held versions,
statistics) is recorded in the registry at once and reaches the store in the next batch
(`core.runtime.batcher`). A new agent, or one whose attributes changed, is written before its heartbeat is
answered.
"""

import logging
from collections.abc import Iterable, Mapping
from typing import Final

from core import errors, limits
from core.alarms import AlarmBuffer
from core.changes import AgentSaved
from core.clock import Clock, Deadline
from core.memory import FleetMemory
from core.model import Agent, AgentAttributes, AgentProtocol, Alarm, Caller, Config, ConfigKind, Statistics
from core.runtime.observer import Observer
from core.transactions import Transactions

log = logging.getLogger(__name__)

NO_STATUSES: Final[Mapping[str, str]] = {}
"""What an agent that reports versions only (alpha, v1) reports of applying them."""


def _checked_attributes(attributes: AgentAttributes) -> AgentAttributes:
    """What an agent says of itself (checked when it is about to be stored: a new agent, a change)."""
    limits.text(attributes.agent_type, "agent_type")
    limits.text(attributes.ip, "ip")
    limits.text(attributes.version, "agent_version")
    limits.text(attributes.running_status, "running_status")
    limits.tags(attributes.tags, "tags", values_only=attributes.protocol is AgentProtocol.V1)
    limits.text(attributes.hostname, "hostname")
    return attributes


class AgentSessions:
    def __init__(
        self,
        memory: FleetMemory,
        transactions: Transactions,
        alarms: AlarmBuffer,
        clock: Clock,
        observer: Observer,
    ) -> None:
        self._memory = memory
        self._agents = memory.agents
        self._transactions = transactions
        self._alarms = alarms
        self._clock = clock
        self._observer = observer

    async def heartbeat(self, agent_id: str, attributes: AgentAttributes, caller: Caller) -> Agent:
        """An agent is alive: its record now. Its first heartbeat, or one with other attributes, is checked
        and written at once; one that only moves the time is written in the next batch."""
        now = int(self._clock.now())
        known = self._agents.get(agent_id)
        if known is not None and known.attributes == attributes:
            return self._agents.touch(agent_id, now) or known
        limits.name(agent_id, "agent_id")
        _checked_attributes(attributes)
        if known is None:
            agent = Agent(agent_id, attributes, now)
        else:  # what it reported (statistics, held versions, statuses) stays its own
            agent = Agent(
                agent_id,
                attributes,
                now,
                known.running_details,
                known.config_versions,
                known.last_config_fetch_time,
                known.config_statuses,
            )
        store = self._transactions.store
        saved = await self._transactions.write(caller, lambda _, deadline: store.save_agent(agent, deadline))
        if known is None:
            log.info("agent registered", extra={"agent_id": agent_id, "ip": attributes.ip})
        return self._agents.get(agent_id) or saved.agent

    def alive(self, agent: Agent) -> Agent:
        """A known agent is alive, and says nothing else of itself (a second client of one agent)."""
        return self._agents.touch(agent.agent_id, int(self._clock.now())) or agent

    def find(self, agent_id: str) -> Agent | None:
        """The agent as this server knows it now, from memory (None: not known here)."""
        return self._agents.get(agent_id)

    async def known(self, agent_id: str, caller: Caller) -> Agent:
        """From memory; an agent registered through another server is looked up in the store once."""
        agent = self._agents.get(agent_id)
        if agent is None:  # not checked yet: a known agent's id was checked when it registered
            limits.name(agent_id, "agent_id")
            agent = await self._transactions.read(caller, lambda deadline: self._load(agent_id, deadline))
        if agent is None:
            raise errors.agent_not_found(agent_id)
        return agent

    def _load(self, agent_id: str, deadline: Deadline) -> Agent | None:
        """Store thread: an earlier job may have loaded it meanwhile."""
        agent = self._agents.get(agent_id)
        if agent is None:
            agent = self._transactions.store.get_agent(agent_id, deadline)
            if agent is not None:
                self._memory.apply(AgentSaved(agent))
        return agent

    def configs(self, agent: Agent, kind: ConfigKind) -> tuple[Config, ...]:
        """The configs of `kind` applied to every group of the agent, by name."""
        return self._memory.catalog.effective_configs(agent.attributes.tags, kind)

    def record(
        self,
        agent: Agent,
        effective: Iterable[Config],
        held: Mapping[str, int | None],
        statuses: Mapping[str, str] = NO_STATUSES,
    ) -> None:
        """What the agent reports holding of its `effective` configs (a version each, None: none), and how
        applying each went where it says: memory now, the store in the next batch. What it reports of
        other configs is not kept."""
        versions: list[tuple[str, int]] = []
        applied: list[tuple[str, str]] = []
        for config in effective:
            version = held.get(config.name)
            if version is not None:
                versions.append((config.name, version))
                status = statuses.get(config.name)
                if status:
                    applied.append((config.name, status))
        versions.sort()
        applied.sort()
        self._agents.record_fetch(agent.agent_id, tuple(versions), tuple(applied), int(self._clock.now()))

    async def report_statistics(self, agent_id: str, statistics: Statistics, caller: Caller) -> None:
        agent = await self.known(agent_id, caller)
        limits.count(statistics.extras, "running_details.extras", limits.MAX_EXTRAS)
        self._agents.set_running_details(agent.agent_id, statistics.details())

    async def alarm(self, agent_id: str, kind: str, detail: str, caller: Caller) -> None:
        """An agent reports a problem: kept (written in the next batch, within the retention bounds),
        counted by type, and logged, one line per alarm."""
        agent = await self.known(agent_id, caller)
        limits.text(kind + detail, "type and detail", limits.MAX_ALARM)
        self._alarms.add(Alarm(agent.agent_id, kind, detail, int(self._clock.now())))
        self._observer.alarm(kind)
        log.warning(
            "agent alarm", extra={"agent_id": agent.agent_id, "alarm_type": kind, "detail": detail[:1024]}
        )
