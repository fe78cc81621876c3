"""Several server processes on one database behave as one server.

Each test runs on PostgreSQL and on SQLite (several processes on one file). The coherence bound checked
here: a write acknowledged by one server is served by the others once its change notice arrives
(`eventually`, deadline 5 s; milliseconds in practice), and an agent registered through one server is
known to every other at once.
"""

import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.proxy import Proxy
from tests.stores import Backend
from tests.support import HttpClient, ServerProcess, expect, make

T = TypeVar("T")
NEW, SAME, DELETED, MODIFIED = 1, 0, 2, 3


def eventually(read: Callable[[], T], accept: Callable[[T], bool], deadline: float = 5.0) -> T:
    """Read until `accept` holds; fail after `deadline` seconds (a bound, not a measurement)."""
    end = time.monotonic() + deadline
    while True:
        value = read()
        if accept(value):
            return value
        if time.monotonic() > end:
            raise AssertionError(f"still {value!r} after {deadline} s")
        time.sleep(0.01)


@contextmanager
def servers(store_url: str, count: int, *args: str) -> Iterator[list[HttpClient]]:
    with ExitStack() as stack:
        processes = [stack.enter_context(ServerProcess(store_url, *args).start()) for _ in range(count)]
        yield [HttpClient(process.http_port) for process in processes]


def call(client: HttpClient, name: str, **fields: Any) -> Any:
    return client.call(name, make(name, **fields))


def config_list(
    client: HttpClient, agent_id: str, held: dict[str, int] | None = None
) -> list[tuple[str, int, int]]:
    reply = call(client, "GetConfigList", agent_id=agent_id, config_versions=held or {})
    return [
        (i.config_name, i.update_status, i.config_version)
        for i in expect(reply, "Accept").config_update_infos
    ]


def test_writes_on_one_server_are_served_by_the_others(store: Backend) -> None:
    with servers(store.url, 3) as (a, b, c):
        group = {"group_name": "prod", "tags": [{"name": "env", "value": "prod"}]}
        expect(call(a, "CreateAgentGroup", agent_group=group), "Accept")
        expect(call(a, "CreateConfig", config_detail={"config_name": "cfg", "content": "v0"}), "Accept")
        expect(call(a, "ApplyConfigToAgentGroup", group_name="prod", config_name="cfg"), "Accept")
        expect(call(b, "HeartBeat", agent_id="x", tags={"env": "prod"}), "Accept")
        # Known everywhere at once: no waiting here.
        expect(call(c, "GetConfigList", agent_id="x"), "Accept")
        expect(call(a, "RunningStatistics", agent_id="x", running_details={"cpu": 1}), "Accept")
        eventually(lambda: config_list(c, "x"), lambda infos: infos == [("cfg", NEW, 0)])
        expect(call(a, "UpdateConfig", config_detail={"config_name": "cfg", "content": "v1"}), "Accept")
        eventually(lambda: config_list(c, "x", {"cfg": 0}), lambda infos: infos == [("cfg", MODIFIED, 1)])
        content = eventually(
            lambda: call(b, "GetConfig", config_name="cfg").response.config_detail.content,
            lambda text: text == "v1",
        )
        assert content == "v1"
        expect(call(a, "HeartBeat", agent_id="x", tags={"env": "dev"}), "Accept")  # moves out of prod
        eventually(lambda: config_list(c, "x", {"cfg": 1}), lambda infos: infos == [("cfg", DELETED, 0)])
        eventually(
            lambda: [agent.agent_id for agent in call(b, "ListAgents", group_name="prod").response.agents],
            lambda ids: ids == [],
        )
        expect(call(b, "RemoveConfigFromAgentGroup", group_name="prod", config_name="cfg"), "Accept")
        expect(call(c, "DeleteConfig", config_name="cfg"), "Accept")
        expect(call(a, "DeleteAgentGroup", group_name="prod"), "Accept")
        eventually(
            lambda: call(b, "GetAgentGroup", group_name="prod").code,
            lambda code: code == "AgentGroupNotExist",
        )


def test_heartbeat_times_reach_every_server(store: Backend) -> None:
    with servers(store.url, 2) as (a, b):
        expect(call(a, "HeartBeat", agent_id="x"), "Accept")
        store.execute("UPDATE agents SET latest_heartbeat_time = 5")  # as if registered long ago
        expect(call(a, "HeartBeat", agent_id="x", startup_time=1), "Accept")  # a change: written at once
        first = eventually(
            lambda: [
                agent.latest_heartbeat_time
                for agent in call(b, "ListAgents", group_name="default").response.agents
            ],
            lambda times: times != [] and times[0] > 5,
        )[0]
        time.sleep(1.1)  # heartbeat times are in whole seconds: the next one is later
        expect(call(a, "HeartBeat", agent_id="x", startup_time=1), "Accept")  # time only: batched
        eventually(
            lambda: call(b, "ListAgents", group_name="default").response.agents[0].latest_heartbeat_time,
            lambda latest: latest > first,
        )


def test_concurrent_updates_through_several_servers_lose_nothing(store: Backend) -> None:
    threads, updates = 6, 15
    with servers(store.url, 3) as clients:
        expect(call(clients[0], "CreateConfig", config_detail={"config_name": "c", "content": "v"}), "Accept")
        expect(call(clients[0], "ApplyConfigToAgentGroup", group_name="default", config_name="c"), "Accept")
        expect(call(clients[0], "HeartBeat", agent_id="probe"), "Accept")
        failures: list[str] = []

        def update(index: int) -> None:
            client = clients[index % len(clients)]
            for step in range(updates):
                reply = call(
                    client, "UpdateConfig", config_detail={"config_name": "c", "content": f"{index}.{step}"}
                )
                if reply.code != "Accept":
                    failures.append(reply.message)

        workers = [threading.Thread(target=update, args=(index,)) for index in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert failures == []
        assert store.query("SELECT version FROM configs WHERE name = 'c'") == [(threads * updates,)]
        for client in clients:
            eventually(partial(config_list, client, "probe"), lambda i: i == [("c", NEW, threads * updates)])


CHURN: list[tuple[str, dict[str, Any]]] = [
    ("CreateConfig", {"config_detail": {"config_name": "c", "content": "x"}}),
    ("CreateAgentGroup", {"agent_group": {"group_name": "g"}}),
    ("ApplyConfigToAgentGroup", {"group_name": "g", "config_name": "c"}),
    ("RemoveConfigFromAgentGroup", {"group_name": "g", "config_name": "c"}),
    ("DeleteConfig", {"config_name": "c"}),
    ("DeleteAgentGroup", {"group_name": "g"}),
]


def test_bindings_never_outlive_their_config_or_group(store: Backend) -> None:
    rounds = 40
    failures: list[str] = []
    with servers(store.url, 3) as clients:

        def churn(seed: int) -> None:
            chooser = random.Random(seed)
            for _ in range(rounds):
                name, fields = chooser.choice(CHURN)
                reply = call(chooser.choice(clients), name, **fields)
                if reply.code == "InternalServerError":
                    failures.append(reply.message)

        workers = [threading.Thread(target=churn, args=(seed,)) for seed in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert failures == []
    orphans = store.query(
        "SELECT a.group_name, a.config_name FROM applied_configs a"
        " LEFT JOIN configs c ON c.name = a.config_name AND c.deleted = 0"
        " LEFT JOIN agent_groups g ON g.name = a.group_name"
        " WHERE c.name IS NULL OR g.name IS NULL"
    )
    assert orphans == []


def test_workers_share_the_ports_and_stay_coherent(store: Backend) -> None:
    with ServerProcess(store.url, "--workers", "3").start() as server:
        http = HttpClient(server.http_port)
        expect(call(http, "HeartBeat", agent_id="x"), "Accept")
        for index in range(10):  # each call a new connection: they land on any worker
            expect(
                call(http, "CreateConfig", config_detail={"config_name": f"c{index}", "content": "x"}),
                "Accept",
            )
            expect(call(http, "GetConfigList", agent_id="x"), "Accept")
        for _ in range(20):
            eventually(
                lambda: len(call(http, "ListConfigs").response.config_details), lambda count: count == 10
            )
        code, log = server.stop(signal.SIGTERM)
    assert code == 0, log
    assert log.count('"event": "configserver stopped"') == 3
    assert '"event": "workers stopped"' in log


def _through(proxy: Proxy, url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


def ready(client: HttpClient) -> int:
    return client.request("GET", "/readyz").status


@pytest.mark.parametrize("store", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_database_outage_is_answered_and_recovered_from(store: Backend) -> None:
    postgres = urlsplit(store.url)
    with (
        Proxy(postgres.hostname or "127.0.0.1", postgres.port or 5432) as proxy,
        ServerProcess(_through(proxy, store.url)).start() as server,
    ):
        http = HttpClient(server.http_port)
        expect(call(http, "HeartBeat", agent_id="known"), "Accept")
        expect(call(http, "CreateConfig", config_detail={"config_name": "kept", "content": "x"}), "Accept")
        assert ready(http) == 200
        proxy.cut()
        # At once: the write finds its connection gone and fails (bounded by the connect timeout).
        expect(
            call(http, "CreateConfig", config_detail={"config_name": "lost", "content": "x"}),
            "InternalServerError",
        )
        eventually(lambda: ready(http), lambda status: status == 503, deadline=15)
        # Once the outage is known, writes fail fast instead of queueing behind the store.
        expect(
            call(http, "CreateConfig", config_detail={"config_name": "lost", "content": "x"}),
            "InternalServerError",
        )
        expect(call(http, "HeartBeat", agent_id="new"), "InternalServerError")
        # Known agents keep their heartbeats and config lists: memory answers, the batch waits.
        expect(call(http, "HeartBeat", agent_id="known"), "Accept")
        expect(call(http, "GetConfigList", agent_id="known"), "Accept")
        store.execute("UPDATE agents SET latest_heartbeat_time = 0")
        # Operators' reads must reflect every acknowledged write, which this server cannot tell now.
        expect(call(http, "GetConfig", config_name="kept"), "InternalServerError")
        proxy.restore()
        eventually(lambda: ready(http), lambda status: status == 200, deadline=15)
        expect(call(http, "CreateConfig", config_detail={"config_name": "after", "content": "x"}), "Accept")
        expect(call(http, "HeartBeat", agent_id="new"), "Accept")
        eventually(
            lambda: store.query("SELECT latest_heartbeat_time FROM agents WHERE agent_id = 'known'"),
            lambda rows: rows[0][0] > 0,
        )
    names = {row[0] for row in store.query("SELECT name FROM configs")}
    assert names == {"kept", "after"}
    assert sorted(row[0] for row in store.query("SELECT agent_id FROM agents")) == ["known", "new"]
