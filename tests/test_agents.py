"""A mixed fleet on one server, each agent simulated as its release speaks and applies (`tests.agents`):
LoongCollector (v2 and legacy v1 clients), iLogtail 1.8 and 2.0 (v1), and an alpha agent through the HTTP
Agent API, in overlapping groups.

Covered: create, update, apply, remove and rollback reach each generation in its format (JSON with
`"version"` for v2, the stored text for v1 and alpha) at the wire version (domain + 1); instance configs
reach only v2 agents; content that is not a JSON object or a YAML mapping never reaches v2 agents and
counts as failed; v2 statuses in ListAgents and GetConfigStatus; nothing resent at an equal version over
many heartbeats; the fetch round when details exceed the inline limit; v1 answers always echo the
request id; a server restart on the same store loses and resends nothing; agent restarts; garbage and
hostile bodies on the v1 and v2 paths get a decodable answer, never a 5xx, and change nothing.
"""

import base64
import json
import random
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from configserver.proto import agent_pb2
from configserver.proto.v1 import agent_v1_pb2 as v1
from configserver.proto.v2 import agent_v2_pb2 as v2
from facades.v2 import INLINE_LIMIT
from tests.agents import (
    Agent,
    Held,
    ILogtail18,
    ILogtail20,
    Kind,
    LoongCollectorLegacyV1,
    LoongCollectorV2,
    V1Agent,
)
from tests.clock import ManualClock
from tests.stores import Backend
from tests.support import HttpClient, ServerThread, expect, make, running_server

ACCESS = {
    "enable": True,
    "inputs": [{"Type": "input_file", "FilePaths": ["/var/log/access/*.log"]}],
    "flushers": [{"Type": "flusher_stdout", "OnlyStdout": True}],
}
ACCESS_JSON = json.dumps(ACCESS)
APP_YAML = (
    "enable: true\ninputs:\n  - Type: input_file\n    FilePaths: [/var/log/app/*.log]\n"
    "flushers:\n  - Type: flusher_stdout\n    OnlyStdout: true\n"
)
TUNING_JSON = '{"enable": true, "max_bytes_per_sec": 100012031023}'
ODD_YAML = "- just\n- a list\n"
PROTOBUF = "application/x-protobuf"
V1_KINDS: tuple[type[V1Agent], ...] = (ILogtail18, ILogtail20, LoongCollectorLegacyV1)
A = TypeVar("A", bound=Agent)


class AlphaAgent:
    """An alpha agent through the HTTP Agent API: HeartBeat, then GetConfigList with what it holds."""

    def __init__(self, port: int, agent_id: str, tags: dict[str, str]) -> None:
        self.port, self.agent_id, self.tags = port, agent_id, tags
        self.held: dict[str, tuple[int, str]] = {}

    def cycle(self) -> list[Any]:
        """The changes (not SAME) the server answered, applied."""
        http = HttpClient(self.port)
        beat = make("HeartBeat", request_id="a", agent_id=self.agent_id, agent_type="alpha", tags=self.tags)
        expect(http.call("HeartBeat", beat), "Accept")
        versions = {name: version for name, (version, _) in self.held.items()}
        ask = make("GetConfigList", request_id="b", agent_id=self.agent_id, config_versions=versions)
        updates = expect(http.call("GetConfigList", ask), "Accept").config_update_infos
        changes = [update for update in updates if update.update_status != agent_pb2.ConfigUpdateInfo.SAME]
        for update in changes:
            if update.update_status == agent_pb2.ConfigUpdateInfo.DELETED:
                self.held.pop(update.config_name)
            else:
                self.held[update.config_name] = (update.config_version, update.content)
        return changes


class World:
    """A server with its v1 listener, an operator, a clock, and the agents."""

    def __init__(self, server: ServerThread, root: Path) -> None:
        self.server = server
        self.root = root
        self.clock = ManualClock()
        self.agents: list[Agent] = []
        self.alphas: list[AlphaAgent] = []

    @property
    def v1_port(self) -> int:
        assert self.server.server is not None and self.server.server.http_v1 is not None
        return self.server.server.http_v1.port

    def user(self, name: str, **fields: Any) -> Any:
        reply = HttpClient(self.server.http_port).call(name, make(name, request_id=f"u-{name}", **fields))
        return expect(reply, "Accept")

    def group(self, name: str, **tags: str) -> None:
        tag_list = [{"name": key, "value": value} for key, value in tags.items()]
        self.user("CreateAgentGroup", agent_group={"group_name": name, "tags": tag_list})

    def config(self, name: str, content: str, *groups: str, kind: str = "PIPELINE") -> None:
        self.user("CreateConfig", config_detail={"config_name": name, "content": content, "kind": kind})
        for group in groups:
            self.user("ApplyConfigToAgentGroup", group_name=group, config_name=name)

    def add(self, kind: type[A], name: str, ip: str, **tags: str) -> A:
        port = self.server.http_port if kind is LoongCollectorV2 else self.v1_port
        agent = kind(port, self.root / name, self.clock, ip, tags)
        self.agents.append(agent)
        return agent

    def alpha(self, agent_id: str, **tags: str) -> AlphaAgent:
        agent = AlphaAgent(self.server.http_port, agent_id, tags)
        self.alphas.append(agent)
        return agent

    def repoint(self, server: ServerThread) -> None:
        """The server came back on other ports: agents follow (their address is configuration)."""
        self.server = server
        for agent in self.agents:
            agent.port = server.http_port if isinstance(agent, LoongCollectorV2) else self.v1_port
        for alpha in self.alphas:
            alpha.port = server.http_port

    def cycle(self, rounds: int = 1) -> list[Any]:
        """Every agent's period, `rounds` times, 12 s apart; what each round brought, flattened."""
        brought: list[Any] = []
        for _ in range(rounds):
            self.clock.advance(12)
            for agent in self.agents:
                if isinstance(agent, LoongCollectorV2):
                    brought.extend(v2_round(agent))
                elif isinstance(agent, V1Agent):
                    brought.extend(v1_round(agent))
            for alpha in self.alphas:
                brought.extend(alpha.cycle())
        for agent in self.agents:
            if isinstance(agent, V1Agent):
                assert agent.dropped == 0, "the server always echoes request_id"
            assert agent.transport_failures == 0
        return brought

    def listed(self) -> dict[str, agent_pb2.Agent]:
        return {agent.agent_id: agent for agent in self.user("ListAgents", group_name="default").agents}

    def rollout(self, name: str) -> dict[str, int]:
        got = self.user("GetConfigStatus", config_name=name)
        fields = ("targeted", "current", "outdated", "pending", "applying", "applied", "failed")
        return {field: getattr(got, f"agents_{field}") for field in fields}

    def snapshot(self) -> tuple[Any, ...]:
        """What the operator sees: agents (but ONLINE/OFFLINE, which time moves), configs, groups and
        bindings, rollouts."""
        agents = self.listed().values()
        for agent in agents:
            agent.ClearField("status")
        configs = self.user("ListConfigs").config_details
        groups = self.user("ListAgentGroups").agent_groups
        return (
            sorted(agent.SerializeToString(deterministic=True) for agent in agents),
            [config.SerializeToString(deterministic=True) for config in configs],
            [group.SerializeToString(deterministic=True) for group in groups],
            [
                list(self.user("GetAppliedConfigsForAgentGroup", group_name=g.group_name).config_names)
                for g in groups
            ],
            [sorted(self.rollout(config.config_name).items()) for config in configs],
        )


def v2_round(agent: LoongCollectorV2) -> list[v2.ConfigDetail]:
    """A v2 period, checked: an answer came, and nothing came again at the version the agent reported
    (but -1 for a config it reported removed that is no longer assigned)."""
    agent.scan()
    reported = {kind: {name: held.version for name, held in agent.held[kind].items()} for kind in Kind}
    found = agent.heartbeat()
    assert found.response is not None and found.response.common_response.status == 0
    for kind, details in found.applied.items():
        for detail in details:
            assert detail.version == -1 or reported[kind].get(detail.name) != detail.version, detail
    return [detail for details in found.applied.values() for detail in details]


def v1_round(agent: V1Agent) -> list[v1.ConfigCheckResult]:
    """A v1 period, checked: only changes, each against the version the agent reported."""
    held = agent.held()
    results = agent.cycle()
    for result in results:
        assert result.check_status in (v1.NEW, v1.MODIFIED, v1.DELETED), result
        assert (result.check_status == v1.NEW) == (result.name not in held), result
        if result.check_status != v1.NEW:
            assert result.old_version == held[result.name], result
        if result.check_status == v1.MODIFIED:
            assert result.new_version != result.old_version, result
    return results


@pytest.fixture
def world(store: Backend, tmp_path: Path) -> Iterator[World]:
    with running_server(store.url, v1_http_port=0) as server:
        yield World(server, tmp_path)


def head_and_body(raw: bytes) -> tuple[list[str], bytes]:
    """A request's head lines and body."""
    head, body = raw.split(b"\r\n\r\n", 1)
    return head.decode().split("\r\n"), body


def as_run(content: str, version: int) -> dict[str, Any]:
    """What a v2 agent runs of `content` sent at wire `version`: the object, with `version` added."""
    loaded: dict[str, Any] = yaml.safe_load(content)
    return {**loaded, "version": version}


def stats(agents: list[Agent]) -> dict[str, tuple[int, int]]:
    """Every config file of the agents: (inode, mtime) by path, to tell that nothing rewrote one."""
    found = {}
    for agent in agents:
        for path in agent.directory.rglob("*"):
            if path.is_file():
                found[str(path)] = (path.stat().st_ino, path.stat().st_mtime_ns)
    return found


def fleet(
    world: World,
) -> tuple[LoongCollectorV2, LoongCollectorV2, LoongCollectorLegacyV1, ILogtail18, ILogtail20, AlphaAgent]:
    """Groups prod (env=prod) and web (role=web); configs access-log (JSON, prod), app-log (YAML, web),
    tuning (instance, prod and web), odd-list (a YAML list, web); an agent of each generation."""
    world.group("prod", env="prod")
    world.group("web", role="web")
    world.config("access-log", ACCESS_JSON, "prod")
    world.config("app-log", APP_YAML, "web")
    world.config("tuning", TUNING_JSON, "prod", "web", kind="INSTANCE")
    world.config("odd-list", ODD_YAML, "web")
    both = world.add(LoongCollectorV2, "lc-both", "10.0.0.1", env="prod", role="web", zone="a")
    web = world.add(LoongCollectorV2, "lc-web", "10.0.0.2", role="web")
    legacy = world.add(LoongCollectorLegacyV1, "legacy", "10.0.0.3", env="prod")
    old = world.add(ILogtail18, "il18", "10.0.0.4", role="web")
    new = world.add(ILogtail20, "il20", "10.0.0.5", role="web", env="prod")
    alpha = world.alpha("alpha-1", env="prod")
    return both, web, legacy, old, new, alpha


def test_each_generation_gets_every_change_in_its_format(world: World) -> None:
    both, web, legacy, old, new, alpha = fleet(world)
    both.outcomes["access-log"] = v2.FAILED
    web.outcomes["tuning"] = v2.APPLYING  # valid JSON its pipeline build never finishes with
    world.cycle(2)

    # Created: v2 gets JSON objects (YAML converted) at wire version 1, instance configs only here.
    assert both.config(Kind.PIPELINE, "access-log") == as_run(ACCESS_JSON, 1)
    assert both.config(Kind.PIPELINE, "app-log") == as_run(APP_YAML, 1)
    assert both.config(Kind.INSTANCE, "tuning") == as_run(TUNING_JSON, 1)
    assert both.names(Kind.PIPELINE) == {"access-log", "app-log"}
    assert (web.names(Kind.PIPELINE), web.names(Kind.INSTANCE)) == ({"app-log"}, {"tuning"})
    # v1 gets what is stored, in each generation's files.
    assert legacy.files() == {"access-log.yaml": ACCESS_JSON}
    assert old.files() == {"app-log@1.yaml": APP_YAML, "odd-list@1.yaml": ODD_YAML}
    assert new.files() == {
        "access-log.yaml": ACCESS_JSON,
        "app-log.yaml": APP_YAML,
        "odd-list.yaml": ODD_YAML,
    }
    assert alpha.held == {"access-log": (0, ACCESS_JSON)}

    # Statuses: what the v2 agents reported, in ListAgents and GetConfigStatus.
    listed = world.listed()
    assert dict(listed[both.instance_id].config_statuses) == {
        "access-log": "FAILED",
        "app-log": "APPLIED",
        "tuning": "APPLIED",
    }
    assert dict(listed[web.instance_id].config_statuses) == {"app-log": "APPLIED", "tuning": "APPLYING"}
    assert [listed[agent.instance_id].protocol for agent in world.agents] == ["v2", "v2", "v1", "v1", "v1"]
    assert listed["alpha-1"].protocol == "alpha"
    assert listed[both.instance_id].hostname == both.hostname
    assert dict(listed[both.instance_id].config_versions) == {"access-log": 0, "app-log": 0, "tuning": 0}
    assert dict(listed[old.instance_id].config_versions) == {"app-log": 0, "odd-list": 0}
    assert not any(listed[agent.instance_id].config_statuses for agent in (legacy, old, new))
    assert dict(listed[old.instance_id].tags) == {"web": ""}
    assert world.rollout("access-log") == dict(
        targeted=4, current=4, outdated=0, pending=0, applying=0, applied=0, failed=1
    )
    assert world.rollout("tuning") == dict(
        targeted=2, current=2, outdated=0, pending=0, applying=1, applied=1, failed=0
    )
    assert world.rollout("app-log") == dict(
        targeted=4, current=4, outdated=0, pending=0, applying=0, applied=2, failed=0
    )
    # odd-list: the v1 agents hold it; the v2 agents cannot get it and count as failed.
    assert world.rollout("odd-list") == dict(
        targeted=4, current=2, outdated=0, pending=2, applying=0, applied=0, failed=2
    )

    # Update: a FAILED config is retried by a new version only.
    both.outcomes.pop("access-log")
    changed = {**ACCESS, "inputs": [{"Type": "input_file", "FilePaths": ["/srv/access/*.log"]}]}
    world.user("UpdateConfig", config_detail={"config_name": "access-log", "content": json.dumps(changed)})
    app = APP_YAML.replace("/var/log/app/", "/srv/app/")
    world.user("UpdateConfig", config_detail={"config_name": "app-log", "content": app})
    world.cycle(2)
    assert both.config(Kind.PIPELINE, "access-log") == {**changed, "version": 2}
    assert both.config(Kind.PIPELINE, "app-log") == web.config(Kind.PIPELINE, "app-log") == as_run(app, 2)
    assert legacy.files() == {"access-log.yaml": json.dumps(changed)}
    assert old.files() == {"app-log@2.yaml": app, "odd-list@1.yaml": ODD_YAML}
    assert new.files() == {
        "access-log.yaml": json.dumps(changed),
        "app-log.yaml": app,
        "odd-list.yaml": ODD_YAML,
    }
    assert alpha.held == {"access-log": (1, json.dumps(changed))}
    assert world.listed()[both.instance_id].config_statuses["access-log"] == "APPLIED"

    # Remove app-log from web: v2 gets -1, v1 DELETED; the instance config stays with prod.
    world.user("RemoveConfigFromAgentGroup", group_name="web", config_name="app-log")
    world.user("RemoveConfigFromAgentGroup", group_name="web", config_name="tuning")
    world.cycle(2)
    assert both.names(Kind.PIPELINE) == {"access-log"} and both.names(Kind.INSTANCE) == {"tuning"}
    assert web.names(Kind.PIPELINE) == web.names(Kind.INSTANCE) == set()
    assert web.held == {Kind.PIPELINE: {}, Kind.INSTANCE: {}}
    assert old.files() == {"odd-list@1.yaml": ODD_YAML}
    assert set(new.files()) == {"access-log.yaml", "odd-list.yaml"}

    # Rollback access-log to its first version: a new version (2, wire 3) with the old content.
    rolled = world.user("RollbackConfig", config_name="access-log", to_version=0).config_detail
    assert (rolled.version, rolled.content) == (2, ACCESS_JSON)
    world.cycle(2)
    assert both.config(Kind.PIPELINE, "access-log") == as_run(ACCESS_JSON, 3)
    assert legacy.files() == {"access-log.yaml": ACCESS_JSON}
    assert new.files()["access-log.yaml"] == ACCESS_JSON
    assert alpha.held == {"access-log": (2, ACCESS_JSON)}

    # Re-apply app-log to web: back everywhere at its current version.
    world.user("ApplyConfigToAgentGroup", group_name="web", config_name="app-log")
    world.cycle(2)
    assert web.config(Kind.PIPELINE, "app-log") == as_run(app, 2)
    assert old.files() == {"app-log@2.yaml": app, "odd-list@1.yaml": ODD_YAML}

    # Then many heartbeats: nothing resent, no file rewritten, no fetch.
    before, exchanges = stats(world.agents), sum(len(agent.exchanges) for agent in world.agents)
    assert world.cycle(15) == []
    assert stats(world.agents) == before
    assert sum(len(agent.exchanges) for agent in world.agents) == exchanges + 15 * len(world.agents)
    assert world.rollout("access-log")["applied"] == 1 and world.rollout("tuning")["applied"] == 1


def test_v2_local_removal_is_reported_and_healed(world: World) -> None:
    world.config("access-log", ACCESS_JSON, "default")
    world.config("gone", APP_YAML, "default")
    agent = world.add(LoongCollectorV2, "lc", "10.0.1.1")
    world.cycle(2)
    # Removed on the host while still assigned: reported -1, the server sends it again.
    agent.remove_locally(Kind.PIPELINE, "access-log")
    assert [(d.name, d.version) for d in world.cycle()] == [("access-log", 1)]
    assert agent.config(Kind.PIPELINE, "access-log") == as_run(ACCESS_JSON, 1)
    # Removed on the host and unassigned: the server sends -1, the agent forgets it.
    agent.remove_locally(Kind.PIPELINE, "gone")
    world.user("RemoveConfigFromAgentGroup", group_name="default", config_name="gone")
    assert [(d.name, d.version) for d in world.cycle()] == [("gone", -1)]
    assert "gone" not in agent.held[Kind.PIPELINE]
    assert world.cycle(3) == []


def test_a_v2_pipeline_disabled_by_an_update_is_resent_once_then_stays_applying(world: World) -> None:
    """A running pipeline updated to `"enable": false` stops and is reported -1: sent once more (it is
    assigned), it is then a new disabled config, APPLYING for good, and never sent again."""
    world.config("access-log", ACCESS_JSON, "default")
    lc = world.add(LoongCollectorV2, "lc", "10.0.1.2")
    world.cycle(2)
    disabled = json.dumps({**ACCESS, "enable": False})
    world.user("UpdateConfig", config_detail={"config_name": "access-log", "content": disabled})
    assert [(d.name, d.version) for d in world.cycle()] == [("access-log", 2)]
    assert [(d.name, d.version) for d in world.cycle()] == [("access-log", 2)]  # it reported -1
    assert world.cycle(4) == []
    assert lc.config(Kind.PIPELINE, "access-log") == as_run(disabled, 2)
    assert dict(world.listed()[lc.instance_id].config_statuses) == {"access-log": "APPLYING"}
    assert world.rollout("access-log")["applying"] == 1
    world.user("UpdateConfig", config_detail={"config_name": "access-log", "content": ACCESS_JSON})
    assert [(d.name, d.version) for d in world.cycle(2)] == [("access-log", 3)]
    assert world.rollout("access-log")["applied"] == 1


def test_content_v2_agents_cannot_run_is_never_sent_and_counts_failed(world: World) -> None:
    bad = {
        "scalar": "just text\n",
        "json-array": "[1, 2]",
        "aliases": "a: &x {b: 1}\nc: *x\n",
        "odd": ODD_YAML,
    }
    for name, content in bad.items():
        world.config(name, content, "default")
    world.config("good", APP_YAML, "default")
    lc = world.add(LoongCollectorV2, "lc", "10.0.2.1")
    il = world.add(ILogtail20, "il", "10.0.2.2")
    brought = world.cycle(4)
    assert {d.name for d in brought if isinstance(d, v2.ConfigDetail)} == {"good"}
    assert lc.names(Kind.PIPELINE) == {"good"} and set(lc.held[Kind.PIPELINE]) == {"good"}
    assert il.files() == {f"{name}.yaml": content for name, content in {**bad, "good": APP_YAML}.items()}
    for name in bad:
        assert world.rollout(name) == dict(
            targeted=2, current=1, outdated=0, pending=1, applying=0, applied=0, failed=1
        )
    # A config turned into a list stays at its last version on v2 agents, counted failed (outdated).
    world.user("UpdateConfig", config_detail={"config_name": "good", "content": ODD_YAML})
    before = stats([lc])
    world.cycle(3)
    assert stats([lc]) == before and lc.config(Kind.PIPELINE, "good") == as_run(APP_YAML, 1)
    assert il.files()["good.yaml"] == ODD_YAML
    assert world.rollout("good") == dict(
        targeted=2, current=1, outdated=1, pending=0, applying=0, applied=0, failed=1
    )


def big(tag: str, size: int = 300_000) -> str:
    """A valid pipeline of about `size` bytes."""
    return json.dumps({**ACCESS, "global": {"Comment": tag * (size // len(tag))}})


def test_details_beyond_the_inline_limit_are_fetched(world: World) -> None:
    world.config("big-a", big("a"), "default")
    world.config("big-i", big("i"), "default", kind="INSTANCE")
    world.config("small", APP_YAML, "default")
    lc = world.add(LoongCollectorV2, "lc", "10.0.3.1")
    il = world.add(ILogtail20, "il", "10.0.3.2")
    assert len(big("a")) * 2 > INLINE_LIMIT > len(big("a")) + len(APP_YAML)

    found = lc.cycle()
    assert found.fetched and found.response is not None and found.response.flags == 2
    listed = [*found.response.continuous_pipeline_config_updates, *found.response.instance_config_updates]
    assert sorted((d.name, d.version, d.detail) for d in listed) == [
        ("big-a", 1, b""),
        ("big-i", 1, b""),
        ("small", 1, b""),
    ]
    assert [exchange.path for exchange in lc.exchanges] == [
        "/Agent/Heartbeat",
        "/Agent/FetchPipelineConfig",
        "/Agent/FetchInstanceConfig",
    ]
    assert lc.config(Kind.PIPELINE, "big-a") == as_run(big("a"), 1)
    assert lc.config(Kind.INSTANCE, "big-i") == as_run(big("i"), 1)
    assert lc.config(Kind.PIPELINE, "small") == as_run(APP_YAML, 1)
    v1_round(il)
    assert il.files() == {"big-a.yaml": big("a"), "small.yaml": APP_YAML}

    # Held: inline again, nothing sent, no fetch.
    assert world.cycle(3) == [] and len(lc.exchanges) == 6

    # Two big pipeline changes and a removal: fetched again, the instance fetch with an empty list.
    world.user("UpdateConfig", config_detail={"config_name": "big-a", "content": big("b")})
    world.config("big-c", big("c"), "default")
    world.user("RemoveConfigFromAgentGroup", group_name="default", config_name="small")
    found = lc.cycle()
    assert found.fetched and found.response is not None
    assert not found.response.instance_config_updates and found.applied[Kind.INSTANCE] == []
    fetch = v2.FetchConfigRequest.FromString(head_and_body(lc.exchanges[-1].request)[1])
    assert lc.exchanges[-1].path == "/Agent/FetchInstanceConfig" and not fetch.instance_configs
    assert lc.config(Kind.PIPELINE, "big-a") == as_run(big("b"), 2)
    assert lc.config(Kind.PIPELINE, "big-c") == as_run(big("c"), 1)
    assert lc.names(Kind.PIPELINE) == {"big-a", "big-c"}
    world.cycle()
    assert il.files() == {"big-a.yaml": big("b"), "big-c.yaml": big("c")}
    assert world.cycle(3) == []
    assert world.rollout("big-a")["applied"] == 1


def test_v1_answers_echo_the_request_id(world: World) -> None:
    """v1 heartbeat ids are the same for every agent in a second: each gets its own answer, echoed."""
    world.config("access-log", APP_YAML, "default")
    agents = [world.add(kind, f"a{index}", f"10.0.4.{index}") for index, kind in enumerate(3 * V1_KINDS)]
    world.cycle(3)
    for agent in agents:
        assert agent.dropped == 0
        heartbeat, fetch = agent.exchanges[:2]
        sent = v1.HeartBeatRequest.FromString(head_and_body(heartbeat.request)[1])
        assert v1.HeartBeatResponse.FromString(heartbeat.body).request_id == sent.request_id
        asked = v1.FetchPipelineConfigRequest.FromString(head_and_body(fetch.request)[1])
        assert v1.FetchPipelineConfigResponse.FromString(fetch.body).request_id == asked.request_id
    first = [v1.HeartBeatRequest.FromString(head_and_body(a.exchanges[0].request)[1]) for a in agents]
    assert len({beat.request_id for beat in first}) == 1 and len({beat.agent_id for beat in first}) == len(
        agents
    )


def test_a_config_changing_kind_moves_on_v2_agents_and_leaves_v1_agents(world: World) -> None:
    world.config("flip", TUNING_JSON, "default")
    lc = world.add(LoongCollectorV2, "lc", "10.0.12.1")
    il = world.add(ILogtail18, "il", "10.0.12.2")
    alpha = world.alpha("alpha-1")
    world.cycle(2)
    assert lc.names(Kind.PIPELINE) == {"flip"} and il.files() == {"flip@1.yaml": TUNING_JSON}
    world.user(
        "UpdateConfig", config_detail={"config_name": "flip", "content": TUNING_JSON, "kind": "INSTANCE"}
    )
    world.cycle(2)
    assert (lc.names(Kind.PIPELINE), lc.names(Kind.INSTANCE)) == (set(), {"flip"})
    assert lc.config(Kind.INSTANCE, "flip") == as_run(TUNING_JSON, 2)
    assert il.files() == {} and alpha.held == {}
    assert world.rollout("flip") == dict(
        targeted=1, current=1, outdated=0, pending=0, applying=0, applied=1, failed=0
    )
    assert world.cycle(3) == []


def test_the_simulators_send_what_the_agents_send(world: World) -> None:
    """The wire forms the simulators promise (and the server accepts)."""
    world.config("access-log", ACCESS_JSON, "default")
    lc = world.add(LoongCollectorV2, "lc", "10.0.5.1", zone="b", env="prod")
    il = world.add(ILogtail18, "il", "10.0.5.2", zone="b", env="prod")
    world.cycle(2)
    upper_uuid = r"[0-9A-F]{8}-[0-9A-F]{4}-1[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}"
    for agent, path in ((lc, "/Agent/Heartbeat"), (il, "/Agent/HeartBeat")):
        assert re.fullmatch(rf"{upper_uuid}_{re.escape(agent.ip)}_{agent.identity.start}", agent.instance_id)
        lines, body = head_and_body(agent.exchanges[0].request)
        assert lines == [
            f"POST {path} HTTP/1.1",
            f"Host: 127.0.0.1:{world.server.http_port if agent is lc else world.v1_port}",
            "Accept: */*",
            "Content-Type:application/x-protobuf",
            f"Content-Length: {len(body)}",
        ]
    first, second = (v2.HeartbeatRequest.FromString(head_and_body(e.request)[1]) for e in lc.exchanges[:2])
    assert re.fullmatch(upper_uuid, first.request_id.decode()) and first.request_id != second.request_id
    assert (first.sequence_num, second.sequence_num, first.capabilities, first.agent_type) == (
        0,
        1,
        3,
        "LoongCollector",
    )
    assert [(tag.name, tag.value) for tag in first.tags] == [("env", "prod"), ("zone", "b")]
    assert first.attributes.extras["osDetail"].count(b"; ") == 3 and not first.attributes.hostid
    assert (first.running_status, first.startup_time, first.flags) == ("running", lc.identity.start, 0)
    assert not first.continuous_pipeline_configs
    assert [(c.name, c.version, c.status) for c in second.continuous_pipeline_configs] == [
        ("access-log", 1, v2.APPLIED)
    ]
    beat = v1.HeartBeatRequest.FromString(head_and_body(il.exchanges[0].request)[1])
    assert base64.b64decode(beat.request_id).decode() == f"heartbeat{int(world.clock.now()) - 12}"
    assert (beat.agent_type, list(beat.tags), beat.interval, beat.running_status, beat.startup_time) == (
        "iLogtail",
        ["prod", "b"],
        10,
        "",
        0,
    )
    assert (beat.attributes.version, beat.attributes.ip, beat.attributes.hostname) == ("1.8.8", il.ip, "")
    fetch = v1.FetchPipelineConfigRequest.FromString(head_and_body(il.exchanges[1].request)[1])
    assert base64.b64decode(fetch.request_id).decode() == f"{il.instance_id}_{int(world.clock.now()) - 12}"
    assert [(c.name, c.version) for c in fetch.req_configs] == [("access-log", 1)]
    answers = {(e.path, e.status, e.content_type) for agent in (lc, il) for e in agent.exchanges}
    assert answers == {
        ("/Agent/Heartbeat", 200, PROTOBUF),
        ("/Agent/HeartBeat", 200, PROTOBUF),
        ("/Agent/FetchPipelineConfig", 200, PROTOBUF),
    }


def test_a_server_restart_on_the_same_store_loses_and_resends_nothing(store: Backend, tmp_path: Path) -> None:
    with running_server(store.url, v1_http_port=0) as server:
        world = World(server, tmp_path)
        both, web, legacy, old, new, _ = fleet(world)
        web.outcomes["tuning"] = v2.FAILED
        world.cycle(2)
        before, files = world.snapshot(), stats(world.agents)
    with running_server(store.url, v1_http_port=0) as server:
        world.repoint(server)
        assert world.snapshot() == before
        assert world.cycle(5) == []
        assert stats(world.agents) == files
        after = world.snapshot()
        assert after[1:] == before[1:]
        assert world.rollout("tuning") == dict(
            targeted=2, current=2, outdated=0, pending=0, applying=0, applied=1, failed=1
        )
        # Agents restart too: v2 reports versions from its files (APPLYING, nothing resent); 1.x from file
        # names; 2.0 and legacy report nothing and get everything again, NEW.
        for agent in world.agents:
            agent.restart()
        world.clock.advance(12)
        assert both.heartbeat().updates == 0
        assert dict(world.listed()[both.instance_id].config_statuses) == {
            "access-log": "APPLYING",
            "app-log": "APPLYING",
            "tuning": "APPLYING",
        }
        assert old.cycle() == []
        assert {(r.name, r.check_status) for r in new.cycle()} == {
            (name, v1.NEW) for name in ("access-log", "app-log", "odd-list")
        }
        assert [(r.name, r.check_status) for r in legacy.cycle()] == [("access-log", v1.NEW)]
        assert world.cycle(3) == []
        assert stats([both, web, old]) == {
            path: stat for path, stat in files.items() if "/il20/" not in path and "/legacy/" not in path
        }
        assert new.files() == {
            "access-log.yaml": ACCESS_JSON,
            "app-log.yaml": APP_YAML,
            "odd-list.yaml": ODD_YAML,
        }
        assert dict(world.listed()[both.instance_id].config_statuses)["tuning"] == "APPLIED"
        # The instances before the restart count until they expire: web's failed, and so did its new one.
        assert world.rollout("tuning") == dict(
            targeted=4, current=4, outdated=0, pending=0, applying=0, applied=2, failed=2
        )


def test_the_two_clients_of_one_loongcollector_share_an_instance_id(world: World) -> None:
    """Both clients configured against this server (v2 and v1 listeners): each gets its configs."""
    world.config("access-log", ACCESS_JSON, "default")
    lc = world.add(LoongCollectorV2, "lc", "10.0.6.1", env="prod")
    legacy = world.add(LoongCollectorLegacyV1, "lc", "10.0.6.1", env="prod")
    legacy.identity = lc.identity
    world.cycle(2)
    assert lc.config(Kind.PIPELINE, "access-log") == as_run(ACCESS_JSON, 1)
    assert legacy.files() == {"access-log.yaml": ACCESS_JSON}
    assert world.cycle(4) == []
    assert list(world.listed()) == [lc.instance_id]


GARBAGE = [
    b"",
    b"\xff\xff\xff\xff",
    b"404 page not found",
    b"\x0a\x05abc",
    b"\x0a\xff\xff\xff\xff\x07",
    b'{"request_id": "x"}',
    bytes(range(256)),
]
RESPONSES: dict[str, type[Message]] = {
    "/Agent/Heartbeat": v2.HeartbeatResponse,
    "/Agent/FetchPipelineConfig": v2.FetchConfigResponse,
    "/Agent/FetchInstanceConfig": v2.FetchConfigResponse,
}
V1_RESPONSES: dict[str, type[Message]] = {
    "/Agent/HeartBeat": v1.HeartBeatResponse,
    "/Agent/FetchPipelineConfig": v1.FetchPipelineConfigResponse,
    "/Agent/FetchAgentConfig": v1.FetchAgentConfigResponse,
}


def garbage(seed: int, count: int) -> list[bytes]:
    chooser = random.Random(seed)
    return GARBAGE + [chooser.randbytes(chooser.randrange(1, 200)) for _ in range(count)]


def post(
    port: int, path: str, body: bytes, kind: type[Message], content_type: str = PROTOBUF
) -> tuple[int, Any]:
    """POST `body`: the status, and the answer decoded as `kind` (from JSON when the answer says so)."""
    reply = HttpClient(port).request(
        "POST", path, body, {"Content-Type": content_type} if content_type else {}
    )
    answer = kind()
    if reply.headers.get("Content-Type", "").startswith("application/json"):
        json_format.Parse(reply.body, answer)
    else:
        answer.ParseFromString(reply.body)
    return reply.status, answer


def request_of(kind: type[Message], body: bytes) -> Any:
    """The request `body` decodes to, or None."""
    message = kind()
    try:
        message.ParseFromString(body)
    except DecodeError:
        return None
    return message


def test_garbage_and_hostile_bodies_are_answered_and_change_nothing(world: World) -> None:
    fleet(world)
    world.cycle(2)
    before = world.snapshot()
    main, v1_port = world.server.http_port, world.v1_port

    def v2_beat(**fields: Any) -> bytes:
        return v2.HeartbeatRequest(request_id=b"hostile", **fields).SerializeToString()

    hostile_v2 = [
        v2_beat(),  # no instance id
        v2_beat(instance_id=b"x" * 300),
        v2_beat(instance_id=b"a\nb"),
        v2_beat(instance_id=b"new", tags=[v2.AgentGroupTag(name=f"t{i}", value="v") for i in range(65)]),
        v2_beat(instance_id=b"new", tags=[v2.AgentGroupTag(name="", value="v")]),
        v2_beat(instance_id=b"new", attributes=v2.AgentAttributes(ip=b"x" * 5000)),
        v2.HeartbeatRequest(instance_id=b"new").SerializeToString()
        + b"\x2a\x02\xff\xfe",  # agent_type not UTF-8
        v2.FetchConfigRequest(request_id=b"f", instance_id=b"unknown").SerializeToString(),
    ]
    for path, kind in RESPONSES.items():
        for body in garbage(1, 40) + hostile_v2:
            for content_type in (PROTOBUF, "", "text/plain", "application/json"):
                status, answer = post(main, path, body, kind, content_type)
                assert status < 500 and answer.common_response.status != 0, (path, body, content_type)

    def v1_beat(**fields: Any) -> bytes:
        return v1.HeartBeatRequest(request_id="hostile-1", **fields).SerializeToString()

    hostile_v1 = [
        v1_beat(),
        v1_beat(agent_id="x" * 300),
        v1_beat(agent_id="a\tb"),
        v1_beat(agent_id="new", tags=[f"v{i}" for i in range(65)]),
        v1_beat(agent_id="new", attributes=v1.AgentAttributes(version="x" * 5000)),
    ]
    unknown = v1.FetchPipelineConfigRequest(request_id="hostile-2", agent_id="unknown").SerializeToString()
    for path, kind in V1_RESPONSES.items():
        for body in garbage(2, 40) + (hostile_v1 if path == "/Agent/HeartBeat" else [unknown]):
            for content_type in (PROTOBUF, ""):
                status, answer = post(v1_port, path, body, kind, content_type)
                assert status < 500, (path, body)
                request = request_of(v1.FetchPipelineConfigRequest, body)  # request_id is field 1 in all
                if request is not None:
                    assert answer.request_id == request.request_id, (path, body)
                if path == "/Agent/FetchAgentConfig" and request is not None:
                    assert answer.code == v1.ACCEPT and not answer.config_details
                else:
                    assert answer.code != v1.ACCEPT, (path, body)
    # A wrong method and an over-large body: still the path's own answer.
    for port, paths in ((main, RESPONSES), (v1_port, V1_RESPONSES)):
        for path, kind in paths.items():
            reply = HttpClient(port).request("GET", path)
            assert reply.status == 405
            kind.FromString(reply.body)
            status, _ = post(port, path, b"\x0a" * (5 * 1024 * 1024), kind)
            assert status == 413
    assert world.snapshot() == before


def test_a_v1_config_unassigned_before_the_fetch_heals_at_the_next_heartbeat(world: World) -> None:
    """The fetch answers an unassigned name with an empty detail: the agent writes an empty file and
    records the version (v1 has no status); the next heartbeat deletes it."""
    world.group("web", role="web")
    world.config("stays", APP_YAML, "web")
    world.config("goes", ACCESS_JSON, "web")
    agents: list[V1Agent] = [
        world.add(kind, kind.__name__, f"10.0.11.{i}", role="web") for i, kind in enumerate(V1_KINDS)
    ]

    def meanwhile() -> None:
        world.user("RemoveConfigFromAgentGroup", group_name="web", config_name="goes")

    for agent in agents:
        agent.before_fetch = meanwhile
        v1_round(agent)
        agent.before_fetch = None
        assert sorted(agent.files().values()) == ["", APP_YAML]
        world.user("ApplyConfigToAgentGroup", group_name="web", config_name="goes")
    world.user("RemoveConfigFromAgentGroup", group_name="web", config_name="goes")
    assert {(r.name, r.check_status) for r in world.cycle()} == {("goes", v1.DELETED)}
    for agent in agents:
        assert list(agent.files().values()) == [APP_YAML]
    assert world.cycle(2) == []


def test_a_refused_heartbeat_registers_no_agent(world: World) -> None:
    """More held configs than the server takes: refused before anything is recorded."""
    lc = world.add(LoongCollectorV2, "lc", "10.0.7.1")
    lc.held[Kind.PIPELINE] = {f"c{index}": Held(1, v2.APPLIED) for index in range(10_001)}
    il = world.add(ILogtail20, "il", "10.0.7.2")
    il.versions = {f"c{index}": 1 for index in range(10_001)}
    found = lc.heartbeat()
    assert found.response is not None and found.response.common_response.status != 0
    assert il.cycle() == [] and il.dropped == 0
    assert world.listed() == {}


def test_an_ilogtail_with_an_empty_tag_value_is_served(world: World) -> None:
    world.config("access-log", APP_YAML, "default")
    lc = world.add(LoongCollectorV2, "lc", "10.0.8.1", owner="", env="prod")
    il = world.add(ILogtail20, "il", "10.0.8.2", owner="", env="prod")
    world.cycle()
    assert lc.names(Kind.PIPELINE) == {"access-log"}
    assert il.files() == {"access-log.yaml": APP_YAML}


def test_the_v2_statuses_of_a_loongcollector_survive_its_legacy_client(world: World) -> None:
    world.config("access-log", ACCESS_JSON, "default")
    lc = world.add(LoongCollectorV2, "lc", "10.0.9.1", env="prod")
    lc.outcomes["access-log"] = v2.FAILED
    world.add(LoongCollectorLegacyV1, "lc", "10.0.9.1", env="prod").identity = lc.identity
    world.cycle(3)
    assert dict(world.listed()[lc.instance_id].config_statuses) == {"access-log": "FAILED"}
    assert world.rollout("access-log")["failed"] == 1


def test_a_fetch_never_removes_a_config_still_assigned(world: World) -> None:
    world.config("good", APP_YAML, "default")
    lc = world.add(LoongCollectorV2, "lc", "10.0.10.1")
    world.cycle()
    world.user("UpdateConfig", config_detail={"config_name": "good", "content": ACCESS_JSON})
    world.config("big-a", big("a"), "default")
    world.config("big-b", big("b"), "default")

    def meanwhile() -> None:
        world.user("UpdateConfig", config_detail={"config_name": "good", "content": ODD_YAML})

    lc.before_fetch = meanwhile
    found = lc.cycle()
    assert found.fetched
    assert ("good", -1) not in [(detail.name, detail.version) for detail in found.applied[Kind.PIPELINE]]
    assert lc.config(Kind.PIPELINE, "good") is not None


def test_transport_failures_are_retried_with_the_same_bytes(tmp_path: Path) -> None:
    """LoongCollector's clients make 3 attempts with identical bytes, iLogtail 1; a failed heartbeat does
    not move v2's sequence number."""
    received: list[bytes] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def hang_up(count: int) -> None:
            for _ in range(count):
                connection, _ = listener.accept()
                with connection:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += connection.recv(65536)
                    declared = re.search(rb"Content-Length: (\d+)", data)
                    length = int(declared[1]) if declared else 0
                    while len(data.split(b"\r\n\r\n", 1)[1]) < length:
                        data += connection.recv(65536)
                    received.append(data)

        clock = ManualClock()
        server = threading.Thread(target=hang_up, args=(4,))
        server.start()
        lc = LoongCollectorV2(port, tmp_path / "lc", clock, "10.0.13.1")
        il = ILogtail18(port, tmp_path / "il", clock, "10.0.13.2")
        assert lc.heartbeat().response is None and il.cycle() == []
        server.join()
    assert (lc.transport_failures, lc.sequence, il.transport_failures, il.dropped, lc.exchanges) == (
        1,
        0,
        1,
        0,
        [],
    )
    assert len(received) == 4 and received[0] == received[1] == received[2] != received[3]
    assert head_and_body(received[3])[0][0] == "POST /Agent/HeartBeat HTTP/1.1"


def test_the_same_request_again_gets_the_same_answer(world: World) -> None:
    """Agents send the same bytes again after a timeout: the answers match, and nothing changes."""
    world.config("access-log", ACCESS_JSON, "default")
    world.config("tuning", TUNING_JSON, "default", kind="INSTANCE")
    lc = world.add(LoongCollectorV2, "lc", "10.0.14.1")
    il = world.add(ILogtail20, "il", "10.0.14.2")
    beat = lc.heartbeat_request()
    answers = [lc.post("/Agent/Heartbeat", beat) for _ in range(3)]
    found = [v2.HeartbeatResponse.FromString(answer.body) for answer in answers if answer is not None]
    assert len(found) == 3 and found[0] == found[1] == found[2]
    assert len(found[0].continuous_pipeline_config_updates) == len(found[0].instance_config_updates) == 1
    request = v1.HeartBeatRequest(request_id="aGVhcnRiZWF0", agent_id=il.instance_id, interval=10)
    checks = [il.post("/Agent/HeartBeat", request) for _ in range(3)]
    assert len({answer.body for answer in checks if answer is not None}) == 1
    assert len(world.listed()) == 2
