"""Committed writes, as typed values: what a store transaction changed, which `FleetMemory.apply` takes.

A write of this process returns its change from the store transaction (read there, after the write, so it
is the entity as committed). A write of another process arrives through the change feed as a `FeedEntry`
naming its kind and entity; the store reads that entity's current state into a change of the same types.
Either way a change carries the whole current state of what it names, so applying it twice, or late, is
harmless.
"""

from dataclasses import dataclass
from enum import StrEnum

from core.model import Agent, AgentGroup, Config


class ChangeKind(StrEnum):
    """What a feed entry names: a group, a config, the bindings of a group, or an agent."""

    GROUP = "group"
    CONFIG = "config"
    BINDINGS = "binding"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class GroupSaved:
    group: AgentGroup


@dataclass(frozen=True, slots=True)
class GroupDeleted:
    name: str


@dataclass(frozen=True, slots=True)
class ConfigSaved:
    config: Config


@dataclass(frozen=True, slots=True)
class ConfigDeleted:
    name: str


@dataclass(frozen=True, slots=True)
class BindingsSet:
    """The configs applied to one group, all of them."""

    group_name: str
    config_names: frozenset[str]


@dataclass(frozen=True, slots=True)
class AgentSaved:
    agent: Agent


@dataclass(frozen=True, slots=True)
class AgentGone:
    """Deleted by an operator, or expired."""

    agent_id: str


Change = GroupSaved | GroupDeleted | ConfigSaved | ConfigDeleted | BindingsSet | AgentSaved | AgentGone


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One committed write in the store's change feed; `revision` numbers them in commit order."""

    revision: int
    origin: str
    kind: ChangeKind
    name: str
