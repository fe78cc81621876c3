"""The store's logic in SQL, shared by the SQLite and PostgreSQL backends.

Each write is one transaction that checks its own preconditions, so that the answer is right even when
another server writes the same database. Statements are written with `?` placeholders; a backend supplies
the transaction and, where its driver wants another style, rewrites them.
"""

import json
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from core import errors
from core.model import Agent, AgentAttributes, AgentGroup, Config, Tag
from core.store import StoredState


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
    " tags, running_details"
)
_IN_CHUNK = 500


def _agent(row: Sequence[Any]) -> Agent:
    agent_id, agent_type, ip, version, status, startup, latest, tags, details = row
    attributes = AgentAttributes(agent_type, ip, version, status, startup, _tags(tags))
    return Agent(agent_id, attributes, latest, json.loads(details))


class SqlStore:
    """The Store protocol over any transaction that speaks `?`-style SQL.

    A backend supplies `transaction` (a write transaction that holds what it locks until commit),
    `reading` (a consistent read), `_publish` (tell other processes what a transaction changed, at its
    commit), `save_pending` (one statement per batch, in the backend's dialect), `watch` and `close`.
    """

    lock_rows = ""
    """Appended to a SELECT that must hold its rows until commit (" FOR UPDATE" where supported)."""

    def __init__(self) -> None:
        self.origin = uuid.uuid4().hex[:16]
        self.deadline: float | None = None
        """time.monotonic() by which the current write must be done: a transaction that would wait past it
        (for a lock, a slow statement) is rolled back and raises RequestTimeout."""

    def check_deadline(self) -> None:
        """Raise RequestTimeout once the deadline passed: called before a commit, so that a write whose
        request was already answered RequestTimeout rolls back instead of committing late."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise errors.ServiceError(
                errors.Code.REQUEST_TIMEOUT, "The store did not finish before the deadline."
            )

    def remaining_ms(self, default: int) -> int:
        if self.deadline is None:
            return default
        return max(1, int((self.deadline - time.monotonic()) * 1000))

    def transaction(self) -> AbstractContextManager[Transaction]:
        raise NotImplementedError

    def reading(self) -> AbstractContextManager[Transaction]:
        raise NotImplementedError

    def _publish(self, tx: Transaction, kind: str, name: str) -> None:
        raise NotImplementedError

    def ping(self) -> None:
        with self.reading() as tx:
            tx.execute("SELECT 1").fetchone()

    # Reads.

    def get_group(self, name: str) -> AgentGroup | None:
        with self.reading() as tx:
            row = tx.execute("SELECT description, tags FROM agent_groups WHERE name = ?", (name,)).fetchone()
        return None if row is None else AgentGroup(name, row[0], _tags(row[1]))

    def get_config(self, name: str) -> Config | None:
        with self.reading() as tx:
            row = tx.execute(
                "SELECT agent_type, description, content, version FROM configs"
                " WHERE name = ? AND deleted = 0",
                (name,),
            ).fetchone()
        return None if row is None else Config(name, *row)

    def get_applied(self, group_name: str) -> list[str]:
        with self.reading() as tx:
            rows = tx.execute(
                "SELECT config_name FROM applied_configs WHERE group_name = ?", (group_name,)
            ).fetchall()
        return [row[0] for row in rows]

    def get_agent(self, agent_id: str) -> Agent | None:
        with self.reading() as tx:
            row = tx.execute(
                f"SELECT {_AGENT_COLUMNS} FROM agents WHERE agent_id = ?", (agent_id,)
            ).fetchone()
        return None if row is None else _agent(row)

    def heartbeat_times(self, agent_ids: Iterable[str]) -> dict[str, tuple[int, dict[str, str]]]:
        ids = list(agent_ids)
        found: dict[str, tuple[int, dict[str, str]]] = {}
        with self.reading() as tx:
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = ids[start : start + _IN_CHUNK]
                rows = tx.execute(
                    "SELECT agent_id, latest_heartbeat_time, running_details FROM agents"
                    f" WHERE agent_id IN ({', '.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
                for agent_id, latest, details in rows:
                    found[agent_id] = (latest, json.loads(details))
        return found

    def load(self) -> StoredState:
        with self.reading() as tx:
            groups = [
                AgentGroup(name, description, _tags(tags))
                for name, description, tags in tx.execute(
                    "SELECT name, description, tags FROM agent_groups"
                ).fetchall()
            ]
            configs = [
                Config(*row)
                for row in tx.execute(
                    "SELECT name, agent_type, description, content, version FROM configs WHERE deleted = 0"
                ).fetchall()
            ]
            bindings = [
                (group, config)
                for group, config in tx.execute(
                    "SELECT group_name, config_name FROM applied_configs"
                ).fetchall()
            ]
            agents = [_agent(row) for row in tx.execute(f"SELECT {_AGENT_COLUMNS} FROM agents")]  # streamed
        return StoredState(groups, configs, bindings, agents)

    # Groups.

    def create_group(self, group: AgentGroup) -> None:
        with self.transaction() as tx:
            inserted = tx.execute(
                "INSERT INTO agent_groups (name, description, tags) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (group.name, group.description, _tags_json(group.tags)),
            )
            if inserted.rowcount == 0:
                raise errors.group_exists(group.name)
            self._publish(tx, "group", group.name)

    def update_group(self, group: AgentGroup) -> None:
        with self.transaction() as tx:
            updated = tx.execute(
                "UPDATE agent_groups SET description = ?, tags = ? WHERE name = ?",
                (group.description, _tags_json(group.tags), group.name),
            )
            if updated.rowcount == 0:
                raise errors.group_not_found(group.name)
            self._publish(tx, "group", group.name)

    def delete_group(self, name: str) -> None:
        with self.transaction() as tx:
            self._lock_group(tx, name)
            if tx.execute("SELECT 1 FROM applied_configs WHERE group_name = ? LIMIT 1", (name,)).fetchone():
                raise errors.bad_request(f"Agent group {name} still has configs applied; remove them first.")
            tx.execute("DELETE FROM agent_groups WHERE name = ?", (name,))
            self._publish(tx, "group", name)

    def _lock_group(self, tx: Transaction, name: str) -> None:
        if not tx.execute("SELECT 1 FROM agent_groups WHERE name = ?" + self.lock_rows, (name,)).fetchone():
            raise errors.group_not_found(name)

    # Configs.

    def create_config(self, config: Config) -> Config:
        with self.transaction() as tx:
            row = tx.execute(
                "INSERT INTO configs (name, agent_type, description, content, version, deleted)"
                " VALUES (?, ?, ?, ?, 0, 0)"
                " ON CONFLICT (name) DO UPDATE SET agent_type = excluded.agent_type,"
                " description = excluded.description, content = excluded.content,"
                " version = configs.version + 1, deleted = 0"
                " WHERE configs.deleted = 1"
                " RETURNING version",
                (config.name, config.agent_type, config.description, config.content),
            ).fetchone()
            if row is None:
                raise errors.config_exists(config.name)
            self._publish(tx, "config", config.name)
        return Config(config.name, config.agent_type, config.description, config.content, row[0])

    def update_config(self, config: Config) -> Config:
        with self.transaction() as tx:
            row = tx.execute(
                "UPDATE configs SET agent_type = ?, description = ?, content = ?, version = version + 1"
                " WHERE name = ? AND deleted = 0 RETURNING version",
                (config.agent_type, config.description, config.content, config.name),
            ).fetchone()
            if row is None:
                raise errors.config_not_found(config.name)
            self._publish(tx, "config", config.name)
        return Config(config.name, config.agent_type, config.description, config.content, row[0])

    def delete_config(self, name: str) -> None:
        with self.transaction() as tx:
            self._lock_config(tx, name)
            if tx.execute("SELECT 1 FROM applied_configs WHERE config_name = ? LIMIT 1", (name,)).fetchone():
                raise errors.bad_request(
                    f"Config {name} is still applied to agent groups; remove it from them first."
                )
            tx.execute("UPDATE configs SET deleted = 1 WHERE name = ?", (name,))
            self._publish(tx, "config", name)

    def _lock_config(self, tx: Transaction, name: str) -> None:
        row = tx.execute("SELECT deleted FROM configs WHERE name = ?" + self.lock_rows, (name,)).fetchone()
        if row is None or row[0]:
            raise errors.config_not_found(name)

    # Bindings.

    def apply_config(self, group_name: str, config_name: str) -> None:
        with self.transaction() as tx:
            self._lock_group(tx, group_name)
            self._lock_config(tx, config_name)
            inserted = tx.execute(
                "INSERT INTO applied_configs (group_name, config_name) VALUES (?, ?)"
                " ON CONFLICT (group_name, config_name) DO NOTHING",
                (group_name, config_name),
            )
            if inserted.rowcount == 0:
                raise errors.ServiceError(
                    errors.Code.CONFIG_ALREADY_EXIST,
                    f"Config {config_name} is already applied to agent group {group_name}.",
                )
            self._publish(tx, "binding", group_name)

    def remove_config(self, group_name: str, config_name: str) -> None:
        with self.transaction() as tx:
            self._lock_group(tx, group_name)
            removed = tx.execute(
                "DELETE FROM applied_configs WHERE group_name = ? AND config_name = ?",
                (group_name, config_name),
            )
            if removed.rowcount == 0:
                raise errors.ServiceError(
                    errors.Code.CONFIG_NOT_EXIST,
                    f"Config {config_name} is not applied to agent group {group_name}.",
                )
            self._publish(tx, "binding", group_name)

    # Agents.

    def save_agent(self, agent: Agent) -> None:
        attributes = agent.attributes
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO agents (agent_id, agent_type, ip, version, running_status, startup_time,"
                " latest_heartbeat_time, tags, running_details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (agent_id) DO UPDATE SET agent_type = excluded.agent_type,"
                " ip = excluded.ip, version = excluded.version, running_status = excluded.running_status,"
                " startup_time = excluded.startup_time,"
                " latest_heartbeat_time = excluded.latest_heartbeat_time, tags = excluded.tags,"
                " running_details = excluded.running_details",
                (
                    agent.agent_id,
                    attributes.agent_type,
                    attributes.ip,
                    attributes.version,
                    attributes.running_status,
                    attributes.startup_time,
                    agent.latest_heartbeat_time,
                    _tags_json(attributes.tags),
                    json.dumps(agent.running_details, separators=(",", ":")),
                ),
            )
            self._publish(tx, "agent", agent.agent_id)
