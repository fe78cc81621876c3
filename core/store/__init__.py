"""The store protocol: what the core needs of a database, and how to open one from a URL.

A store is synchronous and is called from one thread at a time (the core runs it on its own store
thread), so that a backend is plain code in transactions. Every write is one transaction that checks
its own preconditions and raises the protocol's `ServiceError`, so that the store, not a cache, has the
last word when several servers share it. Every method that returns normally has made its write durable.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from core.agents import PendingWrite
from core.model import Agent, AgentGroup, Config


@dataclass(frozen=True)
class StoredState:
    """Everything the core keeps in memory, as read at start."""

    groups: Sequence[AgentGroup]
    configs: Sequence[Config]
    bindings: Sequence[tuple[str, str]]  # (group name, config name)
    agents: Sequence[Agent]


@dataclass(frozen=True)
class Change:
    """A write another server process made: what to reload. `kind` is group, config, binding (`name` is
    the group) or agent."""

    kind: str
    name: str


ChangeListener = Callable[[Change | None], None]
"""Called from a watcher thread with each change of another process, or None when changes may have been
missed (the feed was lost and is back): then everything must be reloaded."""


class Store(Protocol):
    origin: str
    """This process's id in the change feed; its own changes are not reported back to it."""
    deadline: float | None
    """Set around a request's write: time.monotonic() by which it must be done, else RequestTimeout."""

    def load(self) -> StoredState: ...

    def get_group(self, name: str) -> AgentGroup | None: ...

    def get_config(self, name: str) -> Config | None: ...

    def get_applied(self, group_name: str) -> list[str]: ...

    def get_agent(self, agent_id: str) -> Agent | None: ...

    def heartbeat_times(self, agent_ids: Iterable[str]) -> dict[str, tuple[int, dict[str, str]]]:
        """The stored heartbeat time and statistics of these agents (those that exist)."""

    def ping(self) -> None:
        """Raises when the store cannot be reached."""

    def watch(self, listener: ChangeListener) -> None:
        """Start reporting the changes other processes write, on a thread of the store's own."""

    def create_group(self, group: AgentGroup) -> None:
        """Raises AgentGroupAlreadyExist."""

    def update_group(self, group: AgentGroup) -> None:
        """Replaces description and tags, keeps the bindings. Raises AgentGroupNotExist."""

    def delete_group(self, name: str) -> None:
        """Raises AgentGroupNotExist, or BadRequest while configs are applied to it."""

    def create_config(self, config: Config) -> Config:
        """Stores version 0, or the old version plus one when the name was deleted before.

        Raises ConfigAlreadyExist.
        """

    def update_config(self, config: Config) -> Config:
        """Stores the next version. Raises ConfigNotExist."""

    def delete_config(self, name: str) -> None:
        """Keeps the name's version for a later re-creation. Raises ConfigNotExist, or BadRequest while
        the config is applied to a group."""

    def apply_config(self, group_name: str, config_name: str) -> None:
        """Raises AgentGroupNotExist, ConfigNotExist, or ConfigAlreadyExist when already applied."""

    def remove_config(self, group_name: str, config_name: str) -> None:
        """Raises AgentGroupNotExist, or ConfigNotExist when the config is not applied to the group."""

    def save_agent(self, agent: Agent) -> None:
        """Inserts or replaces the agent with all its fields."""

    def save_pending(self, writes: Sequence[PendingWrite]) -> None:
        """Writes a batch of heartbeat times and statistics in one transaction."""

    def close(self) -> None:
        """Stop watching and close every connection."""


def prepare_store(url: str) -> None:
    """Apply the pending schema migrations of the store at `url`, without opening it for service."""
    open_store(url).close()


def open_store(url: str) -> Store:
    """Open the store named by `url`, applying its pending schema migrations first.

    `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`, or
    `postgresql://user[:password]@host[:port]/database[?schema=name&…]`.
    """
    scheme = url.partition(":")[0]
    if scheme == "sqlite":
        from core.store.sqlite import SqliteStore

        return SqliteStore.open(url)
    if scheme in ("postgresql", "postgres"):
        from core.store.postgresql import PostgresStore

        return PostgresStore.open(url)
    raise ValueError(f"unsupported store URL {url!r}: expected sqlite:///PATH or postgresql://…")
