"""Operators' reads: groups, configs, bindings, agents and their status, history, alarms, audit events and
the fleet at a glance, in model types.

Each read first catches up with the store's change feed (`Transactions.current`), so that a read answered
by any server reflects every write acknowledged before it began, by any server; then it is answered from
memory, or from the store for what only the store keeps (history, alarms, audit events). Work is bounded by
what the read names (a group's members, a config's targets) or by its page.
"""

import bisect
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from core import errors, limits, paging, rules
from core.catalog import Catalog
from core.clock import Clock, Deadline
from core.memory import FleetMemory
from core.model import (
    Agent,
    AgentGroup,
    AgentProtocol,
    AgentStatus,
    Alarm,
    AuditEvent,
    Caller,
    Config,
    ConfigRevision,
    Count,
    FleetPolicy,
    FleetSummary,
    Preview,
    Rollout,
)
from core.paging import Page
from core.runtime.batcher import HeartbeatBatcher
from core.transactions import Transactions

Stored = TypeVar("Stored", Alarm, AuditEvent)
T = TypeVar("T")
REFRESH_CHUNK = 1000
"""Agents whose activity one store query brings in."""
DEFAULT_PAGE = 100
"""Alarms, revisions and audit events in a page when the caller does not say."""


def checked_group(group: AgentGroup) -> AgentGroup:
    """A group as an operator gives it (to save, or to preview)."""
    limits.name(group.name, "group_name")
    limits.text(group.description, "description")
    limits.tags(group.tags, "tags")
    return group


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


def _group(catalog: Catalog, name: str) -> AgentGroup:
    group = catalog.groups.get(limits.name(name, "group_name"))
    if group is None:
        raise errors.group_not_found(name)
    return group


def _config(catalog: Catalog, name: str) -> Config:
    config = catalog.configs.get(limits.name(name, "config_name"))
    if config is None:
        raise errors.config_not_found(name)
    return config


class FleetQueries:
    def __init__(
        self,
        memory: FleetMemory,
        transactions: Transactions,
        batcher: HeartbeatBatcher,
        clock: Clock,
        policy: FleetPolicy,
    ) -> None:
        self._memory = memory
        self._agents = memory.agents
        self._transactions = transactions
        self._batcher = batcher
        self._clock = clock
        self._policy = policy

    def status(self, agent: Agent) -> AgentStatus:
        return rules.status(agent.latest_heartbeat_time, self._clock.now(), self._policy.offline_after)

    # Groups, configs and bindings.

    async def group(self, name: str, caller: Caller) -> AgentGroup:
        return _group(await self._transactions.current(caller), name)

    async def groups(self, caller: Caller) -> list[AgentGroup]:
        groups = (await self._transactions.current(caller)).groups
        return [groups[name] for name in sorted(groups)]

    async def config(self, name: str, caller: Caller) -> Config:
        return _config(await self._transactions.current(caller), name)

    async def configs(self, caller: Caller, page_size: int = 0, page_token: str = "") -> Page[Config]:
        """Configs by name, a page at a time (0: all)."""
        size = paging.page_size(page_size, 0)
        start_after = paging.after(page_token) if page_token else None
        configs = (await self._transactions.current(caller)).configs
        names = sorted(configs)
        start = bisect.bisect_right(names, start_after) if start_after is not None else 0
        found = [configs[name] for name in names[start : start + size + 1 if size else None]]
        return _page_after(found, size, lambda config: config.name) if size else Page(found, "")

    async def applied_configs(self, group_name: str, caller: Caller) -> list[str]:
        """The names of the configs applied to a group, sorted."""
        catalog = await self._transactions.current(caller)
        return catalog.applied_configs(_group(catalog, group_name).name)

    async def groups_applying(self, config_name: str, caller: Caller) -> list[str]:
        """The names of the groups a config is applied to, sorted."""
        catalog = await self._transactions.current(caller)
        return catalog.groups_applying(_config(catalog, config_name).name)

    async def history(
        self, name: str, page_size: int, page_token: str, caller: Caller
    ) -> Page[ConfigRevision]:
        """The kept revisions of a config (also a deleted one), newest first."""
        limits.name(name, "config_name")
        size = paging.page_size(page_size, DEFAULT_PAGE)
        before = paging.after(page_token) if page_token else None
        if before is not None and not before.isdigit():
            raise limits.invalid("page_token is not one this server gave; start again without it.")
        store = self._transactions.store
        found = await self._transactions.read(
            caller,
            lambda deadline: store.config_history(
                name, size + 1, None if before is None else int(before), deadline
            ),
        )
        if not found and before is None:
            raise errors.no_history(name)
        return _page_after(found, size, lambda revision: str(revision.config.version))

    # Agents.

    async def agents(
        self,
        group_name: str,
        caller: Caller,
        status: AgentStatus | None = None,
        page_size: int = 0,
        page_token: str = "",
        protocol: AgentProtocol | None = None,
    ) -> Page[Agent]:
        """The members of a group with `status` and speaking `protocol` (None: any), by id, a page at a
        time (0: all), with the activity every server has written."""

        def wanted(agent: Agent) -> bool:
            return (status is None or self.status(agent) is status) and (
                protocol is None or agent.attributes.protocol is protocol
            )

        size = paging.page_size(page_size, 0)
        start_after = paging.after(page_token) if page_token else None
        catalog = await self._transactions.current(caller)
        ids = self._agents.ids(rules.member_tags(_group(catalog, group_name)))
        start = bisect.bisect_right(ids, start_after) if start_after is not None else 0
        filtered = status is not None or protocol is not None
        read_ahead = max(size, REFRESH_CHUNK) if filtered else size  # a filter may skip agents
        chunk = read_ahead if size else len(ids)
        found: list[Agent] = []
        while start < len(ids) and not (size and len(found) >= size):
            candidates = await self._refreshed(ids[start : start + chunk], caller)
            start += chunk
            found.extend(agent for agent in candidates if wanted(agent))
        if not size or len(found) < size or (len(found) == size and start >= len(ids)):
            return Page(found, "")
        page = found[:size]
        return Page(page, paging.token(page[-1].agent_id))

    async def _refreshed(self, agent_ids: Sequence[str], caller: Caller) -> list[Agent]:
        """These agents (those still known), with the activity other servers wrote of them brought in
        (batched: up to a second old)."""
        if not agent_ids:
            return []
        store = self._transactions.store
        for start in range(0, len(agent_ids), REFRESH_CHUNK):
            chunk = agent_ids[start : start + REFRESH_CHUNK]

            def read(deadline: Deadline, chunk: Sequence[str] = chunk) -> None:
                self._agents.absorb(store.activity(chunk, deadline))

            await self._transactions.read(caller, read)
        return self._agents.these(agent_ids)

    async def preview(self, group: AgentGroup, caller: Caller) -> Preview:
        """What a group of these tags would hold, against what the group of that name holds now: the blast
        radius of a change before it is saved (this server's agents; work bounded by their tags)."""
        checked_group(group)
        catalog = await self._transactions.current(caller)
        proposed = set(self._agents.ids(rules.member_tags(group)))
        existing = catalog.groups.get(group.name)
        now = set() if existing is None else set(self._agents.ids(rules.member_tags(existing)))
        added, removed = sorted(proposed - now), sorted(now - proposed)
        return Preview(
            len(proposed),
            len(now),
            tuple(added[: rules.MAX_LAGGING]),
            tuple(removed[: rules.MAX_LAGGING]),
            len(added),
            len(removed),
        )

    async def summary(self, caller: Caller) -> FleetSummary:
        """Agents online and offline, in all, per protocol and per group (this server's view, like the
        `configserver_agents` metric), and the alarms stored in the last hour."""
        catalog = await self._transactions.current(caller)
        registry = self._agents
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
        hour_ago, store = int(self._clock.now()) - 3600, self._transactions.store
        alarms = await self._stored(caller, lambda deadline: store.count_alarms(hour_ago, deadline))
        total = Count(len(online_ids), len(everyone) - len(online_ids))
        return FleetSummary(
            total, {name: Count(*pair) for name, pair in sorted(by_protocol.items())}, by_group, alarms
        )

    async def config_status(self, config_name: str, caller: Caller) -> Rollout:
        """How far the config's current version has reached the agents whose effective configs include it:
        work bounded by those agents (found by the tags of the groups it is applied to)."""
        catalog = await self._transactions.current(caller)
        config = _config(catalog, config_name)
        targeted: set[str] = set()
        for group_name in catalog.groups_applying(config.name):
            targeted.update(self._agents.ids(rules.member_tags(catalog.groups[group_name])))
        agents = await self._refreshed(sorted(targeted), caller)
        return rules.rollout(config, agents, self._clock.now(), self._policy.offline_after)

    # What only the store keeps: alarms and the audit trail.

    async def alarms(
        self, agent_id: str, kind: str, since: int, page_size: int, page_token: str, caller: Caller
    ) -> Page[Alarm]:
        """Stored alarms newest first, each filter optional; this server's pending ones are written first
        (other servers' within their batch interval)."""
        store = self._transactions.store
        return await self._newest_first(
            caller,
            page_size,
            page_token,
            lambda limit, before, deadline: store.list_alarms(agent_id, kind, since, limit, before, deadline),
        )

    async def audit_events(
        self, since: int, actor: str, target: str, page_size: int, page_token: str, caller: Caller
    ) -> Page[AuditEvent]:
        """Audit events newest first, each filter optional; this server's pending ones are written first
        (other servers' within their batch interval)."""
        store = self._transactions.store
        return await self._newest_first(
            caller,
            page_size,
            page_token,
            lambda limit, before, deadline: store.list_audit(since, actor, target, limit, before, deadline),
        )

    async def _newest_first(
        self,
        caller: Caller,
        page_size: int,
        page_token: str,
        read: Callable[[int, tuple[int, int] | None, Deadline], list[Stored]],
    ) -> Page[Stored]:
        """A page of stored alarms or audit events, newest first by (time, id)."""
        size = paging.page_size(page_size, DEFAULT_PAGE)
        before = _position(paging.after(page_token)) if page_token else None
        found = await self._stored(caller, lambda deadline: read(size + 1, before, deadline))
        return _page_after(found, size, lambda item: f"{item.time}:{item.id}")

    async def _stored(self, caller: Caller, read: Callable[[Deadline], T]) -> T:
        """A read of what the heartbeat batch writes, once this server's pending batch is written."""

        def written_then_read(deadline: Deadline) -> T:
            self._batcher.write_pending()
            return read(deadline)

        return await self._transactions.read(caller, written_then_read)
