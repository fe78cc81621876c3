"""The fleet domain: commands and queries on agent groups, configs, bindings and agents, in model types.

Protocol façades (`facades/`) translate their wire messages to these calls and back; nothing here knows a
wire format. Inputs are checked here (`core.limits`), rules are checked by the store inside each write
transaction (`core.rules`), and memory is changed only by `FleetMemory`, right after a commit.

- Operators' reads (`group`, `configs`, `agents_in`, …) first catch up with the store's change feed, so
  that a read answered by any server reflects every write acknowledged before it began, by any server.
- Operators' writes run on the store worker as one transaction each and are answered once durable; each
  records its audit event in that transaction, and a config write its revision. The events of refused
  writes are buffered (`core.audit`) and written with the next batch.
- The agents' hot paths (`heartbeat` of a known agent, `config_updates`) are answered from memory, with
  work bounded by the agent's own tags, groups and configs: no store round trip, no scan of the fleet. A
  heartbeat that only moves the time reaches the store in the next batch.
"""

import bisect
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any, TypeVar

from core import errors, limits, paging, rules
from core.alarms import AlarmBuffer
from core.audit import AuditBuffer
from core.catalog import Catalog
from core.changes import AgentSaved, Change, ConfigSaved
from core.clock import Clock, Deadline
from core.content import json_object
from core.memory import FleetMemory
from core.model import (
    DEFAULT_GROUP,
    Agent,
    AgentAttributes,
    AgentGroup,
    AgentProtocol,
    AgentStatus,
    Alarm,
    AuditEvent,
    Caller,
    Config,
    ConfigKind,
    ConfigPatch,
    ConfigRevision,
    Count,
    FleetPolicy,
    FleetSummary,
    Preview,
    Rollout,
    Statistics,
)
from core.paging import Page
from core.runtime.batcher import HeartbeatBatcher
from core.runtime.feed import ChangeFeed
from core.runtime.health import StoreHealth
from core.runtime.observer import Observer
from core.runtime.worker import StoreWorker
from core.versions import Check, ConfigUpdate, Delivery, Held, checks, config_updates, deliveries

ACCEPT = errors.Code.ACCEPT.value
Stored = TypeVar("Stored", Alarm, AuditEvent)
REFRESH_CHUNK = 1000
"""Agents whose activity one store query brings in."""
ALARMS_PAGE = 100
"""Alarms, revisions and audit events in a page when the caller does not say."""

log = logging.getLogger(__name__)


def _checked_group(group: AgentGroup) -> AgentGroup:
    limits.name(group.name, "group_name")
    limits.text(group.description, "description")
    limits.tags(group.tags, "tags")
    return group


def _checked_config(config: Config | ConfigPatch) -> None:
    limits.name(config.name, "config_name")
    limits.required(config.content, "content")
    limits.text(config.agent_type or "", "agent_type")
    limits.text(config.description or "", "description")
    limits.text(config.content, "content", limits.MAX_CONTENT)


def _reason(reason: str) -> str:
    return limits.text(reason, "reason")


def _checked_attributes(attributes: AgentAttributes) -> AgentAttributes:
    """What an agent says of itself (checked when it is about to be stored: a new agent, a change)."""
    limits.text(attributes.agent_type, "agent_type")
    limits.text(attributes.ip, "ip")
    limits.text(attributes.version, "agent_version")
    limits.text(attributes.running_status, "running_status")
    limits.tags(attributes.tags, "tags", values_only=attributes.protocol is AgentProtocol.V1)
    limits.text(attributes.hostname, "hostname")
    return attributes


def _position(after: str) -> tuple[int, int]:
    """The (time, id) a page of alarms or audit events ended at."""
    time, _, row_id = after.partition(":")
    if not (time.isdigit() and row_id.isdigit()):
        raise limits.invalid("page_token is not one this server gave; start again without it.")
    return int(time), int(row_id)


def _page_after(items: list[Any], size: int, key: Callable[[Any], str]) -> Page[Any]:
    """A page of `size` from `items` read one beyond it: the token names the last item kept."""
    if len(items) <= size:
        return Page(items, "")
    return Page(items[:size], paging.token(key(items[size - 1])))


class Fleet:
    def __init__(
        self,
        memory: FleetMemory,
        worker: StoreWorker,
        feed: ChangeFeed,
        health: StoreHealth,
        batcher: HeartbeatBatcher,
        alarms: AlarmBuffer,
        audit: AuditBuffer,
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
        self._audit = audit
        self._clock = clock
        self.policy = policy
        self._observer = observer

    def census(self) -> dict[str, int]:
        """What memory holds: for the start line."""
        catalog = self._memory.catalog
        bindings = sum(len(names) for names in catalog.applied.values())
        counts = (len(catalog.groups), len(catalog.configs), bindings, len(self._memory.agents))
        return dict(zip(("groups", "configs", "bindings", "agents"), counts, strict=True))

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

    async def configs(self, page_size: int = 0, page_token: str = "") -> Page[Config]:
        """Configs by name, a page at a time (0: all)."""
        size = paging.page_size(page_size, 0)
        start_after = paging.after(page_token) if page_token else None
        configs = (await self._current()).configs
        names = sorted(configs)
        start = bisect.bisect_right(names, start_after) if start_after is not None else 0
        found = [configs[name] for name in names[start : start + size + 1 if size else None]]
        return _page_after(found, size, lambda config: config.name) if size else Page(found, "")

    async def history(self, name: str, page_size: int, page_token: str) -> Page[ConfigRevision]:
        """The kept revisions of a config (also a deleted one), newest first."""
        limits.name(name, "config_name")
        size = paging.page_size(page_size, ALARMS_PAGE)
        before = paging.after(page_token) if page_token else None
        if before is not None and not before.isdigit():
            raise limits.invalid("page_token is not one this server gave; start again without it.")
        self._health.check()
        store = self._worker.store
        found = await self._worker.run(
            lambda: store.config_history(name, size + 1, None if before is None else int(before)),
            self._worker.deadline(),
            "request",
        )
        if not found and before is None:
            raise errors.no_history(name)
        return _page_after(found, size, lambda revision: str(revision.config.version))

    async def audit_events(
        self, since: int, actor: str, target: str, page_size: int, page_token: str
    ) -> Page[AuditEvent]:
        """Audit events newest first, each filter optional; this server's pending ones are written first
        (other servers' within their batch interval)."""
        store = self._worker.store
        return await self._newest_first(
            page_size,
            page_token,
            lambda limit, before: store.list_audit(since, actor, target, limit, before),
        )

    async def _newest_first(
        self,
        page_size: int,
        page_token: str,
        read: Callable[[int, tuple[int, int] | None], list[Stored]],
    ) -> Page[Stored]:
        """A page of stored alarms or audit events, newest first by (time, id), once this server's pending
        ones are written."""
        size = paging.page_size(page_size, ALARMS_PAGE)
        before = _position(paging.after(page_token)) if page_token else None
        self._health.check()

        def page() -> list[Stored]:
            self._batcher.write_pending()
            return read(size + 1, before)

        found = await self._worker.run(page, self._worker.deadline(), "request")
        return _page_after(found, size, lambda item: f"{item.time}:{item.id}")

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

    async def preview(self, group: AgentGroup) -> Preview:
        """What a group of these tags would hold, against what the group of that name holds now: the blast
        radius of a change before it is saved (this server's agents; work bounded by their tags)."""
        _checked_group(group)
        catalog = await self._current()
        agents = self._memory.agents
        proposed = set(agents.ids(rules.member_tags(group)))
        existing = catalog.groups.get(group.name)
        now = set() if existing is None else set(agents.ids(rules.member_tags(existing)))
        added, removed = sorted(proposed - now), sorted(now - proposed)
        return Preview(
            len(proposed),
            len(now),
            tuple(added[: rules.MAX_LAGGING]),
            tuple(removed[: rules.MAX_LAGGING]),
            len(added),
            len(removed),
        )

    async def summary(self) -> FleetSummary:
        """Agents online and offline, in all, per protocol and per group (this server's view, like the
        `configserver_agents` metric), and the alarms stored in the last hour."""
        catalog = await self._current()
        now = self._clock.now()
        registry = self._memory.agents
        online_ids: set[str] = set()
        by_protocol: dict[str, list[int]] = {}
        everyone = registry.these(registry.ids(None))
        for agent in everyone:
            online = self.status(agent) is AgentStatus.ONLINE
            if online:
                online_ids.add(agent.agent_id)
            by_protocol.setdefault(agent.attributes.protocol.value, [0, 0])[0 if online else 1] += 1
        by_group: dict[str, Count] = {}
        for name in sorted(catalog.groups):
            members = registry.ids(rules.member_tags(catalog.groups[name]))
            up = sum(1 for agent_id in members if agent_id in online_ids)
            by_group[name] = Count(up, len(members) - up)
        store = self._worker.store

        def count_alarms() -> int:
            self._batcher.write_pending()
            return store.count_alarms(int(now) - 3600)

        alarms = await self._worker.run(count_alarms, self._worker.deadline(), "request")
        total = Count(len(online_ids), len(everyone) - len(online_ids))
        return FleetSummary(
            total, {name: Count(*pair) for name, pair in sorted(by_protocol.items())}, by_group, alarms
        )

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
        store = self._worker.store
        return await self._newest_first(
            page_size,
            page_token,
            lambda limit, before: store.list_alarms(agent_id, kind, since, limit, before),
        )

    # Operators' writes.

    async def _write(
        self, work: Callable[[Deadline], Change], check: Callable[[Catalog], None] | None = None
    ) -> Change:
        """Run one store transaction and apply what it committed to memory, on the store thread. `check`
        runs there first, on the catalog caught up with the change feed: so the writes of this server are
        checked one after the other, each against what the one before committed."""
        self._health.check()
        deadline = self._worker.deadline()

        def commit() -> Change:
            if check is not None:
                self._feed.catch_up()
                check(self._memory.catalog)
            change = work(deadline)
            self._memory.apply(change)
            return change

        return await self._worker.run(commit, deadline, "request")

    def _event(self, caller: Caller, target: str, reason: str, code: str = ACCEPT) -> AuditEvent:
        now = int(self._clock.now())
        return AuditEvent(now, caller.actor, caller.peer, caller.rpc, target, code, reason)

    def refused(self, caller: Caller, target: str, code: str, reason: str) -> None:
        """A User API write was refused: its audit event is written with the next batch."""
        self._audit.add(
            self._event(caller, limits.clipped(target, 2 * limits.MAX_NAME + 1), limits.clipped(reason), code)
        )

    async def create_group(self, group: AgentGroup, caller: Caller, reason: str = "") -> None:
        _checked_group(group)
        event = self._event(caller, group.name, _reason(reason))
        await self._write(lambda deadline: self._worker.store.create_group(group, event, deadline))

    async def update_group(self, group: AgentGroup, caller: Caller, reason: str = "") -> None:
        _checked_group(group)
        event = self._event(caller, group.name, _reason(reason))

        def check(catalog: Catalog) -> None:
            if group.name in catalog.groups:  # its new tags may bring its configs to other agents
                self._check_answers(catalog.with_group(group), (group.name,))

        await self._write(lambda deadline: self._worker.store.update_group(group, event, deadline), check)

    async def delete_group(self, name: str, caller: Caller, reason: str = "") -> None:
        limits.name(name, "group_name")
        rules.check_group_deletable(name, ())  # what can be told without the store: not `default`
        event = self._event(caller, name, _reason(reason))
        await self._write(lambda deadline: self._worker.store.delete_group(name, event, deadline))

    async def create_config(self, config: Config, caller: Caller, reason: str = "") -> None:
        _checked_config(config)
        limits.file_name(config.name, "config_name")
        event, keep = self._event(caller, config.name, _reason(reason)), self.policy.history_retention
        await self._write(lambda deadline: self._worker.store.create_config(config, event, keep, deadline))

    async def update_config(
        self, patch: ConfigPatch, expected_version: int | None, caller: Caller, reason: str = ""
    ) -> None:
        _checked_config(patch)
        event, keep = self._event(caller, patch.name, _reason(reason)), self.policy.history_retention

        def check(catalog: Catalog) -> None:
            current = catalog.configs.get(patch.name)
            if current is not None:
                after = catalog.with_config(replace(current, content=patch.content))
                self._check_answers(after, catalog.groups_applying(patch.name))

        await self._write(
            lambda deadline: self._worker.store.update_config(patch, expected_version, event, keep, deadline),
            check,
        )

    async def delete_config(
        self, name: str, expected_version: int | None, caller: Caller, reason: str = ""
    ) -> None:
        limits.name(name, "config_name")
        event, keep = self._event(caller, name, _reason(reason)), self.policy.history_retention
        await self._write(
            lambda deadline: self._worker.store.delete_config(name, expected_version, event, keep, deadline)
        )

    async def rollback(
        self, name: str, to_version: int, expected_version: int | None, caller: Caller, reason: str = ""
    ) -> Config:
        """The config at a new version holding what revision `to_version` held (re-created, unbound, when it
        was deleted); refused like an update when an agent's answer would grow too large."""
        limits.name(name, "config_name")
        event, keep = self._event(caller, name, _reason(reason)), self.policy.history_retention

        def check(catalog: Catalog) -> None:
            if name in catalog.configs:
                kept = self._worker.store.config_history(name, 1, to_version + 1)
                if kept and kept[0].config.version == to_version:
                    self._check_answers(catalog.with_config(kept[0].config), catalog.groups_applying(name))

        change = await self._write(
            lambda deadline: self._worker.store.rollback_config(
                name, to_version, expected_version, event, keep, deadline
            ),
            check,
        )
        assert isinstance(change, ConfigSaved)
        return change.config

    async def apply(self, group_name: str, config_name: str, caller: Caller, reason: str = "") -> None:
        """Apply a config to a group: every member gets it at its next GetConfigList."""
        limits.name(group_name, "group_name")
        limits.name(config_name, "config_name")
        event = self._event(caller, f"{group_name}/{config_name}", _reason(reason))

        def check(catalog: Catalog) -> None:
            if group_name in catalog.groups and config_name in catalog.configs:
                applied = catalog.applied.get(group_name, frozenset()) | {config_name}
                self._check_answers(catalog.with_applied(group_name, applied), (group_name,))

        await self._write(
            lambda deadline: self._worker.store.apply_config(group_name, config_name, event, deadline), check
        )

    async def remove(self, group_name: str, config_name: str, caller: Caller, reason: str = "") -> None:
        limits.name(group_name, "group_name")
        limits.name(config_name, "config_name")
        event = self._event(caller, f"{group_name}/{config_name}", _reason(reason))
        await self._write(
            lambda deadline: self._worker.store.remove_config(group_name, config_name, event, deadline)
        )

    def _check_answers(self, after: Catalog, groups: Iterable[str]) -> None:
        """Refuse a write after which an agent of `groups` would get a GetConfigList answer over the
        policy's bound: an agent holding any one tag of each group (also one yet to register: it joins
        every group with that tag, and `default`), and each known member, whose other groups add theirs."""
        limit = self.policy.max_answer_size
        seen: set[int] = set()
        for group_name in sorted(groups):
            group = after.groups.get(group_name)
            if group is None:
                continue
            sharing = [after.groups_by_tag.get(tag, frozenset()) for tag in group.tags] or [frozenset()]
            for groups_of_tag in sharing:
                joined = groups_of_tag | {group_name, DEFAULT_GROUP}
                rules.check_answer_size(f"Agent group {group_name}", after.configs_of(joined), limit)
            for agent in self._memory.agents.these(self._memory.agents.ids(rules.member_tags(group))):
                tags = agent.attributes.tags
                if id(tags) not in seen:  # agents share their attributes: check each tag set once
                    seen.add(id(tags))
                    configs = after.effective_configs(tags)
                    rules.check_answer_size(f"Agent {agent.agent_id} (groups of its tags)", configs, limit)

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
        _checked_attributes(attributes)
        if known is None:
            agent = Agent(agent_id, attributes, now)
        else:  # what it reported (statistics, held versions, statuses) stays its own
            agent = replace(known, attributes=attributes, latest_heartbeat_time=now)
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

    async def delete_agent(self, agent_id: str, caller: Caller, reason: str = "") -> None:
        """Remove an agent now (a decommissioned host); it registers anew if it sends a heartbeat again."""
        limits.name(agent_id, "agent_id")
        event = self._event(caller, agent_id, _reason(reason))
        await self._write(lambda deadline: self._worker.store.delete_agent(agent_id, event, deadline))

    async def config_updates(self, agent_id: str, held: Mapping[str, int]) -> tuple[ConfigUpdate, ...]:
        """What the agent must add, replace, drop or keep, given the config versions it holds. What it holds
        of its effective configs is recorded (memory now, the store in the next batch)."""
        agent = await self.known_agent(agent_id)
        limits.count(held, "config_versions", limits.MAX_HELD_CONFIGS)
        return config_updates(self._record_pipelines(agent, held), held)

    def _record_pipelines(self, agent: Agent, held: Mapping[str, int]) -> tuple[Config, ...]:
        """The agent's effective pipeline configs, once what it holds of them is recorded (memory now, the
        store in the next batch): for the protocols that report versions only (alpha, v1)."""
        effective = self.effective_configs(agent, ConfigKind.PIPELINE)
        reported = tuple((config.name, held[config.name]) for config in effective if config.name in held)
        self._memory.agents.record_fetch(agent, reported, (), int(self._clock.now()))
        return effective

    async def v2_heartbeat(
        self,
        agent_id: str,
        attributes: AgentAttributes,
        pipelines: Sequence[Held],
        instances: Sequence[Held],
    ) -> tuple[tuple[Delivery, ...], tuple[Delivery, ...]]:
        """A LoongCollector heartbeat: alive, what it holds and how applying went (recorded like
        GetConfigList's), and what it must apply or remove, pipeline configs and instance configs."""
        limits.count(pipelines, "continuous_pipeline_configs", limits.MAX_HELD_CONFIGS)
        limits.count(instances, "instance_configs", limits.MAX_HELD_CONFIGS)
        await self.heartbeat(agent_id, attributes)
        agent = await self.known_agent(agent_id)
        pipeline_configs = self.effective_configs(agent, ConfigKind.PIPELINE)
        instance_configs = self.effective_configs(agent, ConfigKind.INSTANCE)
        effective = {config.name for config in (*pipeline_configs, *instance_configs)}
        kept = sorted(
            (entry.name, entry.version, entry.status)
            for entry in (*pipelines, *instances)
            if entry.name in effective and entry.version is not None
        )
        held = tuple((name, version) for name, version, _ in kept)
        statuses = tuple((name, status) for name, _, status in kept if status)
        self._memory.agents.record_fetch(agent, held, statuses, int(self._clock.now()))
        return deliveries(pipeline_configs, pipelines), deliveries(instance_configs, instances)

    async def v2_fetch(self, agent_id: str, kind: ConfigKind, wanted: Sequence[str]) -> list[Delivery]:
        """The details a v2 agent asks for after a heartbeat that set the fetch flag: each config at its
        current version, or its removal when it is no longer in effect."""
        agent = await self.known_agent(agent_id)
        limits.count(wanted, "configs", limits.MAX_HELD_CONFIGS)
        effective = {config.name: config for config in self.effective_configs(agent, kind)}
        found: list[Delivery] = []
        for name in wanted:
            config = effective.get(name)
            if config is None:
                found.append(Delivery(name, None))
                continue
            detail = json_object(config)
            if detail is not None:  # else left out: the agent keeps what it runs, as a heartbeat would
                found.append(Delivery(name, config.version, detail))
        return found

    async def v1_heartbeat(
        self, agent_id: str, attributes: AgentAttributes, held: Mapping[str, int]
    ) -> list[Check]:
        """An iLogtail heartbeat: alive, what it holds (recorded like GetConfigList's), and the changes it
        must make to its pipeline configs."""
        limits.count(held, "pipeline_configs", limits.MAX_HELD_CONFIGS)
        known = self._memory.agents.get(agent_id)
        if known is not None and known.attributes.protocol is AgentProtocol.V2:
            # LoongCollector's legacy client: it shares its instance id with the v2 client, whose record
            # (tags, held versions, statuses) stays as that client reports it; this one is only served.
            self._memory.agents.touch(known, int(self._clock.now()))
            return checks(self.effective_configs(known, ConfigKind.PIPELINE), held)
        await self.heartbeat(agent_id, attributes)
        return checks(self._record_pipelines(await self.known_agent(agent_id), held), held)

    async def v1_fetch(self, agent_id: str, wanted: Sequence[str]) -> list[Config]:
        """The pipeline configs a v1 agent asks for, by name; one no longer in effect comes back empty (the
        agent writes what it gets)."""
        agent = await self.known_agent(agent_id)
        limits.count(wanted, "req_configs", limits.MAX_HELD_CONFIGS)
        effective = {config.name: config for config in self.effective_configs(agent, ConfigKind.PIPELINE)}
        return [effective.get(name) or Config(name) for name in wanted]

    def effective_configs(self, agent: Agent, kind: ConfigKind | None = None) -> tuple[Config, ...]:
        """The configs applied to every group of the agent (of one kind, or every kind), by name."""
        return self._memory.catalog.effective_configs(agent.attributes.tags, kind)

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
