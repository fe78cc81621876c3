"""Fleet status in the User API, as its clients see it: agents' liveness (`Agent.status`), ListAgents'
status filter and pages, DeleteAgent, the config versions agents report holding, GetConfigStatus, stored
alarms (Alarm, ListAlarms) and their metrics.

Real servers on real sockets; each test runs on SQLite and on PostgreSQL and, where a client is used, on
HTTP and on gRPC. Liveness is on the real clock with a small `offline_after`: bounded waits of a second or
two, polled with `eventually`.
"""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from configserver.proto import agent_pb2
from core.model import FleetPolicy
from pipeline.rpcs import RPCS
from tests.stores import Backend
from tests.support import (
    Client,
    GrpcClient,
    HttpClient,
    Reply,
    ServerThread,
    connected,
    expect,
    make,
    running_server,
)
from tests.test_metrics import samples
from tests.test_scale_out import eventually, servers

ONLINE, OFFLINE, ANY = agent_pb2.ONLINE, agent_pb2.OFFLINE, agent_pb2.AGENT_STATUS_UNSPECIFIED
LIVENESS = FleetPolicy(offline_after=1.5)
"""Online for at least half a second after a heartbeat (times are whole seconds), offline within 1.5 s."""


# Clients and calls.


@contextmanager
def serving(store_url: str, transport: str, **overrides: Any) -> Iterator[tuple[ServerThread, Client]]:
    with running_server(store_url, **overrides) as server, connected(server, transport) as client:
        yield server, client


def call(client: Client, name: str, **fields: Any) -> Reply:
    return client.call(name, make(name, request_id=f"req-{name}", **fields))


def ok(client: Client, name: str, **fields: Any) -> Any:
    response = expect(call(client, name, **fields), "Accept")
    assert response.response_id == f"req-{name}"
    return response


def heartbeat(client: Client, agent_id: str, **fields: Any) -> None:
    ok(client, "HeartBeat", agent_id=agent_id, **fields)


def prod_group(client: Client) -> None:
    ok(
        client,
        "CreateAgentGroup",
        agent_group={"group_name": "prod", "tags": [{"name": "env", "value": "prod"}]},
    )


def config(client: Client, name: str, *groups: str) -> None:
    ok(client, "CreateConfig", config_detail={"config_name": name, "content": f"{name}-v0"})
    for group in groups:
        ok(client, "ApplyConfigToAgentGroup", group_name=group, config_name=name)


def update(client: Client, name: str) -> None:
    ok(client, "UpdateConfig", config_detail={"config_name": name, "content": f"{name}-{time.monotonic()}"})


def agents(client: Client, group: str = "default", **fields: Any) -> list[agent_pb2.Agent]:
    return list(ok(client, "ListAgents", group_name=group, **fields).agents)


def ids(client: Client, group: str = "default", **fields: Any) -> list[str]:
    return [agent.agent_id for agent in agents(client, group, **fields)]


def statuses(client: Client) -> dict[str, int]:
    return {agent.agent_id: agent.status for agent in agents(client)}


def pages(client: Client, page_size: int, group: str = "default", **fields: Any) -> list[list[str]]:
    """Every page of ListAgents, following the tokens to the one without."""
    found: list[list[str]] = []
    token = ""
    while True:
        response = ok(client, "ListAgents", group_name=group, page_size=page_size, page_token=token, **fields)
        found.append([agent.agent_id for agent in response.agents])
        token = response.next_page_token
        if not token:
            return found
        assert len(found) < 1000, "the tokens never end"


def rollout(client: Client, name: str) -> tuple[int, int, int, int, int, int, list[str]]:
    """GetConfigStatus: version, targeted, online, current, outdated, pending, lagging ids."""
    r = ok(client, "GetConfigStatus", config_name=name)
    counts = (r.agents_targeted, r.agents_online, r.agents_current, r.agents_outdated, r.agents_pending)
    return (r.config_version, *counts, list(r.lagging_agent_ids))


def alarm(client: Client, agent_id: str, kind: str, detail: str) -> None:
    ok(client, "Alarm", agent_id=agent_id, type=kind, detail=detail)


def alarm_pages(client: Client, page_size: int, **filters: Any) -> list[list[agent_pb2.AgentAlarm]]:
    found: list[list[agent_pb2.AgentAlarm]] = []
    token = ""
    while True:
        response = ok(client, "ListAlarms", page_size=page_size, page_token=token, **filters)
        found.append(list(response.alarms))
        token = response.next_page_token
        if not token:
            return found
        assert len(found) < 1000, "the tokens never end"


def alarm_details(client: Client, **filters: Any) -> list[str]:
    return [alarm.detail for alarm in ok(client, "ListAlarms", **filters).alarms]


def metric(http: HttpClient, name: str, **labels: str) -> float:
    return samples(http).get((name, tuple(sorted(labels.items()))), 0.0)


# 1. Liveness: Agent.status, and the status filter.


def test_agents_are_offline_once_their_heartbeats_stop(store_url: str, transport: str) -> None:
    with serving(store_url, transport, policy=LIVENESS) as (_, client):
        prod_group(client)
        config(client, "c", "default")

        def beat(agent_id: str = "b-live") -> None:
            """Online for the next half second at least."""
            heartbeat(client, agent_id, tags={"env": "prod"})

        beat("a-quiet")
        beat()
        assert statuses(client) == {"a-quiet": ONLINE, "b-live": ONLINE}
        assert ids(client, status=ONLINE) == ["a-quiet", "b-live"]
        assert ids(client, status=OFFLINE) == []

        def live_listing() -> dict[str, int]:
            beat()
            return statuses(client)

        eventually(live_listing, lambda found: found == {"a-quiet": OFFLINE, "b-live": ONLINE}, deadline=5)
        beat()
        assert ids(client, status=ONLINE) == ["b-live"]
        assert ids(client, status=OFFLINE) == ["a-quiet"]
        assert ids(client, status=ANY) == ["a-quiet", "b-live"]
        beat()
        assert ids(client, "prod", status=OFFLINE) == ["a-quiet"]
        assert pages(client, 1, status=OFFLINE) == [["a-quiet"]]
        beat()
        assert pages(client, 1, status=ONLINE) == [["b-live"]]
        # A config applied to `default` targets every agent; laggards online first, then by id.
        beat()
        assert rollout(client, "c") == (0, 2, 1, 0, 0, 2, ["b-live", "a-quiet"])
        beat("a-quiet")  # back
        beat()
        assert statuses(client) == {"a-quiet": ONLINE, "b-live": ONLINE}
        assert ids(client, status=OFFLINE) == []


# 2. Pages of ListAgents.


def test_list_agents_pages_in_id_order(client: Client) -> None:
    prod_group(client)
    for number in (5, 2, 7, 1, 4, 6, 3):
        tags = {"env": "prod"} if number % 2 else {"env": "dev"}
        heartbeat(client, f"agent-{number:02d}", tags=tags)
    every = [f"agent-{number:02d}" for number in range(1, 8)]
    response = ok(client, "ListAgents", group_name="default")  # page_size 0: all in one answer
    assert ([agent.agent_id for agent in response.agents], response.next_page_token) == (every, "")
    assert pages(client, 3) == [every[0:3], every[3:6], every[6:]]
    assert pages(client, 1) == [[agent_id] for agent_id in every]
    assert pages(client, 7) == [every]  # an exact fit: its only page is the last, without a token
    assert pages(client, 8) == [every]
    assert pages(client, 2, "prod") == [["agent-01", "agent-03"], ["agent-05", "agent-07"]]
    assert pages(client, 3, status=ONLINE) == [every[0:3], every[3:6], every[6:]]
    assert pages(client, 3, status=OFFLINE) == [[]]

    # Keyset pages: a token names where the previous page ended, whatever came and went since.
    first = ok(client, "ListAgents", group_name="default", page_size=3)
    assert [agent.agent_id for agent in first.agents] == every[0:3] and first.next_page_token
    ok(client, "DeleteAgent", agent_id="agent-03")  # the last one listed
    ok(client, "DeleteAgent", agent_id="agent-04")  # the next one
    heartbeat(client, "agent-00")  # before the token: not on the pages after it
    heartbeat(client, "agent-03b")  # after it
    second = ok(client, "ListAgents", group_name="default", page_size=3, page_token=first.next_page_token)
    assert [agent.agent_id for agent in second.agents] == ["agent-03b", "agent-05", "agent-06"]
    third = ok(client, "ListAgents", group_name="default", page_size=3, page_token=second.next_page_token)
    assert ([agent.agent_id for agent in third.agents], third.next_page_token) == (["agent-07"], "")


def test_list_agents_refuses_bad_page_requests(client: Client) -> None:
    heartbeat(client, "a")
    expect(call(client, "ListAgents", group_name="default", page_size=-1), "InvalidParameter")
    expect(call(client, "ListAgents", group_name="default", page_token="zzz"), "InvalidParameter")
    expect(call(client, "ListAgents", group_name="default", status=7), "InvalidParameter")
    expect(call(client, "ListAgents", group_name="nope", page_size=1), "AgentGroupNotExist")


def test_list_agents_refuses_a_garbage_page_token(client: Client) -> None:
    heartbeat(client, "a")
    expect(
        call(client, "ListAgents", group_name="default", page_size=1, page_token="!!!"), "InvalidParameter"
    )


def test_paging_while_agents_register(server: ServerThread, client: Client) -> None:
    """Every agent known before paging starts is listed exactly once, in id order, while others register."""
    writer_http = HttpClient(server.http_port)
    before = [f"agent-{number:03d}" for number in range(0, 120, 2)]
    for agent_id in before:
        heartbeat(writer_http, agent_id)
    registered: list[str] = []
    failures: list[str] = []
    progress = threading.Condition()
    stop = threading.Event()

    def newcomers() -> Iterator[str]:
        """Between the known ids, before them and after them."""
        for number in range(10_000):
            yield f"agent-{number * 2 + 1:03d}" if number < 60 else f"agent-{number:04d}x"
            yield f"a-{number:04d}"
            yield f"zz-{number:04d}"

    def register() -> None:
        for agent_id in newcomers():
            if stop.is_set():
                return
            reply = call(writer_http, "HeartBeat", agent_id=agent_id)
            with progress:
                if reply.code == "Accept":
                    registered.append(agent_id)
                else:
                    failures.append(f"{agent_id}: {reply.code} {reply.message}")
                progress.notify_all()

    def grown(seen: int) -> bool:
        return len(registered) > seen or bool(failures)

    writer = threading.Thread(target=register, name="registering")
    listed: list[str] = []
    writer.start()
    try:
        token, page_count = "", 0
        while True:
            with progress:  # a registration between each two pages, at least
                seen = len(registered)
                assert progress.wait_for(partial(grown, seen), timeout=10)
            response = ok(client, "ListAgents", group_name="default", page_size=2, page_token=token)
            listed.extend(agent.agent_id for agent in response.agents)
            page_count += 1
            token = response.next_page_token
            if not token:
                break
            assert page_count < 1000
    finally:
        stop.set()
        writer.join(30)
    assert failures == []
    assert page_count >= len(before) // 2
    assert listed == sorted(set(listed)), "ids in order, each once"
    assert set(before) <= set(listed)
    assert set(listed) <= set(before) | set(registered)
    assert set(ids(client)) == set(before) | set(registered)


def test_json_bodies_and_queries_name_the_status(http: HttpClient) -> None:
    for agent_id in ("a", "b", "c"):
        heartbeat(http, agent_id)
    headers = {"Content-Type": "application/json"}

    def listing(expected: int = 200, **fields: Any) -> dict[str, Any]:
        reply = http.request("POST", "/User/ListAgents", json.dumps(fields).encode(), headers)
        assert reply.status == expected, reply.body
        found: dict[str, Any] = json.loads(reply.body)
        return found

    first = listing(groupName="default", status="ONLINE", pageSize=2)
    assert [agent["agentId"] for agent in first["agents"]] == ["a", "b"]
    agent = first["agents"][0]
    assert (agent["status"], agent["configVersions"], agent["lastConfigFetchTime"]) == ("ONLINE", {}, "0")
    last = listing(group_name="default", status="ONLINE", page_size=2, page_token=first["nextPageToken"])
    assert ([agent["agentId"] for agent in last["agents"]], last["nextPageToken"]) == (["c"], "")
    assert listing(groupName="default", status="OFFLINE")["agents"] == []
    reply = http.request(
        "GET",
        "/User/ListAgents?groupName=default&status=ONLINE&pageSize=1",
        headers={"Accept": "application/json"},
    )
    assert reply.status == 200, reply.body
    assert [agent["agentId"] for agent in json.loads(reply.body)["agents"]] == ["a"]
    assert listing(400, groupName="default", pageSize=-1)["code"] == "InvalidParameter"


# 3. DeleteAgent.


def test_delete_agent(client: Client) -> None:
    rpc = next(rpc for rpc in RPCS if rpc.name == "DeleteAgent")
    assert (rpc.http_method, rpc.http_path) == ("DELETE", "/User/DeleteAgent")
    prod_group(client)
    config(client, "c", "prod")
    heartbeat(client, "a", tags={"env": "prod"})
    heartbeat(client, "b", tags={"env": "prod"})
    ok(client, "GetConfigList", agent_id="a", config_versions={"c": 0})
    ok(client, "RunningStatistics", agent_id="a", running_details={"cpu": 1})
    ok(client, "DeleteAgent", agent_id="a")
    assert ids(client) == ["b"]
    assert ids(client, "prod") == ["b"]
    assert rollout(client, "c")[1] == 1  # targeted: b alone
    expect(call(client, "GetConfigList", agent_id="a"), "AgentNotExist")
    expect(call(client, "RunningStatistics", agent_id="a"), "AgentNotExist")
    expect(call(client, "Alarm", agent_id="a", type="t"), "AgentNotExist")
    expect(call(client, "DeleteAgent", agent_id="a"), "AgentNotExist")
    expect(call(client, "DeleteAgent", agent_id="ghost"), "AgentNotExist")
    expect(call(client, "DeleteAgent"), "BadRequest")
    heartbeat(client, "a", tags={"env": "dev"})  # registers anew, with nothing of its past
    assert ids(client) == ["a", "b"]
    assert ids(client, "prod") == ["b"]
    anew = agents(client)[0]
    assert (dict(anew.tags), dict(anew.config_versions), anew.last_config_fetch_time) == (
        {"env": "dev"},
        {},
        0,
    )
    assert dict(anew.running_details) == {}
    assert anew.status == ONLINE
    assert [info.config_name for info in ok(client, "GetConfigList", agent_id="a").config_update_infos] == []


def test_an_agent_deleted_through_one_server_is_gone_from_the_others(store: Backend) -> None:
    with servers(store.url, 2) as (a, b):
        heartbeat(a, "x")
        heartbeat(b, "y")
        assert ids(a) == ids(b) == ["x", "y"]
        heartbeat(b, "x")  # b has x's activity pending for its next batch
        ok(a, "DeleteAgent", agent_id="x")
        assert ids(b) == ["y"]  # no waiting: a read on any server reflects every acknowledged write
        expect(call(b, "GetConfigList", agent_id="x"), "AgentNotExist")
        expect(call(b, "DeleteAgent", agent_id="x"), "AgentNotExist")
        time.sleep(1.2)  # b's batch ran (every second): x's pending activity did not bring it back
        assert ids(a) == ids(b) == ["y"]
        assert store.query("SELECT agent_id FROM agents") == [("y",)]
        heartbeat(b, "x")  # registers anew
        assert ids(a) == ["x", "y"]
        ok(b, "DeleteAgent", agent_id="y")
        assert ids(a) == ["x"]


# 4. The config versions agents hold.


def test_listed_versions_are_those_reported_of_the_effective_configs(client: Client) -> None:
    prod_group(client)
    config(client, "c-prod", "prod")
    config(client, "c-all", "default")
    config(client, "c-unapplied")
    update(client, "c-all")
    heartbeat(client, "a", tags={"env": "prod"})
    heartbeat(client, "b", tags={"env": "dev"})
    never = agents(client)[0]
    assert (dict(never.config_versions), never.last_config_fetch_time) == ({}, 0)
    started = int(time.time())
    held = {"c-prod": 0, "c-all": 0, "c-unapplied": 0, "unknown": 9}
    ok(client, "GetConfigList", agent_id="a", config_versions=held)
    ok(client, "GetConfigList", agent_id="b", config_versions=held)
    a, b = agents(client)
    assert dict(a.config_versions) == {"c-prod": 0, "c-all": 0}
    assert dict(b.config_versions) == {"c-all": 0}  # c-prod is not b's
    assert started <= a.last_config_fetch_time <= int(time.time())
    assert started <= b.last_config_fetch_time <= int(time.time())
    ok(client, "GetConfigList", agent_id="a", config_versions={"c-all": 1})
    assert dict(agents(client)[0].config_versions) == {"c-all": 1}  # the last report, not a merge
    ok(client, "GetConfigList", agent_id="a")
    a = agents(client)[0]
    assert (dict(a.config_versions), a.last_config_fetch_time >= started) == ({}, True)


def test_held_versions_outlast_a_heartbeat_that_changes_attributes(store: Backend) -> None:
    with running_server(store.url) as server:
        http = HttpClient(server.http_port)
        config(http, "c", "default")
        heartbeat(http, "a", ip="10.0.0.1")
        ok(http, "GetConfigList", agent_id="a", config_versions={"c": 0})
        fetched = agents(http)[0].last_config_fetch_time
        eventually(  # the batch wrote it
            lambda: store.query("SELECT last_config_fetch_time FROM agents"),
            lambda rows: rows == [(fetched,)],
        )
        heartbeat(http, "a", ip="10.0.0.2")  # a new address: written at once
        assert dict(agents(http)[0].config_versions) == {"c": 0}  # this server still knows
    with running_server(store.url) as server:  # restarted
        http = HttpClient(server.http_port)
        agent = agents(http)[0]
        assert agent.ip == "10.0.0.2"
        assert (dict(agent.config_versions), agent.last_config_fetch_time) == ({"c": 0}, fetched)
        assert rollout(http, "c")[3:6] == (1, 0, 0)


# 5. GetConfigStatus.


def test_config_status_counts_the_rollout(client: Client) -> None:
    prod_group(client)
    config(client, "c", "prod")
    update(client, "c")  # version 1
    for agent_id in ("a-current", "b-outdated", "c-pending"):
        heartbeat(client, agent_id, tags={"env": "prod"})
    heartbeat(client, "d-other", tags={"env": "dev"})
    ok(client, "GetConfigList", agent_id="a-current", config_versions={"c": 1})
    ok(client, "GetConfigList", agent_id="b-outdated", config_versions={"c": 0})
    ok(client, "GetConfigList", agent_id="d-other", config_versions={"c": 1})  # not one of its configs
    assert rollout(client, "c") == (1, 3, 3, 1, 1, 1, ["b-outdated", "c-pending"])
    update(client, "c")  # version 2: what a-current holds is outdated now
    assert rollout(client, "c") == (2, 3, 3, 0, 2, 1, ["a-current", "b-outdated", "c-pending"])
    ok(client, "GetConfigList", agent_id="a-current", config_versions={"c": 2})
    ok(client, "GetConfigList", agent_id="b-outdated", config_versions={"c": 5})  # any other version
    assert rollout(client, "c") == (2, 3, 3, 1, 1, 1, ["b-outdated", "c-pending"])
    # Applied to `default` too: every agent is targeted, each once; d-other's report of c was not kept.
    ok(client, "ApplyConfigToAgentGroup", group_name="default", config_name="c")
    assert rollout(client, "c") == (2, 4, 4, 1, 1, 2, ["b-outdated", "c-pending", "d-other"])
    ok(client, "DeleteAgent", agent_id="c-pending")
    assert rollout(client, "c") == (2, 3, 3, 1, 1, 1, ["b-outdated", "d-other"])
    config(client, "lonely")
    assert rollout(client, "lonely") == (0, 0, 0, 0, 0, 0, [])
    expect(call(client, "GetConfigStatus", config_name="nope"), "ConfigNotExist")
    expect(call(client, "GetConfigStatus"), "BadRequest")


def test_config_status_lists_at_most_100_laggards(server: ServerThread, http: HttpClient) -> None:
    config(http, "c", "default")
    every = [f"agent-{number:03d}" for number in range(105)]
    for agent_id in reversed(every):
        heartbeat(http, agent_id)
    assert rollout(http, "c") == (0, 105, 105, 0, 0, 105, every[:100])


# 6. Alarms.


def test_alarms_are_listed_newest_first_with_filters_and_pages(client: Client) -> None:
    expect(call(client, "Alarm", agent_id="ghost", type="disk"), "AgentNotExist")
    heartbeat(client, "x")
    heartbeat(client, "y")
    started = int(time.time())
    sent = [
        ("x", "disk", "x1"),
        ("x", "net", "x2"),
        ("x", "disk", "x3"),
        ("x", "disk", "x4"),
        ("x", "net", "x5"),
    ]
    sent += [("y", "disk", "y1"), ("y", "oom", "y2")]
    for agent_id, kind, detail in sent:
        alarm(client, agent_id, kind, detail)
    ended = int(time.time())
    response = ok(client, "ListAlarms")  # at once: this server writes its pending alarms first
    assert response.next_page_token == ""
    listed = [(a.agent_id, a.type, a.detail) for a in response.alarms]
    assert listed == sent[::-1]
    assert all(started <= a.time <= ended for a in response.alarms)
    assert alarm_details(client, agent_id="x") == ["x5", "x4", "x3", "x2", "x1"]
    assert alarm_details(client, type="disk") == ["y1", "x4", "x3", "x1"]
    assert alarm_details(client, agent_id="x", type="net") == ["x5", "x2"]
    assert alarm_details(client, agent_id="ghost") == []
    assert alarm_details(client, since=started) == [detail for _, _, detail in sent[::-1]]
    assert alarm_details(client, since=ended + 60) == []
    # page_size 2 over x's 5: each exactly once, newest first, the last page without a token.
    assert [[a.detail for a in page] for page in alarm_pages(client, 2, agent_id="x")] == [
        ["x5", "x4"],
        ["x3", "x2"],
        ["x1"],
    ]
    assert [[a.detail for a in page] for page in alarm_pages(client, 3, type="disk")] == [
        ["y1", "x4", "x3"],
        ["x1"],
    ]
    assert [[a.detail for a in page] for page in alarm_pages(client, 7)] == [[d for _, _, d in sent[::-1]]]
    expect(call(client, "ListAlarms", page_size=-1), "InvalidParameter")
    expect(call(client, "ListAlarms", page_token="!!!"), "InvalidParameter")
    expect(call(client, "ListAlarms", page_token="zzz"), "InvalidParameter")


def test_list_alarms_answers_100_when_no_page_size_is_given(client: Client) -> None:
    for agent_id in ("x", "y"):
        heartbeat(client, agent_id)
        for index in range(60):
            alarm(client, agent_id, "t", f"{agent_id}{index:02d}")
    first = ok(client, "ListAlarms")
    assert len(first.alarms) == 100 and first.next_page_token
    assert [a.detail for a in first.alarms[:2]] == ["y59", "y58"]
    rest = ok(client, "ListAlarms", page_token=first.next_page_token)
    assert (len(rest.alarms), rest.next_page_token) == (20, "")
    details = [a.detail for a in [*first.alarms, *rest.alarms]]
    assert sorted(details) == sorted(f"{agent_id}{index:02d}" for agent_id in "xy" for index in range(60))
    assert len(set(details)) == 120


def test_alarms_beyond_the_retention_count_are_dropped(store_url: str, transport: str) -> None:
    with serving(store_url, transport, policy=FleetPolicy(alarm_retention_count=3)) as (_, client):
        heartbeat(client, "x")
        heartbeat(client, "y")
        for index in range(5):
            alarm(client, "x", "t", f"d{index}")
        assert alarm_details(client, agent_id="x") == ["d4", "d3", "d2"]  # stored: the next ones replace them
        for index in range(5, 10):
            alarm(client, "x", "t", f"d{index}")
        alarm(client, "y", "t", "e0")
        alarm(client, "y", "t", "e1")
        assert alarm_details(client, agent_id="x") == ["d9", "d8", "d7"]
        assert alarm_details(client, agent_id="y") == ["e1", "e0"]
        assert sorted(alarm_details(client)) == ["d7", "d8", "d9", "e0", "e1"]


def test_alarms_of_several_agents_are_listed_newest_first(store_url: str) -> None:
    with running_server(store_url, flush_interval=60.0) as server:  # one batch: ListAlarms writes it
        http = HttpClient(server.http_port)
        heartbeat(http, "x")
        heartbeat(http, "y")
        time.sleep(1.02 - time.time() % 1)  # at the start of a second: the three alarms share it
        for agent_id, detail in (("x", "1"), ("y", "2"), ("x", "3")):
            alarm(http, agent_id, "t", detail)
        assert alarm_details(http) == ["3", "2", "1"]


def test_alarms_sent_through_one_server_are_listed_by_another(store: Backend) -> None:
    with servers(store.url, 2) as (a, b):
        heartbeat(a, "x")
        alarm(a, "x", "disk", "through a")
        eventually(lambda: alarm_details(b), lambda found: found == ["through a"], deadline=3)
        alarm(b, "x", "net", "through b")  # x registered through a
        eventually(lambda: alarm_details(a), lambda found: found == ["through b", "through a"], deadline=3)
        assert alarm_details(b, type="disk") == ["through a"]
        assert alarm_details(b, agent_id="x", type="net") == ["through b"]


# 7. Metrics.


def test_metrics_count_alarms_by_type_and_agents_by_status(store_url: str) -> None:
    # Whole seconds: the gauge agrees with Agent.status then (see the next test).
    policy = FleetPolicy(offline_after=2.0)
    with running_server(store_url, policy=policy, flush_interval=0.1) as server:
        http = HttpClient(server.http_port)
        grpc_client = GrpcClient(server.grpc_port)
        try:
            before = samples(http)  # counters are per process, which has run other tests' servers
            for agent_id in ("a", "b", "c"):
                heartbeat(http, agent_id)
            for client, kind in ((http, "fleet-disk"), (grpc_client, "fleet-disk"), (http, "fleet-oom")):
                alarm(client, "a", kind, "detail")
            alarm(grpc_client, "b", "fleet-disk", "detail")
            after = samples(http)

            def grew(kind: str) -> float:
                key = ("configserver_alarms_total", (("type", kind),))
                return after.get(key, 0.0) - before.get(key, 0.0)

            assert (grew("fleet-disk"), grew("fleet-oom")) == (3, 1)

            def online() -> tuple[float, float]:
                return (
                    metric(http, "configserver_agents", status="online"),
                    metric(http, "configserver_agents", status="offline"),
                )

            eventually(online, lambda counts: counts == (3, 0))

            def keeping_c_alive() -> tuple[float, float]:
                heartbeat(http, "c")
                return online()

            eventually(keeping_c_alive, lambda counts: counts == (1, 2), deadline=5)
        finally:
            grpc_client.close()


def test_online_gauge_agrees_with_the_listed_status(store_url: str) -> None:
    with running_server(store_url, policy=FleetPolicy(offline_after=1.9), flush_interval=0.1) as server:
        http = HttpClient(server.http_port)
        heartbeat(http, "a")
        beat = agents(http)[0].latest_heartbeat_time
        time.sleep(max(0.0, beat + 1.3 - time.time()))  # the gauge was refreshed since beat + 1.2
        online = metric(http, "configserver_agents", status="online")
        status = agents(http)[0].status
        assert status == ONLINE, "still under 1.9 s since the heartbeat"
        assert online == 1
