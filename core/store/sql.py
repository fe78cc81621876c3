"""The store's logic in SQL, shared by the SQLite and PostgreSQL backends.

Each write is one transaction that locks the rows it checks, applies the domain's rules to them
(`core.rules`), writes, appends itself to the change feed, and reads back the change to apply to memory.
Statements are written with `?` placeholders; a backend supplies the transactions and, where its driver
wants another style, rewrites them.
"""

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from functools import lru_cache
from typing import Any, Protocol

from core import errors, rules
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
from core.model import (
    Agent,
    AgentAttributes,
    AgentGroup,
    AgentProtocol,
    Alarm,
    AuditEvent,
    Config,
    ConfigKind,
    ConfigPatch,
    ConfigRevision,
    ConfigStatuses,
    HeldVersions,
    RevisionAction,
    Tag,
)
from core.store import FeedRead, StoredState


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Transaction(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...


def _tags_json(tags: tuple[Tag, ...]) -> str:
    return json.dumps([list(tag) for tag in tags], separators=(",", ":"))


def _tags(text: str) -> tuple[Tag, ...]:
    return tuple((name, value) for name, value in json.loads(text))


_AGENT_COLUMNS = (
    "agent_id, agent_type, ip, version, running_status, startup_time, latest_heartbeat_time,"
    " tags, running_details, config_versions, last_config_fetch_time, protocol, hostname, config_statuses"
)
_CONFIG_COLUMNS = "name, agent_type, description, content, version, update_time, kind"
_IN_CHUNK = 500


_REVISION_COLUMNS = "name, agent_type, description, content, version, time, kind, action, actor, reason"
_AUDIT_COLUMNS = "time, actor, peer, rpc, target, code, reason, id"


def _like(text: str) -> str:
    """`text` as a LIKE pattern matching itself (escape character `!`)."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def _config_row(config: Config) -> tuple[str, str, str, str, int, int, str]:
    return (
        config.name,
        config.agent_type,
        config.description,
        config.content,
        config.version,
        config.update_time,
        config.kind.value,
    )


def _revision(row: Sequence[Any]) -> ConfigRevision:
    name, agent_type, description, content, version, time, kind, action, actor, reason = row
    config = Config(name, agent_type, description, content, version, time, ConfigKind(kind))
    return ConfigRevision(config, RevisionAction(action), time, actor, reason)


@lru_cache(maxsize=4096)
def held_json(held: HeldVersions | ConfigStatuses) -> str:
    """Remembered: agents share a few such tuples, and a heartbeat batch writes every agent's, on the store
    thread, holding the interpreter lock the answering threads wait for."""
    return json.dumps([list(pair) for pair in held], separators=(",", ":"))


def details_json(details: Mapping[str, str]) -> str:
    """An agent's running statistics as stored (most agents send none: no encoder for them)."""
    return json.dumps(details, separators=(",", ":")) if details else "{}"


def _pairs(text: str) -> tuple[tuple[Any, Any], ...]:
    return tuple((name, value) for name, value in json.loads(text))


ACTIVITY_COLUMNS = (
    "agent_id, latest_heartbeat_time, running_details, config_versions, last_config_fetch_time,"
    " config_statuses"
)


def activity_row(row: Sequence[Any]) -> Activity:
    agent_id, latest, details, held, fetched, statuses = row
    return Activity(agent_id, latest, json.loads(details), _pairs(held), fetched, _pairs(statuses))


class _Decoded:
    """The tag sets, held versions and statuses of the agents being loaded, decoded once per distinct text:
    agents repeat them, and sharing them from the start keeps loading a large fleet from leaving a copy per
    agent behind in the allocator's arenas (resident memory that sharing them later does not give back)."""

    def __init__(self) -> None:
        self._pairs: dict[str, tuple[tuple[Any, Any], ...]] = {}

    def pairs(self, text: str) -> tuple[tuple[Any, Any], ...]:
        found = self._pairs.get(text)
        if found is None:
            found = self._pairs[text] = _pairs(text)
        return found


def _agent(row: Sequence[Any], decoded: _Decoded | None = None) -> Agent:
    (agent_id, agent_type, ip, version, status, startup, latest, tags, details, held, fetched, protocol,
     hostname, statuses) = row  # fmt: skip
    pairs = _pairs if decoded is None else decoded.pairs
    attributes = AgentAttributes(
        agent_type, ip, version, status, startup, pairs(tags), AgentProtocol(protocol), hostname
    )
    return Agent(agent_id, attributes, latest, json.loads(details), pairs(held), fetched, pairs(statuses))


def _config(row: Sequence[Any]) -> Config:
    name, agent_type, description, content, version, update_time, kind = row
    return Config(name, agent_type, description, content, version, update_time, ConfigKind(kind))


class SqlStore:
    """The Store protocol over any transaction that speaks `?`-style SQL.

    A backend supplies `transaction` (a write transaction that holds what it locks until commit and
    rolls back past its deadline), `reading` (a read), `_notify` (wake other processes' watchers at
    commit), `save_pending` (one statement per batch, in the backend's dialect), `watch` and `close`.
    """

    lock_rows = ""
    """Appended to a SELECT that must hold its rows until commit (" FOR UPDATE" where supported)."""

    def __init__(self) -> None:
        self.origin = uuid.uuid4().hex[:16]

    def transaction(self, deadline: Deadline | None) -> AbstractContextManager[Transaction]:
        raise NotImplementedError

    def reading(self, deadline: Deadline | None = None) -> AbstractContextManager[Transaction]:
        raise NotImplementedError

    def _notify(self, tx: Transaction) -> None:
        raise NotImplementedError

    # The change feed.

    def _publish(self, tx: Transaction, kind: ChangeKind, *names: str) -> None:
        """Take the next revisions (their row stays locked until commit) and append an entry per name."""
        (last,) = tx.execute(
            "UPDATE store_revision SET value = value + ? WHERE id = 1 RETURNING value", (len(names),)
        ).fetchone()
        for revision, name in enumerate(names, start=last - len(names) + 1):
            tx.execute(
                "INSERT INTO changes (id, origin, kind, name) VALUES (?, ?, ?, ?)",
                (revision, self.origin, kind.value, name),
            )
        self._notify(tx)

    @staticmethod
    def _revision(tx: Transaction) -> int:
        (revision,) = tx.execute("SELECT value FROM store_revision WHERE id = 1").fetchone()
        return int(revision)

    def feed_after(self, revision: int, deadline: Deadline | None = None) -> FeedRead:
        with self.reading(deadline) as tx:
            current = self._revision(tx)
            if current == revision:
                return FeedRead(())
            rows = tx.execute(
                "SELECT id, origin, kind, name FROM changes WHERE id > ? AND id <= ? ORDER BY id",
                (revision, current),
            ).fetchall()
        entries = [FeedEntry(row[0], row[1], ChangeKind(row[2]), row[3]) for row in rows]
        complete = len(entries) == current - revision  # revisions have no gaps: fewer rows were pruned
        return FeedRead(entries, complete)

    def prune_feed(self, before: float) -> None:
        with self.transaction(None) as tx:
            tx.execute("DELETE FROM changes WHERE created_at < ?", (int(before),))

    def read_change(self, kind: ChangeKind, name: str, deadline: Deadline | None = None) -> Change:
        with self.reading(deadline) as tx:
            match kind:
                case ChangeKind.GROUP:
                    group = self._group(tx, name)
                    return GroupDeleted(name) if group is None else GroupSaved(group)
                case ChangeKind.CONFIG:
                    config = self._config(tx, name)
                    return ConfigDeleted(name) if config is None else ConfigSaved(config)
                case ChangeKind.BINDINGS:
                    return BindingsSet(name, frozenset(self._applied(tx, name)))
                case ChangeKind.AGENT:
                    agent = self._agent(tx, name)
                    return AgentGone(name) if agent is None else AgentSaved(agent)

    # Reads.

    @staticmethod
    def _group(tx: Transaction, name: str) -> AgentGroup | None:
        row = tx.execute("SELECT description, tags FROM agent_groups WHERE name = ?", (name,)).fetchone()
        return None if row is None else AgentGroup(name, row[0], _tags(row[1]))

    @staticmethod
    def _config(tx: Transaction, name: str) -> Config | None:
        row = tx.execute(
            f"SELECT {_CONFIG_COLUMNS} FROM configs WHERE name = ? AND deleted = 0", (name,)
        ).fetchone()
        return None if row is None else _config(row)

    @staticmethod
    def _applied(tx: Transaction, group_name: str) -> list[str]:
        rows = tx.execute(
            "SELECT config_name FROM applied_configs WHERE group_name = ?", (group_name,)
        ).fetchall()
        return [row[0] for row in rows]

    @staticmethod
    def _agent(tx: Transaction, agent_id: str) -> Agent | None:
        row = tx.execute(f"SELECT {_AGENT_COLUMNS} FROM agents WHERE agent_id = ?", (agent_id,)).fetchone()
        return None if row is None else _agent(row)

    def get_agent(self, agent_id: str, deadline: Deadline | None = None) -> Agent | None:
        with self.reading(deadline) as tx:
            return self._agent(tx, agent_id)

    def activity(self, agent_ids: Sequence[str], deadline: Deadline | None = None) -> list[Activity]:
        found: list[Activity] = []
        with self.reading(deadline) as tx:
            for start in range(0, len(agent_ids), _IN_CHUNK):
                chunk = agent_ids[start : start + _IN_CHUNK]
                marks = ", ".join("?" * len(chunk))
                rows = tx.execute(
                    f"SELECT {ACTIVITY_COLUMNS} FROM agents WHERE agent_id IN ({marks})", chunk
                ).fetchall()
                found.extend(activity_row(row) for row in rows)
        return found

    def load(self) -> StoredState:
        with self.reading() as tx:
            revision = self._revision(tx)  # first: every row read after it is at least this recent
            groups = [
                AgentGroup(name, description, _tags(tags))
                for name, description, tags in tx.execute(
                    "SELECT name, description, tags FROM agent_groups"
                ).fetchall()
            ]
            configs = [
                _config(row)
                for row in tx.execute(f"SELECT {_CONFIG_COLUMNS} FROM configs WHERE deleted = 0").fetchall()
            ]
            bindings = [
                (group, config)
                for group, config in tx.execute(
                    "SELECT group_name, config_name FROM applied_configs"
                ).fetchall()
            ]
            decoded = _Decoded()
            agents = [_agent(row, decoded) for row in tx.execute(f"SELECT {_AGENT_COLUMNS} FROM agents")]
        return StoredState(revision, groups, configs, bindings, agents)

    # Groups.

    def create_group(self, group: AgentGroup, event: AuditEvent, deadline: Deadline | None) -> GroupSaved:
        with self.transaction(deadline) as tx:
            inserted = tx.execute(
                "INSERT INTO agent_groups (name, description, tags) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (group.name, group.description, _tags_json(group.tags)),
            )
            if inserted.rowcount == 0:
                raise errors.group_exists(group.name)
            self._audit(tx, event)
            self._publish(tx, ChangeKind.GROUP, group.name)
        return GroupSaved(group)

    def update_group(self, group: AgentGroup, event: AuditEvent, deadline: Deadline | None) -> GroupSaved:
        with self.transaction(deadline) as tx:
            updated = tx.execute(
                "UPDATE agent_groups SET description = ?, tags = ? WHERE name = ?",
                (group.description, _tags_json(group.tags), group.name),
            )
            if updated.rowcount == 0:
                raise errors.group_not_found(group.name)
            self._audit(tx, event)
            self._publish(tx, ChangeKind.GROUP, group.name)
        return GroupSaved(group)

    def delete_group(self, name: str, event: AuditEvent, deadline: Deadline | None) -> GroupDeleted:
        with self.transaction(deadline) as tx:
            self._lock_group(tx, name)
            rules.check_group_deletable(name, self._applied(tx, name))
            tx.execute("DELETE FROM agent_groups WHERE name = ?", (name,))
            self._audit(tx, event)
            self._publish(tx, ChangeKind.GROUP, name)
        return GroupDeleted(name)

    def _lock_group(self, tx: Transaction, name: str) -> None:
        if not tx.execute("SELECT 1 FROM agent_groups WHERE name = ?" + self.lock_rows, (name,)).fetchone():
            raise errors.group_not_found(name)

    # Configs.

    def create_config(
        self, config: Config, event: AuditEvent, keep: int, deadline: Deadline | None
    ) -> ConfigSaved:
        with self.transaction(deadline) as tx:
            row = tx.execute(
                "SELECT version, deleted FROM configs WHERE name = ?" + self.lock_rows, (config.name,)
            ).fetchone()
            if row is not None and not row[1]:
                raise errors.config_exists(config.name)
            created = replace(
                config, version=rules.created_version(None if row is None else row[0]), update_time=event.time
            )
            written = tx.execute(
                "INSERT INTO configs (name, agent_type, description, content, version, update_time, kind,"
                " deleted) VALUES (?, ?, ?, ?, ?, ?, ?, 0)"
                " ON CONFLICT (name) DO UPDATE SET agent_type = excluded.agent_type,"
                " description = excluded.description, content = excluded.content,"
                " version = excluded.version, update_time = excluded.update_time, kind = excluded.kind,"
                " deleted = 0"
                " WHERE configs.deleted = 1",
                _config_row(created),
            )
            if written.rowcount == 0:  # created meanwhile by another server
                raise errors.config_exists(config.name)
            self._revise(tx, created, RevisionAction.CREATE, event, keep)
        return ConfigSaved(created)

    def update_config(
        self,
        patch: ConfigPatch,
        expected: rules.Expectations,
        event: AuditEvent,
        keep: int,
        deadline: Deadline | None,
    ) -> ConfigSaved:
        with self.transaction(deadline) as tx:
            updated = rules.updated_config(self._locked_config(tx, patch.name), patch, expected, event.time)
            self._write_config(tx, updated, deleted=False)
            self._revise(tx, updated, RevisionAction.UPDATE, event, keep)
        return ConfigSaved(updated)

    def delete_config(
        self, name: str, expected_version: int | None, event: AuditEvent, keep: int, deadline: Deadline | None
    ) -> ConfigDeleted:
        with self.transaction(deadline) as tx:
            current = self._locked_config(tx, name)
            if current is None:
                raise errors.config_not_found(name)
            rules.check_expected_version(name, current.version, expected_version)
            applied_to = tx.execute(
                "SELECT group_name FROM applied_configs WHERE config_name = ?", (name,)
            ).fetchall()
            rules.check_config_deletable(name, applied_to)
            deleted = replace(current, version=rules.next_version(current.version), update_time=event.time)
            self._write_config(tx, deleted, deleted=True)
            self._revise(tx, deleted, RevisionAction.DELETE, event, keep)
        return ConfigDeleted(name)

    def rollback_config(
        self,
        name: str,
        to_version: int,
        expected: rules.Expectations,
        event: AuditEvent,
        keep: int,
        deadline: Deadline | None,
    ) -> ConfigSaved:
        with self.transaction(deadline) as tx:
            row = tx.execute(
                "SELECT version FROM configs WHERE name = ?" + self.lock_rows, (name,)
            ).fetchone()
            target = self._revision_of(tx, name, to_version)
            if row is None or target is None:
                raise errors.revision_not_found(name, to_version)
            restored = rules.rolled_back_config(row[0], target, expected, event.time)
            self._write_config(tx, restored, deleted=False)
            self._revise(tx, restored, RevisionAction.ROLLBACK, event, keep)
        return ConfigSaved(restored)

    def _locked_config(self, tx: Transaction, name: str) -> Config | None:
        """The live config `name`, locked until commit (None: there is none)."""
        row = tx.execute(
            f"SELECT {_CONFIG_COLUMNS} FROM configs WHERE name = ? AND deleted = 0" + self.lock_rows, (name,)
        ).fetchone()
        return None if row is None else _config(row)

    @staticmethod
    def _write_config(tx: Transaction, config: Config, deleted: bool) -> None:
        tx.execute(
            "UPDATE configs SET agent_type = ?, description = ?, content = ?, version = ?, update_time = ?,"
            " kind = ?, deleted = ? WHERE name = ?",
            (*_config_row(config)[1:], int(deleted), config.name),
        )

    def _revise(
        self, tx: Transaction, config: Config, action: RevisionAction, event: AuditEvent, keep: int
    ) -> None:
        """Keep the revision a write made, drop those beyond the newest `keep`, audit it, publish it."""
        tx.execute(
            "INSERT INTO config_revisions (name, version, action, time, actor, reason, agent_type,"
            " description, content, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                config.name,
                config.version,
                action.value,
                event.time,
                event.actor,
                event.reason,
                config.agent_type,
                config.description,
                config.content,
                config.kind.value,
            ),
        )
        tx.execute(
            "DELETE FROM config_revisions WHERE name = ? AND version <= ?",
            (config.name, config.version - keep),
        )
        self._audit(tx, event)
        self._publish(tx, ChangeKind.CONFIG, config.name)

    def _lock_config(self, tx: Transaction, name: str) -> None:
        if not tx.execute(
            "SELECT 1 FROM configs WHERE name = ? AND deleted = 0" + self.lock_rows, (name,)
        ).fetchone():
            raise errors.config_not_found(name)

    @staticmethod
    def _revision_of(tx: Transaction, name: str, version: int) -> ConfigRevision | None:
        row = tx.execute(
            f"SELECT {_REVISION_COLUMNS} FROM config_revisions WHERE name = ? AND version = ?",
            (name, version),
        ).fetchone()
        return None if row is None else _revision(row)

    def config_history(
        self, name: str, limit: int, before_version: int | None, deadline: Deadline | None = None
    ) -> list[ConfigRevision]:
        where: list[str] = ["name = ?"]
        params: list[Any] = [name]
        if before_version is not None:
            where.append("version < ?")
            params.append(before_version)
        with self.reading(deadline) as tx:
            rows = tx.execute(
                f"SELECT {_REVISION_COLUMNS} FROM config_revisions WHERE {' AND '.join(where)}"
                " ORDER BY version DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [_revision(row) for row in rows]

    # Bindings.

    def apply_config(
        self, group_name: str, config_name: str, event: AuditEvent, deadline: Deadline | None
    ) -> BindingsSet:
        with self.transaction(deadline) as tx:
            self._lock_group(tx, group_name)
            self._lock_config(tx, config_name)
            applied = self._applied(tx, group_name)
            rules.check_applicable(group_name, config_name, applied)
            tx.execute(
                "INSERT INTO applied_configs (group_name, config_name) VALUES (?, ?)",
                (group_name, config_name),
            )
            self._audit(tx, event)
            self._publish(tx, ChangeKind.BINDINGS, group_name)
        return BindingsSet(group_name, frozenset(applied) | {config_name})

    def remove_config(
        self, group_name: str, config_name: str, event: AuditEvent, deadline: Deadline | None
    ) -> BindingsSet:
        with self.transaction(deadline) as tx:
            self._lock_group(tx, group_name)
            applied = self._applied(tx, group_name)
            rules.check_removable(group_name, config_name, applied)
            tx.execute(
                "DELETE FROM applied_configs WHERE group_name = ? AND config_name = ?",
                (group_name, config_name),
            )
            self._audit(tx, event)
            self._publish(tx, ChangeKind.BINDINGS, group_name)
        return BindingsSet(group_name, frozenset(applied) - {config_name})

    # Agents.

    def save_agent(self, agent: Agent, deadline: Deadline | None) -> AgentSaved:
        attributes = agent.attributes
        with self.transaction(deadline) as tx:
            tx.execute(
                f"INSERT INTO agents ({_AGENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (agent_id) DO UPDATE SET agent_type = excluded.agent_type,"
                " ip = excluded.ip, version = excluded.version, running_status = excluded.running_status,"
                " startup_time = excluded.startup_time,"
                " latest_heartbeat_time = excluded.latest_heartbeat_time, tags = excluded.tags,"
                " running_details = excluded.running_details, config_versions = excluded.config_versions,"
                " last_config_fetch_time = excluded.last_config_fetch_time, protocol = excluded.protocol,"
                " hostname = excluded.hostname, config_statuses = excluded.config_statuses",
                (
                    agent.agent_id,
                    attributes.agent_type,
                    attributes.ip,
                    attributes.version,
                    attributes.running_status,
                    attributes.startup_time,
                    agent.latest_heartbeat_time,
                    _tags_json(attributes.tags),
                    details_json(agent.running_details),
                    held_json(agent.config_versions),
                    agent.last_config_fetch_time,
                    attributes.protocol.value,
                    attributes.hostname,
                    held_json(agent.config_statuses),
                ),
            )
            self._publish(tx, ChangeKind.AGENT, agent.agent_id)
        return AgentSaved(agent)

    def delete_agent(self, agent_id: str, event: AuditEvent, deadline: Deadline | None) -> AgentGone:
        with self.transaction(deadline) as tx:
            if tx.execute("DELETE FROM agents WHERE agent_id = ?", (agent_id,)).rowcount == 0:
                raise errors.agent_not_found(agent_id)
            self._audit(tx, event)
            self._publish(tx, ChangeKind.AGENT, agent_id)
        return AgentGone(agent_id)

    def expire_agents(self, before: int, limit: int) -> list[AgentGone]:
        with self.transaction(None) as tx:
            rows = tx.execute(
                "DELETE FROM agents WHERE agent_id IN (SELECT agent_id FROM agents"
                f" WHERE latest_heartbeat_time < ? LIMIT ?{self.lock_rows}) RETURNING agent_id",
                (before, limit),
            ).fetchall()
            gone = [row[0] for row in rows]
            if gone:
                self._publish(tx, ChangeKind.AGENT, *gone)
        return [AgentGone(agent_id) for agent_id in gone]

    # Alarms.

    def save_alarms(self, alarms: Sequence[Alarm], keep_per_agent: int) -> None:
        if not alarms:
            return
        with self.transaction(None) as tx:
            for alarm in alarms:
                tx.execute(
                    "INSERT INTO alarms (agent_id, type, detail, time) VALUES (?, ?, ?, ?)",
                    (alarm.agent_id, alarm.type, alarm.detail, alarm.time),
                )
            for agent_id in {alarm.agent_id for alarm in alarms}:
                tx.execute(
                    "DELETE FROM alarms WHERE agent_id = ? AND id < (SELECT min(id) FROM"
                    " (SELECT id FROM alarms WHERE agent_id = ? ORDER BY id DESC LIMIT ?) AS kept)",
                    (agent_id, agent_id, keep_per_agent),
                )

    def list_alarms(
        self,
        agent_id: str,
        kind: str,
        since: int,
        limit: int,
        before: tuple[int, int] | None,
        deadline: Deadline | None = None,
    ) -> list[Alarm]:
        """Newest first: by time, then by id; `before` is the (time, id) the previous page ended at."""
        where: list[str] = ["time >= ?"]
        params: list[Any] = [since]
        if agent_id:
            where.append("agent_id = ?")
            params.append(agent_id)
        if kind:
            where.append("type = ?")
            params.append(kind)
        rows = self._newest_first(
            "agent_id, type, detail, time, id", "alarms", where, params, before, limit, deadline
        )
        return [Alarm(*row) for row in rows]

    def _newest_first(
        self,
        columns: str,
        table: str,
        where: list[str],
        params: list[Any],
        before: tuple[int, int] | None,
        limit: int,
        deadline: Deadline | None,
    ) -> list[Any]:
        """A page of rows matching `where`, newest first by (time, id), after the (time, id) of `before`."""
        if before is not None:
            where.append("(time < ? OR (time = ? AND id < ?))")
            params.extend((before[0], before[0], before[1]))
        with self.reading(deadline) as tx:
            return tx.execute(
                f"SELECT {columns} FROM {table} WHERE {' AND '.join(where)}"
                " ORDER BY time DESC, id DESC LIMIT ?",
                (*params, limit),
            ).fetchall()

    def count_alarms(self, since: int, deadline: Deadline | None = None) -> int:
        with self.reading(deadline) as tx:
            (count,) = tx.execute("SELECT count(*) FROM alarms WHERE time >= ?", (since,)).fetchone()
        return int(count)

    def prune_alarms(self, before: int) -> None:
        with self.transaction(None) as tx:
            tx.execute("DELETE FROM alarms WHERE time < ?", (before,))

    # The audit trail.

    @staticmethod
    def _audit(tx: Transaction, event: AuditEvent) -> None:
        tx.execute(
            "INSERT INTO audit_events (time, actor, peer, rpc, target, code, reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event.time, event.actor, event.peer, event.rpc, event.target, event.code, event.reason),
        )

    def save_audit(self, events: Sequence[AuditEvent]) -> None:
        if not events:
            return
        with self.transaction(None) as tx:
            for event in events:
                self._audit(tx, event)

    def list_audit(
        self,
        since: int,
        actor: str,
        target: str,
        limit: int,
        before: tuple[int, int] | None,
        deadline: Deadline | None = None,
    ) -> list[AuditEvent]:
        where: list[str] = ["time >= ?"]
        params: list[Any] = [since]
        if actor:
            where.append("actor = ?")
            params.append(actor)
        if target:  # the name itself, or either side of a binding's GROUP/CONFIG
            where.append("(target = ? OR target LIKE ? ESCAPE '!' OR target LIKE ? ESCAPE '!')")
            params.extend((target, _like(target) + "/%", "%/" + _like(target)))
        rows = self._newest_first(_AUDIT_COLUMNS, "audit_events", where, params, before, limit, deadline)
        return [AuditEvent(*row) for row in rows]

    def prune_audit(self, before: int) -> None:
        with self.transaction(None) as tx:
            tx.execute("DELETE FROM audit_events WHERE time < ?", (before,))
