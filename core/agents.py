"""The agent registry: every known agent in memory, indexed by tag and sorted by id, with the writes it
still owes.

An agent's registration and any change of its attributes are written to the store before the heartbeat is
answered (the agent sessions do that); what only moves with time (the latest heartbeat time, the running
statistics, the config versions it reported and when) is recorded here at once, so that reads never lag,
and handed to the store in batches by `take_pending`.

Records are immutable (`core.model.Agent` is frozen): a change builds the agent's next record and puts it
in the old one's place. Both transports' threads and the store thread change the registry, so every
change holds one short lock and reads the record it replaces under it; readers take the record of the
moment without the lock (a single dict read) and may keep it for the whole request.

Memory per agent is what limits the fleet one server holds, so what agents repeat is shared: attribute
strings, tag sets, held-version and status tuples are interned.

How many agents were seen since a moment (online, in the last minute: the fleet's size, reported every
second) is counted by the second of each agent's latest heartbeat, kept as heartbeats arrive, so that
counting reads one entry per second of the window instead of scanning the fleet on the event loop (which,
with a large fleet, stalls every answer once a second).
"""

import bisect
import math
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from core.model import Agent, AgentAttributes, ConfigStatuses, HeldVersions, Tag

NO_DETAILS: Mapping[str, str] = {}
"""The statistics of every agent that sent none: shared (statistics are only ever replaced whole)."""
MAX_SHARED = 10_000
"""Distinct held-version tuples kept for sharing; past it the table starts again (sharing only saves
memory, it changes nothing)."""


@dataclass(frozen=True, slots=True)
class Activity:
    """An agent's time-driven state: what a batch writes, and what the store holds of other servers'."""

    agent_id: str
    latest_heartbeat_time: int
    running_details: Mapping[str, str]
    config_versions: HeldVersions
    last_config_fetch_time: int
    config_statuses: ConfigStatuses = ()


class AgentRegistry:
    def __init__(self, agents: Iterable[Agent] = ()) -> None:
        self._agents: dict[str, Agent] = {}
        self._ids: list[str] = []
        self._by_tag: dict[Tag, set[str]] = {}
        self._pending: set[str] = set()
        self._tag_sets: dict[tuple[Tag, ...], tuple[Tag, ...]] = {}
        self._held: dict[HeldVersions, HeldVersions] = {}
        self._statuses: dict[ConfigStatuses, ConfigStatuses] = {}
        self._by_second: dict[int, int] = {}
        """Agents by the second of their latest heartbeat."""
        self._newest = 0
        self._lock = threading.Lock()
        for agent in agents:
            self._insert(agent)

    def __len__(self) -> int:
        return len(self._agents)

    def get(self, agent_id: str) -> Agent | None:
        return self._agents.get(agent_id)

    def merge(self, stored: Agent) -> Agent:
        """Take an agent as the store has it, keeping the newer time-driven state of ours; the record now
        held."""
        with self._lock:
            old = self._agents.get(stored.agent_id)
            merged = stored
            if old is not None:
                self._unindex(old)
                if old.latest_heartbeat_time >= stored.latest_heartbeat_time:
                    merged = replace(
                        merged,
                        latest_heartbeat_time=old.latest_heartbeat_time,
                        running_details=old.running_details,
                    )
                if old.last_config_fetch_time >= stored.last_config_fetch_time:
                    merged = replace(
                        merged,
                        config_versions=old.config_versions,
                        config_statuses=old.config_statuses,
                        last_config_fetch_time=old.last_config_fetch_time,
                    )
            return self._insert(merged)

    def reload(self, stored: Iterable[Agent]) -> None:
        """Everything the store holds; agents it no longer holds are dropped."""
        kept: set[str] = set()
        for agent in stored:
            kept.add(agent.agent_id)
            self.merge(agent)
        for agent_id in [agent_id for agent_id in self._agents if agent_id not in kept]:
            self.remove(agent_id)

    def remove(self, agent_id: str) -> None:
        with self._lock:
            agent = self._agents.pop(agent_id, None)
            if agent is None:
                return
            self._unindex(agent)
            self._pending.discard(agent_id)
            index = bisect.bisect_left(self._ids, agent_id)
            if index < len(self._ids) and self._ids[index] == agent_id:
                del self._ids[index]

    def compact(self) -> None:
        """Give back the room of removed agents (a dict never shrinks by itself): after a sweep."""
        with self._lock:
            self._agents = dict(self._agents)
            self._ids = self._ids[:]

    def touch(self, agent_id: str, now: int) -> Agent | None:
        """Record a heartbeat that changed nothing but the time; the agent's record now (None when it was
        removed meanwhile)."""
        with self._lock:
            agent = self._agents.get(agent_id)
            if agent is None:
                return None
            touched = self._replaced(agent, agent.seen(now))
            self._pending.add(agent_id)
        return touched

    def set_running_details(self, agent_id: str, details: Mapping[str, str]) -> None:
        with self._lock:
            agent = self._agents.get(agent_id)
            if agent is not None:
                self._agents[agent_id] = replace(agent, running_details=details)
                self._pending.add(agent_id)

    def record_fetch(self, agent_id: str, held: HeldVersions, statuses: ConfigStatuses, now: int) -> None:
        """Record the versions an agent reported holding (and, v2, how applying them went)."""
        with self._lock:
            agent = self._agents.get(agent_id)
            if agent is None:
                return
            if held != agent.config_versions:
                held = self._shared_held(held)
            if statuses != agent.config_statuses:
                statuses = self._shared_statuses(statuses)
            self._agents[agent_id] = agent.holding(held, statuses, now)
            self._pending.add(agent_id)

    def mark_pending(self, agent_ids: Iterable[str]) -> None:
        """Put back what a failed batch did not write, for the next one."""
        with self._lock:
            self._pending.update(agent_id for agent_id in agent_ids if agent_id in self._agents)

    def take_pending(self) -> list[Activity]:
        """The agents whose time-driven state changed since the last call, as it is now."""
        with self._lock:
            pending, self._pending = self._pending, set()
            agents = [self._agents[agent_id] for agent_id in pending if agent_id in self._agents]
        return [
            Activity(
                agent.agent_id,
                agent.latest_heartbeat_time,
                agent.running_details,
                agent.config_versions,
                agent.last_config_fetch_time,
                agent.config_statuses,
            )
            for agent in agents
        ]

    def absorb(self, stored: Iterable[Activity]) -> None:
        """Take what other servers wrote of these agents' activity where it is newer than ours."""
        with self._lock:
            for activity in stored:
                agent = self._agents.get(activity.agent_id)
                if agent is not None:
                    self._absorb(agent, activity)

    def _absorb(self, agent: Agent, activity: Activity) -> None:
        absorbed = agent
        if activity.latest_heartbeat_time > agent.latest_heartbeat_time:
            absorbed = replace(
                absorbed,
                latest_heartbeat_time=activity.latest_heartbeat_time,
                running_details=activity.running_details or NO_DETAILS,
            )
        if activity.last_config_fetch_time > agent.last_config_fetch_time:
            absorbed = replace(
                absorbed,
                config_versions=self._shared_held(activity.config_versions),
                config_statuses=self._shared_statuses(activity.config_statuses),
                last_config_fetch_time=activity.last_config_fetch_time,
            )
        if absorbed is not agent:
            self._replaced(agent, absorbed)

    def any_silent_since(self, before: int) -> bool:
        """Whether this server knows of an agent whose last heartbeat is older than `before`."""
        return any(agent.latest_heartbeat_time < before for agent in list(self._agents.values()))

    def seen_after(self, *moments: float) -> list[int]:
        """For each moment (unix seconds), how many agents sent a heartbeat after it: one lookup per second
        between the moment and the newest heartbeat."""
        by_second, newest = self._by_second, self._newest
        return [
            sum(by_second.get(second, 0) for second in range(math.floor(moment) + 1, newest + 1))
            for moment in moments
        ]

    def ids(self, tags: Iterable[Tag] | None) -> Sequence[str]:
        """The ids of the agents sharing any of `tags`, or of every agent for None (the default group),
        sorted: a snapshot, safe to page through while agents come and go."""
        if tags is None:
            return self._ids[:]
        keys = {key for name, value in tags for key in ((name, value), ("", value))}  # v1: values only
        with self._lock:
            found = set().union(*(self._by_tag.get(key, ()) for key in keys))
        return sorted(found)

    def these(self, agent_ids: Iterable[str]) -> list[Agent]:
        """The agents of these ids that are still known, in the same order."""
        agents = self._agents
        return [agent for agent in (agents.get(agent_id) for agent_id in agent_ids) if agent is not None]

    def _replaced(self, old: Agent, new: Agent) -> Agent:
        """Put `new` in `old`'s place (under the lock), counted by the second of its latest heartbeat."""
        if new.latest_heartbeat_time != old.latest_heartbeat_time:
            self._uncount(old.latest_heartbeat_time)
            self._count(new.latest_heartbeat_time)
        self._agents[new.agent_id] = new
        return new

    def _count(self, second: int) -> None:
        self._by_second[second] = self._by_second.get(second, 0) + 1
        self._newest = max(self._newest, second)

    def _uncount(self, second: int) -> None:
        left = self._by_second[second] - 1
        if left:
            self._by_second[second] = left
        else:
            del self._by_second[second]

    def _insert(self, agent: Agent) -> Agent:
        """Index and hold `agent` (not held before, or unindexed), with what it shares with others shared."""
        shared = replace(
            agent,
            attributes=self._shared(agent.attributes),
            running_details=agent.running_details or NO_DETAILS,
            config_versions=self._shared_held(agent.config_versions),
            config_statuses=self._shared_statuses(agent.config_statuses),
        )
        self._count(shared.latest_heartbeat_time)
        if shared.agent_id not in self._agents:
            bisect.insort(self._ids, shared.agent_id)
        self._agents[shared.agent_id] = shared
        for tag in shared.attributes.tags:
            self._by_tag.setdefault(tag, set()).add(shared.agent_id)
        return shared

    def _shared(self, attributes: AgentAttributes) -> AgentAttributes:
        """The same attributes, built from strings and tag sets shared with every other agent that has
        them: a fleet repeats its agent types, versions and tags."""
        tags = self._tag_sets.setdefault(attributes.tags, attributes.tags)
        return AgentAttributes(
            sys.intern(attributes.agent_type),
            attributes.ip,
            sys.intern(attributes.version),
            sys.intern(attributes.running_status),
            attributes.startup_time,
            tags,
            attributes.protocol,
            sys.intern(attributes.hostname),
        )

    def _shared_held(self, held: HeldVersions) -> HeldVersions:
        if len(self._held) >= MAX_SHARED:
            self._held = {}
        return self._held.setdefault(held, held)

    def _shared_statuses(self, statuses: ConfigStatuses) -> ConfigStatuses:
        if len(self._statuses) >= MAX_SHARED:
            self._statuses = {}
        return self._statuses.setdefault(statuses, statuses)

    def _unindex(self, agent: Agent) -> None:
        self._uncount(agent.latest_heartbeat_time)
        for tag in agent.attributes.tags:
            ids = self._by_tag.get(tag)
            if ids is not None:
                ids.discard(agent.agent_id)
                if not ids:
                    del self._by_tag[tag]
