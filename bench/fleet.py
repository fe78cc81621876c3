"""Fleets written straight into a SQLite store before the server starts (registering 100,000 agents
through the API would take longer than the benchmark itself).

Agent i carries the tags group=g{i % 100} and shard=s{i % 10}. Group g{k} matches group=g{k} and has
CONFIGS_PER_GROUP configs applied; so every agent holds exactly that many configs whatever the fleet's
size. Group `big` matches shard=s0: a tenth of the fleet (10,000 agents of 100,000) for ListAgents.
"""

import json
import sqlite3
import time
from dataclasses import dataclass

from configserver.proto import agent_pb2
from core.store.backends import prepare_store
from core.store.sqlite import sqlite_path

GROUPS = 100
CONFIGS_PER_GROUP = 10
CONTENT = "x" * 2048


@dataclass(frozen=True)
class Fleet:
    agents: int
    configs: int

    @property
    def label(self) -> str:
        return f"{self.agents:,} agents, {self.configs:,} configs"

    def config_names(self, agent: int) -> list[str]:
        """The configs agent `agent` holds (all of its group's)."""
        group = agent % GROUPS
        per_group = self.configs // GROUPS if self.configs >= GROUPS else self.configs
        return [f"c{(group * per_group + k) % self.configs}" for k in range(per_group)]


def agent_id(index: int) -> str:
    return f"agent-{index:06d}"


def agent_tags(index: int) -> dict[str, str]:
    return {"group": f"g{index % GROUPS}", "shard": f"s{index % 10}"}


def populate(url: str, fleet: Fleet, seen: int | None = None, reported: bool = False) -> None:
    """Every agent last seen at `seen` (unix seconds; now by default: agents silent for a week expire);
    with `reported`, each also reported holding its configs, APPLIED (what a v2 heartbeat records)."""
    seen = int(time.time()) if seen is None else seen
    prepare_store(url)
    connection = sqlite3.connect(sqlite_path(url), isolation_level=None)
    try:
        connection.execute("BEGIN")
        groups = [(f"g{k}", "", json.dumps([["group", f"g{k}"]])) for k in range(GROUPS)]
        groups.append(("big", "a tenth of the fleet", json.dumps([["shard", "s0"]])))
        connection.executemany("INSERT INTO agent_groups (name, description, tags) VALUES (?, ?, ?)", groups)
        connection.executemany(
            "INSERT INTO configs (name, agent_type, description, content, version) VALUES (?, 'ilogtail', '', ?, 0)",
            [(f"c{k}", CONTENT) for k in range(fleet.configs)],
        )
        bindings = {
            (f"g{agent % GROUPS}", name) for agent in range(GROUPS) for name in fleet.config_names(agent)
        }
        connection.executemany(
            "INSERT INTO applied_configs (group_name, config_name) VALUES (?, ?)", sorted(bindings)
        )
        connection.executemany(
            "INSERT INTO agents (agent_id, agent_type, ip, version, running_status, startup_time,"
            " latest_heartbeat_time, tags, running_details, config_versions, config_statuses,"
            " last_config_fetch_time) VALUES (?, 'ilogtail', ?, '1.8.0', 'ok', 0, ?, ?, '{}', ?, ?, ?)",
            (
                (
                    agent_id(i),
                    f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
                    seen,
                    json.dumps(sorted(agent_tags(i).items())),
                    json.dumps([[name, 0] for name in sorted(fleet.config_names(i))] if reported else []),
                    json.dumps(
                        [[name, "APPLIED"] for name in sorted(fleet.config_names(i))] if reported else []
                    ),
                    seen if reported else 0,
                )
                for i in range(fleet.agents)
            ),
        )
        connection.execute("COMMIT")
    finally:
        connection.close()


SMALL, LARGE = Fleet(1_000, 10), Fleet(100_000, 1_000)


def heartbeat(index: int) -> bytes:
    return agent_pb2.HeartBeatRequest(
        agent_id=agent_id(index), agent_type="ilogtail", agent_version="1.8.0", running_status="ok",
        ip=f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}", tags=agent_tags(index),
    ).SerializeToString()  # fmt: skip
