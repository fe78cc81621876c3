"""The agent registry: every known agent in memory, indexed by tag, with the writes it still owes.

An agent's registration and any change of its attributes are written to the store before the heartbeat is
answered (the service does that); what only moves with time, the latest heartbeat time and the running
statistics, is updated here at once, so that reads never lag, and handed to the store in batches by
`take_pending`. Both transports' threads call in, so mutations hold one short lock; plain reads rely on
the atomicity of single dict operations.
"""

import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from core.model import Agent, AgentAttributes, Tag

NO_DETAILS: dict[str, str] = {}
"""The statistics of every agent that sent none: shared, so never changed in place (running_details is
only ever replaced whole)."""


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """An agent's time-driven state as it was when a batch was taken."""

    agent_id: str
    latest_heartbeat_time: int
    running_details: dict[str, str]


class AgentRegistry:
    def __init__(self, agents: Iterable[Agent] = ()) -> None:
        self._agents: dict[str, Agent] = {}
        self._by_tag: dict[Tag, set[str]] = {}
        self._pending: set[str] = set()
        self._tag_sets: dict[tuple[Tag, ...], tuple[Tag, ...]] = {}
        self._lock = threading.Lock()
        for agent in agents:
            self._insert(agent)

    def __len__(self) -> int:
        return len(self._agents)

    def get(self, agent_id: str) -> Agent | None:
        return self._agents.get(agent_id)

    def put(self, agent: Agent) -> None:
        """Add an agent or replace one whose attributes changed (after the store has it)."""
        with self._lock:
            old = self._agents.get(agent.agent_id)
            if old is not None:
                self._unindex(old)
            self._insert(agent)

    def merge(self, stored: Agent) -> None:
        """Take an agent as another server stored it, keeping the newer heartbeat and statistics of ours."""
        with self._lock:
            old = self._agents.get(stored.agent_id)
            if old is not None:
                self._unindex(old)
                if old.latest_heartbeat_time >= stored.latest_heartbeat_time:
                    stored.latest_heartbeat_time = old.latest_heartbeat_time
                    stored.running_details = old.running_details
            self._insert(stored)

    def reload(self, stored: Iterable[Agent]) -> None:
        for agent in stored:
            self.merge(agent)

    def touch(self, agent: Agent, now: int) -> None:
        """Record a heartbeat that changed nothing but the time."""
        agent.latest_heartbeat_time = now
        with self._lock:
            self._pending.add(agent.agent_id)

    def set_running_details(self, agent: Agent, details: dict[str, str]) -> None:
        agent.running_details = details
        with self._lock:
            self._pending.add(agent.agent_id)

    def mark_pending(self, agent_ids: Iterable[str]) -> None:
        """Put back what a failed batch did not write, for the next one."""
        with self._lock:
            self._pending.update(agent_ids)

    def take_pending(self) -> list[PendingWrite]:
        """The agents whose time-driven state changed since the last call, as it is now."""
        with self._lock:
            pending, self._pending = self._pending, set()
            agents = [self._agents[agent_id] for agent_id in pending]
        return [
            PendingWrite(agent.agent_id, agent.latest_heartbeat_time, dict(agent.running_details))
            for agent in agents
        ]

    def seen_since(self, since: int) -> int:
        """How many agents sent a heartbeat at or after `since` (unix seconds)."""
        return sum(1 for agent in list(self._agents.values()) if agent.latest_heartbeat_time >= since)

    def members(self, tags: Iterable[Tag] | None) -> list[Agent]:
        """The agents sharing any of `tags`, or every agent for None (the default group); by id."""
        if tags is None:
            agents = list(self._agents.values())
        else:
            with self._lock:
                ids = set().union(*(self._by_tag.get(tag, ()) for tag in tags))
            agents = [self._agents[agent_id] for agent_id in ids]
        agents.sort(key=lambda agent: agent.agent_id)
        return agents

    def _insert(self, agent: Agent) -> None:
        agent.attributes = self._shared(agent.attributes)
        if not agent.running_details:
            agent.running_details = NO_DETAILS
        self._agents[agent.agent_id] = agent
        for tag in agent.attributes.tags:
            self._by_tag.setdefault(tag, set()).add(agent.agent_id)

    def _shared(self, attributes: AgentAttributes) -> AgentAttributes:
        """The same attributes, built from strings and tag sets shared with every other agent that has
        them: a fleet repeats its agent types, versions and tags, and memory per agent is what limits
        the fleet one server holds."""
        tags = self._tag_sets.setdefault(attributes.tags, attributes.tags)
        return AgentAttributes(
            sys.intern(attributes.agent_type),
            attributes.ip,
            sys.intern(attributes.version),
            sys.intern(attributes.running_status),
            attributes.startup_time,
            tags,
        )

    def _unindex(self, agent: Agent) -> None:
        for tag in agent.attributes.tags:
            ids = self._by_tag.get(tag)
            if ids is not None:
                ids.discard(agent.agent_id)
                if not ids:
                    del self._by_tag[tag]
