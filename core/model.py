"""The domain's values: agent groups, configs, bindings and agents, free of any wire format."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum

Tag = tuple[str, str]
"""A (name, value) pair; an agent belongs to a group when one of its tags equals one of the group's. v1
agents send tag values without names: theirs are ("", value), matching any group tag of that value."""

DEFAULT_GROUP = "default"
"""The group that always exists, holds every agent and cannot be deleted (see `core.rules`)."""
ANONYMOUS = "anonymous"
"""The actor of User API calls when the API has no tokens."""


@dataclass(frozen=True, slots=True)
class AgentGroup:
    name: str
    description: str = ""
    tags: tuple[Tag, ...] = ()


class ConfigKind(StrEnum):
    """What a config configures: a pipeline (every generation of agent), or a LoongCollector instance."""

    PIPELINE = "PIPELINE"
    INSTANCE = "INSTANCE"


class AgentProtocol(StrEnum):
    """Which protocol an agent speaks."""

    ALPHA = "alpha"
    V1 = "v1"  # iLogtail 1.5 to 2.0, LoongCollector's legacy client
    V2 = "v2"  # LoongCollector


@dataclass(frozen=True, slots=True)
class Config:
    """A collection config; `version` starts at 0 and grows by one on each write of its name (see
    `core.rules`); `update_time` is when the current version was written (unix seconds)."""

    name: str
    agent_type: str = ""
    description: str = ""
    content: str = ""
    version: int = 0
    update_time: int = 0
    kind: ConfigKind = ConfigKind.PIPELINE


@dataclass(frozen=True, slots=True)
class ConfigPatch:
    """An update of a config: new content, and the agent type and description when given (None keeps the
    stored one, so that a client that leaves a field out does not blank it)."""

    name: str
    content: str
    agent_type: str | None = None
    description: str | None = None
    kind: ConfigKind | None = None


class RevisionAction(StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    ROLLBACK = "ROLLBACK"


@dataclass(frozen=True, slots=True)
class ConfigRevision:
    """One kept version of a config, immutable: what it held (for DELETE, the config as it was deleted),
    and who wrote it, when (unix seconds) and why."""

    config: Config
    action: RevisionAction
    time: int
    actor: str
    reason: str


@dataclass(frozen=True, slots=True)
class Caller:
    """Who makes a call, as the audit trail names them, and how long they wait for it: the token's name
    (`anonymous` when the API has no tokens), the peer's address, and the RPC."""

    actor: str = ANONYMOUS
    peer: str = ""
    rpc: str = ""
    may_write: bool = True
    """False for a viewer's token: it may call reads only."""
    timeout: float | None = None
    """Seconds the client gives the call (its deadline, as the call starts); None when it set none. The
    call's store work is bounded by the lesser of this and the server's request timeout."""


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """A User API write that reached authentication, accepted or refused: never content, never a token.
    `target` names the group, config or agent (GROUP/CONFIG for a binding); `id` numbers events in the
    store (0 until stored)."""

    time: int
    actor: str
    peer: str
    rpc: str
    target: str
    code: str
    reason: str
    id: int = 0


@dataclass(frozen=True, slots=True)
class AgentAttributes:
    """What an agent says of itself in each heartbeat; a change is written to the store at once."""

    agent_type: str = ""
    ip: str = ""
    version: str = ""
    running_status: str = ""
    startup_time: int = 0
    tags: tuple[Tag, ...] = ()
    protocol: AgentProtocol = AgentProtocol.ALPHA
    hostname: str = ""


HeldVersions = tuple[tuple[str, int], ...]
"""The config versions an agent reported holding, sorted by name (shared between agents holding the same)."""
ConfigStatuses = tuple[tuple[str, str], ...]
"""What an agent reported of applying each config it holds (APPLYING, APPLIED, FAILED), sorted by name:
v2 agents report it, alpha and v1 agents do not."""


@dataclass(frozen=True, slots=True)
class Agent:
    """An agent as the server knows it: its attributes, its last heartbeat, its statistics, and the config
    versions it reported holding at its last report (and when). Immutable: what changes is a new record,
    which the registry puts in the old one's place (`core.agents`)."""

    agent_id: str
    attributes: AgentAttributes
    latest_heartbeat_time: int = 0
    running_details: Mapping[str, str] = field(default_factory=dict)
    config_versions: HeldVersions = ()
    last_config_fetch_time: int = 0
    config_statuses: ConfigStatuses = ()

    # The registry's changes on the hot paths: positional construction, about half the cost of
    # `dataclasses.replace` for a frozen class.

    def seen(self, second: int) -> "Agent":
        """This agent, its latest heartbeat at `second`."""
        return Agent(
            self.agent_id,
            self.attributes,
            second,
            self.running_details,
            self.config_versions,
            self.last_config_fetch_time,
            self.config_statuses,
        )

    def holding(self, held: HeldVersions, statuses: ConfigStatuses, second: int) -> "Agent":
        """This agent, reporting at `second` that it holds `held` (and how applying went)."""
        return Agent(
            self.agent_id,
            self.attributes,
            self.latest_heartbeat_time,
            self.running_details,
            held,
            second,
            statuses,
        )


class AgentStatus(Enum):
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class Alarm:
    """An alarm an agent sent; `time` is the server's, `id` numbers them in the store (0 until stored)."""

    agent_id: str
    type: str
    detail: str
    time: int
    id: int = 0


@dataclass(frozen=True, slots=True)
class Rollout:
    """How far a config's current version has reached the agents it targets."""

    config_version: int
    targeted: int
    online: int
    current: int
    outdated: int
    pending: int
    lagging: tuple[str, ...]
    applying: int = 0
    applied: int = 0
    failed: int = 0


MAX_ANSWER_SIZE = 4_128_768
"""Bytes of the largest GetConfigList answer a catalog write may cause: 64 KiB under the 4 MiB that
default gRPC clients accept, leaving room for the answer's framing."""


@dataclass(frozen=True, slots=True)
class Preview:
    """What a group with given tags would hold, against what the group of that name holds now."""

    matched: int
    now: int
    added: tuple[str, ...]
    removed: tuple[str, ...]
    added_count: int
    removed_count: int


@dataclass(frozen=True, slots=True)
class Count:
    online: int = 0
    offline: int = 0


@dataclass(frozen=True, slots=True)
class FleetSummary:
    """The fleet at a glance: agents online and offline, in all, per protocol and per group; alarms of the
    last hour."""

    agents: Count
    by_protocol: dict[str, Count]
    by_group: dict[str, Count]
    alarms_last_hour: int


@dataclass(frozen=True, slots=True)
class FleetPolicy:
    """How the fleet ages and what it keeps: what the operator sets with --agent-offline-after and its
    siblings."""

    offline_after: float = 60.0
    expire_after: float = 7 * 86400.0
    alarm_retention_count: int = 100
    alarm_retention_seconds: float = 7 * 86400.0
    history_retention: int = 100
    """Revisions kept per config, also after it is deleted."""
    audit_retention_seconds: float = 90 * 86400.0
    max_answer_size: int = MAX_ANSWER_SIZE


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
