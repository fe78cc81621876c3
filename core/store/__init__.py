"""The store protocol: what the core needs of a database, and how to open one from a URL.

A store is synchronous and is called from one thread at a time (the store worker's, `core.runtime.worker`),
so that a backend is plain code in transactions. Every write is one transaction that checks the domain's
rules (`core.rules`) on the rows it locked, records itself in the change feed, and returns the change to
apply to memory; so the store, not a cache, has the last word when several servers share it. A method that
returns normally has made its write durable. A refusal raises `ServiceError`; a failure of the database
raises `StoreFailure`; a write that cannot finish by its `Deadline` rolls back and raises RequestTimeout.

The change feed: every write transaction takes the next store revision (one counter, locked until commit,
so revisions follow commit order without gaps) and appends (revision, origin, kind, name) to the `changes`
table. A server that has applied every entry up to the store's current revision has seen every write
acknowledged before it read that revision: that is how User API reads see the writes of every server.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from core.agents import Activity
from core.changes import (
    AgentGone,
    AgentSaved,
    BindingsSet,
    Change,
    ChangeKind,
    ConfigDeleted,
    ConfigSaved,
    FeedEntry,
    GroupDeleted,
    GroupSaved,
)
from core.clock import Deadline
from core.model import Agent, AgentGroup, Alarm, AuditEvent, Config, ConfigPatch, ConfigRevision
from core.rules import Expectations


@dataclass(frozen=True)
class StoredState:
    """Everything the core keeps in memory, as read at start; `revision` is the feed position it reflects
    (read first, so the rows are at least that recent)."""

    revision: int
    groups: Sequence[AgentGroup]
    configs: Sequence[Config]
    bindings: Sequence[tuple[str, str]]  # (group name, config name)
    agents: Iterable[Agent]


@dataclass(frozen=True)
class FeedRead:
    """The feed after a position: its entries in revision order, or `complete` False when entries were
    already pruned (then everything must be reloaded)."""

    entries: Sequence[FeedEntry]
    complete: bool = True


class Store(Protocol):
    origin: str
    """This process's id in the change feed, so that it knows its own entries."""

    def load(self) -> StoredState: ...

    def feed_after(self, revision: int, deadline: Deadline | None = None) -> FeedRead:
        """The feed entries committed after `revision`."""

    def read_change(self, kind: ChangeKind, name: str, deadline: Deadline | None = None) -> Change:
        """The current state of what a feed entry names."""

    def prune_feed(self, before: float) -> None:
        """Drop feed entries written before this unix time."""

    def get_agent(self, agent_id: str, deadline: Deadline | None = None) -> Agent | None: ...

    def activity(self, agent_ids: Sequence[str], deadline: Deadline | None = None) -> list[Activity]:
        """What the store holds of these agents' time-driven state (those that exist), as every server
        wrote it in its batches."""

    def watch(self, wake: Callable[[], None]) -> None:
        """Call `wake` from a thread of the store's own whenever another connection may have committed."""

    # Operators' writes: each records its audit `event` (code Accept) in its own transaction. A config write
    # keeps its revision and drops those beyond the newest `keep` of that config.

    def create_group(self, group: AgentGroup, event: AuditEvent, deadline: Deadline | None) -> GroupSaved:
        """Raises AgentGroupAlreadyExist."""

    def update_group(self, group: AgentGroup, event: AuditEvent, deadline: Deadline | None) -> GroupSaved:
        """Replaces description and tags, keeps the bindings. Raises AgentGroupNotExist."""

    def delete_group(self, name: str, event: AuditEvent, deadline: Deadline | None) -> GroupDeleted:
        """Raises AgentGroupNotExist, or BadRequest (`rules.check_group_deletable`)."""

    def create_config(
        self, config: Config, event: AuditEvent, keep: int, deadline: Deadline | None
    ) -> ConfigSaved:
        """Stores `rules.created_version`. Raises ConfigAlreadyExist."""

    def update_config(
        self,
        patch: ConfigPatch,
        expected: Expectations,
        event: AuditEvent,
        keep: int,
        deadline: Deadline | None,
    ) -> ConfigSaved:
        """Stores what `rules.updated_config` makes of the locked row, or raises what it raises."""

    def delete_config(
        self, name: str, expected_version: int | None, event: AuditEvent, keep: int, deadline: Deadline | None
    ) -> ConfigDeleted:
        """Keeps the name's version (the deletion's) for a later re-creation. Raises ConfigNotExist,
        ConfigVersionConflict, or BadRequest (`rules.check_config_deletable`)."""

    def rollback_config(
        self,
        name: str,
        to_version: int,
        expected: Expectations,
        event: AuditEvent,
        keep: int,
        deadline: Deadline | None,
    ) -> ConfigSaved:
        """Stores what `rules.rolled_back_config` makes of the locked row and revision `to_version`.
        Raises ConfigNotExist when that revision is not kept, or what the rule raises."""

    def config_history(
        self, name: str, limit: int, before_version: int | None, deadline: Deadline | None = None
    ) -> list[ConfigRevision]:
        """The config's kept revisions newest first, below `before_version` when set."""

    def apply_config(
        self, group_name: str, config_name: str, event: AuditEvent, deadline: Deadline | None
    ) -> BindingsSet:
        """Raises AgentGroupNotExist, ConfigNotExist, or ConfigAlreadyExist (`rules.check_applicable`)."""

    def remove_config(
        self, group_name: str, config_name: str, event: AuditEvent, deadline: Deadline | None
    ) -> BindingsSet:
        """Raises AgentGroupNotExist, or ConfigNotExist (`rules.check_removable`)."""

    def save_agent(self, agent: Agent, deadline: Deadline | None) -> AgentSaved:
        """Inserts or replaces the agent with all its fields."""

    def delete_agent(self, agent_id: str, event: AuditEvent, deadline: Deadline | None) -> AgentGone:
        """Raises AgentNotExist."""

    def expire_agents(self, before: int, limit: int) -> list[AgentGone]:
        """Deletes at most `limit` agents whose last heartbeat is older than `before` (unix seconds)."""

    def save_pending(self, writes: Sequence[Activity]) -> None:
        """Writes a batch of activity in one transaction (not in the feed): the newer heartbeat time, the
        statistics, and the held versions of the later GetConfigList."""

    def save_alarms(self, alarms: Sequence[Alarm], keep_per_agent: int) -> None:
        """Appends alarms, then keeps only the newest `keep_per_agent` of each of their agents."""

    def list_alarms(
        self,
        agent_id: str,
        kind: str,
        since: int,
        limit: int,
        before: tuple[int, int] | None,
        deadline: Deadline | None = None,
    ) -> list[Alarm]:
        """Alarms newest first (time, then id), filtered when `agent_id`, `kind` are set, not older than
        `since`, after the (time, id) of `before`."""

    def count_alarms(self, since: int, deadline: Deadline | None = None) -> int:
        """Alarms stored from `since` (unix seconds) on."""

    def prune_alarms(self, before: int) -> None:
        """Drop the alarms older than `before` (unix seconds)."""

    def save_audit(self, events: Sequence[AuditEvent]) -> None:
        """Appends the events of refused writes (accepted ones are written by the write itself)."""

    def list_audit(
        self,
        since: int,
        actor: str,
        target: str,
        limit: int,
        before: tuple[int, int] | None,
        deadline: Deadline | None = None,
    ) -> list[AuditEvent]:
        """Events newest first (time, then id), filtered like `list_alarms`; `target` also matches either
        name of a binding's GROUP/CONFIG."""

    def prune_audit(self, before: int) -> None:
        """Drop the events older than `before` (unix seconds)."""

    def close(self) -> None:
        """Stop watching and close every connection."""
