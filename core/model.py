"""The domain's values: agent groups, configs, bindings and agents, free of any wire format."""

from dataclasses import dataclass, field

Tag = tuple[str, str]
"""A (name, value) pair; an agent belongs to a group when one of its tags equals one of the group's."""

DEFAULT_GROUP = "default"
"""The group that always exists, holds every agent and cannot be deleted (see `core.rules`)."""


@dataclass(frozen=True, slots=True)
class AgentGroup:
    name: str
    description: str = ""
    tags: tuple[Tag, ...] = ()


@dataclass(frozen=True, slots=True)
class Config:
    """A collection config; `version` starts at 0 and grows by one on each update and re-creation."""

    name: str
    agent_type: str = ""
    description: str = ""
    content: str = ""
    version: int = 0


@dataclass(frozen=True, slots=True)
class AgentAttributes:
    """What an agent says of itself in each heartbeat; a change is written to the store at once."""

    agent_type: str = ""
    ip: str = ""
    version: str = ""
    running_status: str = ""
    startup_time: int = 0
    tags: tuple[Tag, ...] = ()


@dataclass(slots=True)
class Agent:
    """An agent as the server knows it: its attributes, its last heartbeat and its statistics."""

    agent_id: str
    attributes: AgentAttributes
    latest_heartbeat_time: int = 0
    running_details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Statistics:
    """What an agent reports of its own running: CPU share, memory, and free-form extras."""

    cpu: float = 0.0
    memory: int = 0
    extras: dict[str, str] = field(default_factory=dict)

    def details(self) -> dict[str, str]:
        """As an agent's `running_details`: `CPU`, `Memory`, then each extra."""
        details = {"CPU": format(self.cpu, "g"), "Memory": str(self.memory)}
        details.update(self.extras)
        return details
