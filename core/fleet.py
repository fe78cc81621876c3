"""The fleet domain: commands and queries on agent groups, configs, bindings and agents, in model types.

Protocol façades (`facades/`) translate their wire messages to these calls and back; nothing here knows a
wire format. Inputs are checked here (`core.limits`), rules are checked by the store inside each write
transaction (`core.rules`), and memory is changed only by `FleetMemory`, right after a commit.

- Operators' reads (`group`, `configs`, `agents_in`, …) first catch up with the store's change feed, so
  that a read answered by any server reflects every write acknowledged before it began, by any server.
- Operators' writes run on the store worker as one transaction each and are answered once durable.
- The agents' hot paths (`heartbeat` of a known agent, `config_updates`) are answered from memory, with
  work bounded by the agent's own tags, groups and configs: no store round trip, no scan of the fleet. A
  heartbeat that only moves the time reaches the store in the next batch.
"""

import bisect
import logging
from collections.abc import Callable, Mapping, Sequence
from functools import partial

from core import errors, limits, paging, rules
from core.alarms import AlarmBuffer
from core.catalog import Catalog
from core.changes import AgentSaved, Change
from core.clock import Clock, Deadline
from core.memory import FleetMemory
from core.model import (
    Agent,
    AgentAttributes,
    AgentGroup,
    AgentStatus,
    Alarm,
    Config,
    FleetPolicy,
    Rollout,
    Statistics,
)
from core.paging import Page
from core.runtime.batcher import HeartbeatBatcher
from core.runtime.feed import ChangeFeed
from core.runtime.health import StoreHealth
from core.runtime.observer import Observer
from core.runtime.worker import StoreWorker
from core.versions import ConfigUpdate, config_updates

REFRESH_CHUNK = 1000
"""Agents whose activity one store query brings in."""
ALARMS_PAGE = 100
"""Alarms in a page when the caller does not say."""

log = logging.getLogger(__name__)


def _checked_group(group: AgentGroup) -> AgentGroup:
    limits.name(group.name, "group_name")
    limits.text(group.description, "description")
    limits.tags(group.tags, "tags")
    return group


def _checked_config(config: Config) -> Config:
    limits.name(config.name, "config_name")
    limits.required(config.content, "content")
    limits.text(config.agent_type, "agent_type")
    limits.text(config.description, "description")
    limits.text(config.content, "content", limits.MAX_CONTENT)
    return config


def _checked_attributes(attributes: AgentAttributes) -> AgentAttributes:
    """What an agent says of itself (checked when it is about to be stored: a new agent, a change)."""
    limits.text(attributes.agent_type, "agent_type")
    limits.text(attributes.ip, "ip")
    limits.text(attributes.version, "agent_version")
    limits.text(attributes.running_status, "running_status")
    limits.tags(attributes.tags, "tags")
    return attributes


def _alarm_position(after: str) -> tuple[int, int]:
    time, _, alarm_id = after.partition(":")
    if not (time.isdigit() and alarm_id.isdigit()):
        raise limits.invalid("page_token is not one this server gave; start again without it.")
    return int(time), int(alarm_id)


class Fleet:
    def __init__(
        self,
        memory: FleetMemory,
        worker: StoreWorker,
        feed: ChangeFeed,
        health: StoreHealth,
        batcher: HeartbeatBatcher,
        alarms: AlarmBuffer,
        clock: Clock,
        policy: FleetPolicy,
        observer: Observer,
    ) -> None:
        self._memory = memory
        self._worker = worker
        self._feed = feed
        self._health = health
        self._batcher = batcher
        self._alarms = alarms
        self._clock = clock
        self.policy = policy
        self._observer = observer

    @property
    def ready(self) -> bool:
        """The store answers: writes and reads can be served."""
        return self._health.ok

    # Operators' reads.

    async def _current(self) -> Catalog:
        """The catalog, once it reflects every write committed before this call."""
        self._health.check()
        await self._feed.read_index(self._worker.deadline())
        return self._memory.catalog

    async def group(self, name: str) -> AgentGroup:
        catalog = await self._current()
        return self._group(catalog, name)

    @staticmethod
    def _group(catalog: Catalog, name: str) -> AgentGroup:
        group = catalog.groups.get(limits.name(name, "group_name"))
        if group is None:
            raise errors.group_not_found(name)
        return group

    async def groups(self) -> list[AgentGroup]:
        groups = (await self._current()).groups
        return [groups[name] for name in sorted(groups)]

    async def config(self, name: str) -> Config:
        catalog = await self._current()
        return self._config(catalog, name)

    @staticmethod
    def _config(catalog: Catalog, name: str) -> Config:
        config = catalog.configs.get(limits.name(name, "config_name"))
        if config is None:
            raise errors.config_not_found(name)
        return config

    async def configs(self) -> list[Config]:
        configs = (await self._current()).configs
        return [configs[name] for name in sorted(configs)]

    async def applied_configs(self, group_name: str) -> list[str]:
        """The names of the configs applied to a group, sorted."""
        catalog = await self._current()
        return catalog.applied_configs(self._group(catalog, group_name).name)

    async def groups_applying(self, config_name: str) -> list[str]:
        """The names of the groups a config is applied to, sorted."""
        catalog = await self._current()
        return catalog.groups_applying(self._config(catalog, config_name).name)

    def status(self, agent: Agent) -> AgentStatus:
        return rules.status(agent.latest_heartbeat_time, self._clock.now(), self.policy.offline_after)

    async def agents(
        self, group_name: str, status: AgentStatus | None = None, page_size: int = 0, page_token: str = ""
    ) -> Page[Agent]:
        """The members of a group with `status` (None: any), by id, a page at a time (0: all), with the
        activity every server has written."""
        size = paging.page_size(page_size, 0)
        start_after = paging.after(page_token) if page_token else None
        catalog = await self._current()
        ids = self._memory.agents.ids(rules.member_tags(self._group(catalog, group_name)))
        start = bisect.bisect_right(ids, start_after) if start_after is not None else 0
        read_ahead = size if status is None else max(size, REFRESH_CHUNK)  # a filter may skip agents
        chunk = read_ahead if size else len(ids)
        found: list[Agent] = []
        while start < len(ids) and not (size and len(found) >= size):
            candidates = self._memory.agents.these(ids[start : start + chunk])
            start += chunk
            await self._refresh(candidates)
            found.extend(agent for agent in candidates if status is None or self.status(agent) is status)
        if not size or len(found) < size or (len(found) == size and start >= len(ids)):
            return Page(found, "")
        page = found[:size]
        return Page(page, paging.token(page[-1].agent_id))

    async def _refresh(self, agents: Sequence[Agent]) -> None:
        """Bring in the activity other servers wrote of these agents (batched: up to a second old)."""
        if not agents:
            return
        store, deadline = self._worker.store, self._worker.deadline()
        for start in range(0, len(agents), REFRESH_CHUNK):
            ids = [agent.agent_id for agent in agents[start : start + REFRESH_CHUNK]]
            stored = await self._worker.run(partial(store.activity, ids), deadline, "request")
            self._memory.agents.absorb(stored)

    async def config_status(self, config_name: str) -> Rollout:
        """How far the config's current version has reached the agents whose effective configs include it:
        work bounded by those agents (found by the tags of the groups it is applied to)."""
        catalog = await self._current()
        config = self._config(catalog, config_name)
        targeted: set[str] = set()
        for group_name in catalog.groups_applying(config.name):
            targeted.update(self._memory.agents.ids(rules.member_tags(catalog.groups[group_name])))
        agents = self._memory.agents.these(sorted(targeted))
        await self._refresh(agents)
        return rules.rollout(config, agents, self._clock.now(), self.policy.offline_after)

    async def alarms(
        self, agent_id: str, kind: str, since: int, page_size: int, page_token: str
    ) -> Page[Alarm]:
        """Stored alarms newest first, each filter optional; this server's pending ones are written first
        (other servers' within their batch interval)."""
        size = paging.page_size(page_size, ALARMS_PAGE)
        before = _alarm_position(paging.after(page_token)) if page_token else None
        self._health.check()
        store = self._worker.store

        def read() -> list[Alarm]:
            self._batcher.write_pending()
            return store.list_alarms(agent_id, kind, since, size + 1, before)

        found = await self._worker.run(read, self._worker.deadline(), "request")
        if len(found) <= size:
            return Page(found, "")
        last = found[size - 1]
        return Page(found[:size], paging.token(f"{last.time}:{last.id}"))

    # Operators' writes.

    async def _write(self, work: Callable[[Deadline], Change]) -> Change:
        """Run one store transaction and apply what it committed to memory, on the store thread."""
        self._health.check()
        deadline = self._worker.deadline()

        def commit() -> Change:
            change = work(deadline)
            self._memory.apply(change)
            return change

        return await self._worker.run(commit, deadline, "request")

    async def create_group(self, group: AgentGroup) -> None:
        _checked_group(group)
        await self._write(lambda deadline: self._worker.store.create_group(group, deadline))

    async def update_group(self, group: AgentGroup) -> None:
        _checked_group(group)
        await self._write(lambda deadline: self._worker.store.update_group(group, deadline))

    async def delete_group(self, name: str) -> None:
        limits.name(name, "group_name")
        rules.check_group_deletable(name, ())  # what can be told without the store: not `default`
        await self._write(lambda deadline: self._worker.store.delete_group(name, deadline))

    async def create_config(self, config: Config) -> None:
        _checked_config(config)
        await self._write(lambda deadline: self._worker.store.create_config(config, deadline))

    async def update_config(self, config: Config) -> None:
        _checked_config(config)
        await self._write(lambda deadline: self._worker.store.update_config(config, deadline))

    async def delete_config(self, name: str) -> None:
        limits.name(name, "config_name")
        await self._write(lambda deadline: self._worker.store.delete_config(name, deadline))

    async def apply(self, group_name: str, config_name: str) -> None:
        """Apply a config to a group: every member gets it at its next GetConfigList."""
        limits.name(group_name, "group_name")
        limits.name(config_name, "config_name")
        await self._write(lambda deadline: self._worker.store.apply_config(group_name, config_name, deadline))

    async def remove(self, group_name: str, config_name: str) -> None:
        limits.name(group_name, "group_name")
        limits.name(config_name, "config_name")
        await self._write(
            lambda deadline: self._worker.store.remove_config(group_name, config_name, deadline)
        )

    # Agents.

    async def heartbeat(self, agent_id: str, attributes: AgentAttributes) -> None:
        """An agent is alive. Its first heartbeat, or one with other attributes, is written at once; one that
        only moves the time is written in the next batch."""
        now = int(self._clock.now())
        agents = self._memory.agents
        known = agents.get(agent_id)
        if known is not None and known.attributes == attributes:
            agents.touch(known, now)
            return
        limits.name(agent_id, "agent_id")
        agent = Agent(agent_id, _checked_attributes(attributes), now)
        if known is not None:  # what it reported stays its own
            agent.running_details = known.running_details
            agent.config_versions = known.config_versions
            agent.last_config_fetch_time = known.last_config_fetch_time
        await self._write(lambda deadline: self._worker.store.save_agent(agent, deadline))
        if known is None:
            log.info("agent registered", extra={"agent_id": agent_id, "ip": attributes.ip})

    async def report_statistics(self, agent_id: str, statistics: Statistics) -> None:
        agent = await self.known_agent(agent_id)
        limits.count(statistics.extras, "running_details.extras", limits.MAX_EXTRAS)
        self._memory.agents.set_running_details(agent, statistics.details())

    async def alarm(self, agent_id: str, kind: str, detail: str) -> None:
        """An agent reports a problem: kept (written in the next batch, within the retention bounds),
        counted by type, and logged, one line per alarm."""
        agent = await self.known_agent(agent_id)
        limits.text(kind + detail, "type and detail", limits.MAX_ALARM)
        self._alarms.add(Alarm(agent.agent_id, kind, detail, int(self._clock.now())))
        self._observer.alarm(kind)
        log.warning(
            "agent alarm", extra={"agent_id": agent.agent_id, "alarm_type": kind, "detail": detail[:1024]}
        )

    async def delete_agent(self, agent_id: str) -> None:
        """Remove an agent now (a decommissioned host); it registers anew if it sends a heartbeat again."""
        limits.name(agent_id, "agent_id")
        await self._write(lambda deadline: self._worker.store.delete_agent(agent_id, deadline))

    async def config_updates(self, agent_id: str, held: Mapping[str, int]) -> list[ConfigUpdate]:
        """What the agent must add, replace, drop or keep, given the config versions it holds. What it holds
        of its effective configs is recorded (memory now, the store in the next batch)."""
        agent = await self.known_agent(agent_id)
        limits.count(held, "config_versions", limits.MAX_HELD_CONFIGS)
        effective = self.effective_configs(agent)
        reported = tuple((config.name, held[config.name]) for config in effective if config.name in held)
        self._memory.agents.record_fetch(agent, reported, int(self._clock.now()))
        return config_updates(effective, held)

    def effective_configs(self, agent: Agent) -> tuple[Config, ...]:
        """The configs applied to every group of the agent, by name."""
        return self._memory.catalog.effective_configs(agent.attributes.tags)

    async def known_agent(self, agent_id: str) -> Agent:
        """From memory; an agent registered through another server is looked up in the store once."""
        agent = self._memory.agents.get(agent_id)
        if agent is None:  # not checked yet: a known agent's id was checked when it registered
            limits.name(agent_id, "agent_id")
            self._health.check()
            agent = await self._worker.run(
                lambda: self._load_agent(agent_id), self._worker.deadline(), "request"
            )
        if agent is None:
            raise errors.agent_not_found(agent_id)
        return agent

    def _load_agent(self, agent_id: str) -> Agent | None:
        """Store thread: an earlier job may have loaded it meanwhile."""
        agent = self._memory.agents.get(agent_id)
        if agent is None:
            agent = self._worker.store.get_agent(agent_id)
            if agent is not None:
                self._memory.apply(AgentSaved(agent))
        return agent
