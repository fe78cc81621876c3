"""Operators' writes: agent groups, configs, bindings, rollbacks and agent removals, in model types.

Inputs are checked here (`core.limits`). Each write is one store transaction (`Transactions.write`) that
checks the rules (`core.rules`) on the rows it locked, records the write's audit event (and a config
write's revision), and is answered once durable; memory is changed only by `FleetMemory`, right after the
commit. A write that could grow what agents get is first checked against memory for every answer it
changes (`core.answers`), on the store thread, on the catalog caught up with the change feed. The audit
events of refused writes are buffered (`core.audit`) and written with the next batch.
"""

from core import errors, limits, rules
from core.answers import AnswerBounds
from core.audit import AuditBuffer
from core.catalog import Catalog
from core.changes import BindingsSet, ConfigSaved, GroupSaved
from core.clock import Clock, Deadline
from core.model import AgentGroup, AuditEvent, Caller, Config, ConfigPatch, FleetPolicy
from core.queries import checked_group
from core.rules import Expectations
from core.transactions import Transactions

ACCEPT = errors.Code.ACCEPT.value


def _checked_config(config: Config | ConfigPatch) -> None:
    limits.name(config.name, "config_name")
    limits.required(config.content, "content")
    limits.text(config.agent_type or "", "agent_type")
    limits.text(config.description or "", "description")
    limits.text(config.content, "content", limits.MAX_CONTENT)


def _reason(reason: str) -> str:
    return limits.text(reason, "reason")


class FleetCommands:
    def __init__(
        self,
        transactions: Transactions,
        answers: AnswerBounds,
        audit: AuditBuffer,
        clock: Clock,
        policy: FleetPolicy,
    ) -> None:
        self._transactions = transactions
        self._store = transactions.store
        self._answers = answers
        self._audit = audit
        self._clock = clock
        self._keep = policy.history_retention

    def _event(self, caller: Caller, target: str, reason: str, code: str = ACCEPT) -> AuditEvent:
        now = int(self._clock.now())
        return AuditEvent(now, caller.actor, caller.peer, caller.rpc, target, code, reason)

    def refused(self, caller: Caller, target: str, code: str, reason: str) -> None:
        """A User API write was refused: its audit event is written with the next batch."""
        self._audit.add(
            self._event(caller, limits.clipped(target, 2 * limits.MAX_NAME + 1), limits.clipped(reason), code)
        )

    # Agent groups.

    async def create_group(self, group: AgentGroup, caller: Caller, reason: str = "") -> None:
        checked_group(group)
        event = self._event(caller, group.name, _reason(reason))
        await self._transactions.write(
            caller, lambda _, deadline: self._store.create_group(group, event, deadline)
        )

    async def update_group(self, group: AgentGroup, caller: Caller, reason: str = "") -> None:
        checked_group(group)
        event = self._event(caller, group.name, _reason(reason))

        def write(catalog: Catalog, deadline: Deadline) -> GroupSaved:
            if group.name in catalog.groups:  # its new tags may bring its configs to other agents
                self._answers.check(catalog.with_group(group), (group.name,))
            return self._store.update_group(group, event, deadline)

        await self._transactions.write(caller, write, catch_up=True)

    async def delete_group(self, name: str, caller: Caller, reason: str = "") -> None:
        limits.name(name, "group_name")
        rules.check_group_deletable(name, ())  # what can be told without the store: not `default`
        event = self._event(caller, name, _reason(reason))
        await self._transactions.write(
            caller, lambda _, deadline: self._store.delete_group(name, event, deadline)
        )

    # Configs.

    async def create_config(self, config: Config, caller: Caller, reason: str = "") -> None:
        _checked_config(config)
        limits.file_name(config.name, "config_name")
        event = self._event(caller, config.name, _reason(reason))
        await self._transactions.write(
            caller, lambda _, deadline: self._store.create_config(config, event, self._keep, deadline)
        )

    async def update_config(
        self, patch: ConfigPatch, expected_version: int | None, caller: Caller, reason: str = ""
    ) -> None:
        _checked_config(patch)
        event = self._event(caller, patch.name, _reason(reason))

        def write(catalog: Catalog, deadline: Deadline) -> ConfigSaved:
            expected = Expectations(expected_version, self._answers.budget(catalog, patch.name))
            return self._store.update_config(patch, expected, event, self._keep, deadline)

        await self._transactions.write(caller, write, catch_up=True)

    async def delete_config(
        self, name: str, expected_version: int | None, caller: Caller, reason: str = ""
    ) -> None:
        limits.name(name, "config_name")
        event = self._event(caller, name, _reason(reason))
        await self._transactions.write(
            caller,
            lambda _, deadline: self._store.delete_config(
                name, expected_version, event, self._keep, deadline
            ),
        )

    async def rollback(
        self, name: str, to_version: int, expected_version: int | None, caller: Caller, reason: str = ""
    ) -> Config:
        """The config at a new version holding what revision `to_version` held (re-created, unbound, when it
        was deleted); refused like an update when an agent's answer would grow too large."""
        limits.name(name, "config_name")
        event = self._event(caller, name, _reason(reason))

        def write(catalog: Catalog, deadline: Deadline) -> ConfigSaved:
            expected = Expectations(expected_version, self._answers.budget(catalog, name))
            return self._store.rollback_config(name, to_version, expected, event, self._keep, deadline)

        return (await self._transactions.write(caller, write, catch_up=True)).config

    # Bindings.

    async def apply(self, group_name: str, config_name: str, caller: Caller, reason: str = "") -> None:
        """Apply a config to a group: every member gets it at its next fetch."""
        limits.name(group_name, "group_name")
        limits.name(config_name, "config_name")
        event = self._event(caller, f"{group_name}/{config_name}", _reason(reason))

        def write(catalog: Catalog, deadline: Deadline) -> BindingsSet:
            if group_name in catalog.groups and config_name in catalog.configs:
                applied = catalog.applied.get(group_name, frozenset()) | {config_name}
                self._answers.check(catalog.with_applied(group_name, applied), (group_name,))
            return self._store.apply_config(group_name, config_name, event, deadline)

        await self._transactions.write(caller, write, catch_up=True)

    async def remove(self, group_name: str, config_name: str, caller: Caller, reason: str = "") -> None:
        limits.name(group_name, "group_name")
        limits.name(config_name, "config_name")
        event = self._event(caller, f"{group_name}/{config_name}", _reason(reason))
        await self._transactions.write(
            caller, lambda _, deadline: self._store.remove_config(group_name, config_name, event, deadline)
        )

    # Agents.

    async def delete_agent(self, agent_id: str, caller: Caller, reason: str = "") -> None:
        """Remove an agent now (a decommissioned host); it registers anew if it sends a heartbeat again."""
        limits.name(agent_id, "agent_id")
        event = self._event(caller, agent_id, _reason(reason))
        await self._transactions.write(
            caller, lambda _, deadline: self._store.delete_agent(agent_id, event, deadline)
        )
