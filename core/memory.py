"""What the server holds in memory, and the one place that changes it.

`FleetMemory` holds the catalog snapshot (groups, configs, bindings) and the agent registry. Committed
writes reach it only through `apply` (a change this process committed, or one another process committed,
read from the change feed) and `reload` (everything, at start and after an outage). Both run on the store
worker's thread, so memory follows the store's commit order. Readers on any thread take the current
snapshot or registry entry and never wait.

What only moves with time (heartbeat times, running statistics, held versions) is recorded on the registry
directly by the agent sessions and written to the store later, in batches (`core.runtime.batcher`).
"""

from typing import assert_never

from core.agents import AgentRegistry
from core.catalog import Catalog
from core.changes import (
    AgentGone,
    AgentSaved,
    BindingsSet,
    Change,
    ConfigDeleted,
    ConfigSaved,
    GroupDeleted,
    GroupSaved,
)
from core.store import StoredState


class FleetMemory:
    def __init__(self) -> None:
        self._catalog = Catalog.empty()
        self.agents = AgentRegistry()

    @property
    def catalog(self) -> Catalog:
        """The current snapshot: immutable, so a reader may keep it for the whole request."""
        return self._catalog

    def census(self) -> dict[str, int]:
        """What memory holds: groups, configs, bindings and agents (for the start line)."""
        catalog = self._catalog
        bindings = sum(len(names) for names in catalog.applied.values())
        counts = (len(catalog.groups), len(catalog.configs), bindings, len(self.agents))
        return dict(zip(("groups", "configs", "bindings", "agents"), counts, strict=True))

    def apply(self, change: Change) -> None:
        catalog = self._catalog
        match change:
            case GroupSaved(group):
                self._catalog = catalog.with_group(group)
            case GroupDeleted(name):
                self._catalog = catalog.without_group(name)
            case ConfigSaved(config):
                self._catalog = catalog.with_config(config)
            case ConfigDeleted(name):
                self._catalog = catalog.without_config(name)
            case BindingsSet(group_name, config_names):
                self._catalog = catalog.with_applied(group_name, config_names)
            case AgentSaved(agent):
                self.agents.merge(agent)
            case AgentGone(agent_id):
                self.agents.remove(agent_id)
            case _:
                assert_never(change)

    def reload(self, state: StoredState) -> None:
        self._catalog = Catalog.build(state.groups, state.configs, state.bindings)
        self.agents.reload(state.agents)
