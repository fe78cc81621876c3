"""The store protocol: what the core needs of a database, and how to open one from a URL.

A store is synchronous and is called from one thread at a time (the core runs it on its own store
thread), so that a backend is plain code in transactions. Every write is one transaction that checks
its own preconditions and raises the protocol's `ServiceError`, so that the store, not a cache, has the
last word when several servers share it. Every method that returns normally has made its write durable.
"""

from collections.abc import Sequence
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


class Store(Protocol):
    def load(self) -> StoredState: ...

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

    def close(self) -> None: ...


def open_store(url: str) -> Store:
    """Open the store named by `url`, applying its pending schema migrations first.

    `sqlite:///relative/path.db` or `sqlite:////absolute/path.db`.
    """
    scheme = url.partition(":")[0]
    if scheme == "sqlite":
        from core.store.sqlite import SqliteStore

        return SqliteStore.open(url)
    raise ValueError(f"unsupported store URL {url!r}: expected sqlite:///PATH")
