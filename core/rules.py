"""The fleet's rules, each in one place. The domain calls them before it asks the store, and the store calls
the same functions inside its write transaction, on the rows it locked, so that a rule holds across every
server sharing the store.

- The group `default` always exists, holds every agent and cannot be deleted.
- An agent belongs to a group when any (name, value) tag of the group equals one of the agent's tags; a
  group without tags has no members (but `default`). A v1 agent's tags are values without names: one
  matches every group tag of that value.
- Instance configs reach only v2 agents; a v2 agent gets a config only as a JSON object
  (`core.content`): one it cannot get counts as failed for it.
- A config's version starts at 0 and grows by one on each write of its name: update, delete (its
  revision takes a version), re-creation, rollback; so versions never repeat and a re-created or rolled
  back config is newer than any version agents hold. A write with an expected version other than the
  current one changes nothing. What an update or a rollback makes of the stored config is one pure
  function each (`updated_config`, `rolled_back_config`): the store locks the row, reads it, calls it,
  and writes what it returns.
- A group with configs applied cannot be deleted, nor can a config applied to a group.
- A config is applied to a group at most once; removing one that is not applied is refused.
- No write may make an agent's GetConfigList answer (every effective config NEW) larger than the policy's
  `max_answer_size`, counted in UTF-8 bytes with the answer's framing. This one needs the agents, which
  only memory knows (`core.answers`): it is checked on the store thread right before the write, on the
  catalog caught up with the change feed, so one server checks its writes one after the other; two
  servers can each pass one of two writes made within the same few milliseconds. For a config's own
  content, memory gives the write an `AnswerBudget`, which the write checks on the row it locked.
- An agent is OFFLINE once no heartbeat arrived for the policy's `offline_after` seconds, else ONLINE; it
  is removed once silent for `expire_after` seconds.
- A config's rollout counts, over the agents it targets, those whose last report holds its current version
  (current), another version (outdated), or none (pending).
"""

import heapq
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from core import errors, limits
from core.content import json_object
from core.errors import Code, ServiceError
from core.model import (
    DEFAULT_GROUP,
    Agent,
    AgentGroup,
    AgentProtocol,
    AgentStatus,
    Config,
    ConfigKind,
    ConfigPatch,
    ConfigRevision,
    Rollout,
    Tag,
)

MAX_LAGGING = 100
"""Agent ids a rollout lists among those that lag."""
ANSWER_HEAD = 1024
"""Bytes of a GetConfigList answer besides its entries, at most (response id, code, message)."""
ENTRY_FRAMING = 32
"""Bytes of one answer entry besides its name and content, at most (field tags, lengths, status, version)."""


def member_tags(group: AgentGroup) -> tuple[Tag, ...] | None:
    """The tags that make an agent a member of `group`; None when every agent is (`default`)."""
    return None if group.name == DEFAULT_GROUP else group.tags


def groups_of(tags: Iterable[Tag], groups_by_tag: Mapping[Tag, frozenset[str]]) -> frozenset[str]:
    """The groups of an agent with these tags: `default` and every group sharing a tag."""
    names = {DEFAULT_GROUP}
    for tag in tags:
        found = groups_by_tag.get(tag)
        if found:
            names.update(found)
    return frozenset(names)


def check_group_deletable(name: str, applied: Collection[str]) -> None:
    if name == DEFAULT_GROUP:
        raise errors.bad_request("The default agent group cannot be deleted.")
    if applied:
        raise errors.bad_request(f"Agent group {name} still has configs applied; remove them first.")


def check_config_deletable(name: str, applied_to: Collection[str]) -> None:
    if applied_to:
        raise errors.bad_request(
            f"Config {name} is still applied to agent groups; remove it from them first."
        )


def created_version(deleted_version: int | None) -> int:
    """The version of a new config: 0, or one above the version its deletion took."""
    return 0 if deleted_version is None else deleted_version + 1


def next_version(version: int) -> int:
    """The version an update, a deletion or a rollback takes: one above the highest the name had."""
    return version + 1


def check_expected_version(name: str, current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise errors.version_conflict(name, current, expected)


@dataclass(frozen=True, slots=True)
class AnswerBudget:
    """The largest GetConfigList answer a config is part of, without the config's own entry: who would get
    it, how many other configs it holds and its bytes; and the bound it must stay under."""

    who: str
    others: int
    size_without: int
    limit: int


def check_budget(config: Config, budget: AnswerBudget | None) -> None:
    """Refuse `config` when its entry would take the answer of `budget` over its bound (None: it is in no
    agent's answer)."""
    if budget is None:
        return
    size = budget.size_without + ENTRY_FRAMING + limits.size(config.name) + limits.size(config.content)
    if size > budget.limit:
        raise answer_too_large(budget.who, budget.others + 1, size, budget.limit)


@dataclass(frozen=True, slots=True)
class Expectations:
    """What a config write may assume of the stored config: its version (None: any), and the budget of the
    largest answer its content joins (None: no agent's)."""

    version: int | None = None
    budget: AnswerBudget | None = None


def updated_config(current: Config | None, patch: ConfigPatch, expected: Expectations, now: int) -> Config:
    """What an update makes of the stored config (None: there is none): the patch's content, and its other
    fields where it gives them, at the next version, written `now`. Refused when the config does not exist,
    is not at the expected version, or would take an agent's answer over its bound."""
    if current is None:
        raise errors.config_not_found(patch.name)
    check_expected_version(patch.name, current.version, expected.version)
    updated = Config(
        name=current.name,
        agent_type=current.agent_type if patch.agent_type is None else patch.agent_type,
        description=current.description if patch.description is None else patch.description,
        content=patch.content,
        version=next_version(current.version),
        update_time=now,
        kind=current.kind if patch.kind is None else patch.kind,
    )
    check_budget(updated, expected.budget)
    return updated


def rolled_back_config(
    current_version: int, target: ConfigRevision, expected: Expectations, now: int
) -> Config:
    """What a rollback to the kept revision `target` makes of its config, whose highest version is
    `current_version`: what the revision held, at the next version, written `now` (re-created when
    deleted). Refused like an update."""
    name = target.config.name
    check_expected_version(name, current_version, expected.version)
    restored = Config(
        name=name,
        agent_type=target.config.agent_type,
        description=target.config.description,
        content=target.config.content,
        version=next_version(current_version),
        update_time=now,
        kind=target.config.kind,
    )
    check_budget(restored, expected.budget)
    return restored


def check_applicable(group_name: str, config_name: str, applied: Collection[str]) -> None:
    if config_name in applied:
        raise ServiceError(
            Code.CONFIG_ALREADY_EXIST, f"Config {config_name} is already applied to agent group {group_name}."
        )


def check_removable(group_name: str, config_name: str, applied: Collection[str]) -> None:
    if config_name not in applied:
        raise ServiceError(
            Code.CONFIG_NOT_EXIST, f"Config {config_name} is not applied to agent group {group_name}."
        )


def answer_size(configs: Iterable[Config]) -> int:
    """Bytes of a GetConfigList answer carrying every one of `configs` as NEW, at most."""
    return ANSWER_HEAD + sum(
        ENTRY_FRAMING + limits.size(config.name) + limits.size(config.content) for config in configs
    )


def check_answer_size(who: str, configs: Collection[Config], limit: int) -> None:
    """`who` (an agent group, an agent) would get `configs`: refused when the answer exceeds `limit`."""
    size = answer_size(configs)
    if size > limit:
        raise answer_too_large(who, len(configs), size, limit)


def answer_too_large(who: str, count: int, size: int, limit: int) -> ServiceError:
    return limits.invalid(
        f"{who} would get {count} configs in a GetConfigList answer of {size} bytes, over the "
        f"server's --max-answer-size of {limit} bytes: apply fewer or smaller configs to it."
    )


def status(latest_heartbeat_time: int, now: float, offline_after: float) -> AgentStatus:
    online = now - latest_heartbeat_time < offline_after
    return AgentStatus.ONLINE if online else AgentStatus.OFFLINE


def reaches(config: Config, agent: Agent) -> bool:
    """Whether the config can reach the agent at all: instance configs reach only v2 agents."""
    return config.kind is ConfigKind.PIPELINE or agent.attributes.protocol is AgentProtocol.V2


def rollout(config: Config, targeted: Iterable[Agent], now: float, offline_after: float) -> Rollout:
    """The rollout of `config` over the agents it targets (those of its groups it can reach); lagging ones
    listed online first, then by id. Of the agents holding its current version, those reporting a status
    count as applying, applied or failed; a v2 agent the config cannot reach as a JSON object counts as
    failed (and lagging)."""
    count = online = current = outdated = applying = applied = failed = 0
    lagging: list[tuple[bool, str]] = []
    held_in: dict[int, int | None] = {}  # agents share their held-versions tuples: look each up once
    status_in: dict[int, str] = {}
    undeliverable = json_object(config) is None
    for agent in targeted:
        if not reaches(config, agent):
            continue
        count += 1
        is_online = now - agent.latest_heartbeat_time < offline_after
        online += is_online
        versions, statuses = agent.config_versions, agent.config_statuses
        if id(versions) not in held_in:
            held_in[id(versions)] = dict(versions).get(config.name)
        held = held_in[id(versions)]
        if held == config.version:
            current += 1
            if id(statuses) not in status_in:
                status_in[id(statuses)] = dict(statuses).get(config.name, "")
            status = status_in[id(statuses)]
            applying += status == "APPLYING"
            applied += status == "APPLIED"
            failed += status == "FAILED"
            continue
        outdated += held is not None
        if undeliverable and agent.attributes.protocol is AgentProtocol.V2:
            failed += 1
        lagging.append((not is_online, agent.agent_id))
    pending = count - current - outdated
    first = tuple(name for _, name in heapq.nsmallest(MAX_LAGGING, lagging))
    return Rollout(
        config.version, count, online, current, outdated, pending, first, applying, applied, failed
    )
