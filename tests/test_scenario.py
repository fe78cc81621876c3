"""The published server's own interface scenario, ported, on both transports (one client, one server)."""

from typing import Any

from tests.support import Client, expect, make


def call(client: Client, name: str, **fields: Any) -> Any:
    return client.call(name, make(name, request_id=f"req-{name}", **fields))


def ok(client: Client, name: str, **fields: Any) -> Any:
    response = expect(call(client, name, **fields), "Accept")
    if response is not None:
        assert response.response_id == f"req-{name}"
    return response


def test_agent_groups(client: Client) -> None:
    group = {"group_name": "g1", "description": "first", "tags": [{"name": "env", "value": "prod"}]}
    ok(client, "CreateAgentGroup", agent_group=group)
    expect(call(client, "CreateAgentGroup", agent_group=group), "AgentGroupAlreadyExist")
    got = ok(client, "GetAgentGroup", group_name="g1").agent_group
    assert (got.group_name, got.description, [(t.name, t.value) for t in got.tags]) == (
        "g1",
        "first",
        [("env", "prod")],
    )
    ok(client, "UpdateAgentGroup", agent_group={**group, "description": "updated", "tags": []})
    got = ok(client, "GetAgentGroup", group_name="g1").agent_group
    assert (got.description, list(got.tags)) == ("updated", [])
    expect(call(client, "UpdateAgentGroup", agent_group={"group_name": "nope"}), "AgentGroupNotExist")
    ok(client, "CreateAgentGroup", agent_group={"group_name": "a0"})
    names = [g.group_name for g in ok(client, "ListAgentGroups").agent_groups]
    assert names == ["a0", "default", "g1"]
    expect(call(client, "DeleteAgentGroup", group_name="default"), "BadRequest")
    ok(client, "DeleteAgentGroup", group_name="g1")
    expect(call(client, "GetAgentGroup", group_name="g1"), "AgentGroupNotExist")
    expect(call(client, "DeleteAgentGroup", group_name="g1"), "AgentGroupNotExist")
    expect(call(client, "CreateAgentGroup", agent_group={"description": "no name"}), "BadRequest")


def test_configs(client: Client) -> None:
    config = {"config_name": "c1", "agent_type": "ilogtail", "description": "d", "content": "test"}
    ok(client, "CreateConfig", config_detail=config)
    got = ok(client, "GetConfig", config_name="c1").config_detail
    assert (got.config_name, got.agent_type, got.description, got.content) == ("c1", "ilogtail", "d", "test")
    expect(call(client, "CreateConfig", config_detail=config), "ConfigAlreadyExist")
    expect(call(client, "CreateConfig", config_detail={"config_name": "c2"}), "BadRequest")
    expect(call(client, "CreateConfig", config_detail={"content": "x"}), "BadRequest")
    ok(client, "UpdateConfig", config_detail={**config, "content": "test-updated"})
    assert ok(client, "GetConfig", config_name="c1").config_detail.content == "test-updated"
    expect(
        call(client, "UpdateConfig", config_detail={"config_name": "nope", "content": "x"}), "ConfigNotExist"
    )
    ok(client, "CreateConfig", config_detail={"config_name": "b0", "content": "x"})
    assert [c.config_name for c in ok(client, "ListConfigs").config_details] == ["b0", "c1"]
    ok(client, "DeleteConfig", config_name="c1")
    expect(call(client, "GetConfig", config_name="c1"), "ConfigNotExist")
    expect(call(client, "DeleteConfig", config_name="c1"), "ConfigNotExist")
    ok(client, "CreateConfig", config_detail=config)
    assert ok(client, "GetConfig", config_name="c1").config_detail.content == "test"


def test_applying_configs_to_groups(client: Client) -> None:
    ok(client, "CreateAgentGroup", agent_group={"group_name": "g1", "tags": [{"name": "a", "value": "1"}]})
    ok(client, "CreateAgentGroup", agent_group={"group_name": "g0"})
    ok(client, "CreateConfig", config_detail={"config_name": "c1", "content": "x"})
    ok(client, "CreateConfig", config_detail={"config_name": "c0", "content": "x"})
    expect(
        call(client, "ApplyConfigToAgentGroup", group_name="nope", config_name="nope"), "AgentGroupNotExist"
    )
    expect(call(client, "ApplyConfigToAgentGroup", group_name="g1", config_name="nope"), "ConfigNotExist")
    ok(client, "ApplyConfigToAgentGroup", group_name="g1", config_name="c1")
    ok(client, "ApplyConfigToAgentGroup", group_name="g1", config_name="c0")
    ok(client, "ApplyConfigToAgentGroup", group_name="g0", config_name="c1")
    expect(call(client, "ApplyConfigToAgentGroup", group_name="g1", config_name="c1"), "ConfigAlreadyExist")
    assert list(ok(client, "GetAppliedConfigsForAgentGroup", group_name="g1").config_names) == ["c0", "c1"]
    assert list(ok(client, "GetAppliedAgentGroups", config_name="c1").agent_group_names) == ["g0", "g1"]
    expect(call(client, "GetAppliedConfigsForAgentGroup", group_name="nope"), "AgentGroupNotExist")
    expect(call(client, "GetAppliedAgentGroups", config_name="nope"), "ConfigNotExist")
    expect(call(client, "DeleteConfig", config_name="c1"), "BadRequest")
    expect(call(client, "DeleteAgentGroup", group_name="g1"), "BadRequest")
    ok(client, "RemoveConfigFromAgentGroup", group_name="g1", config_name="c1")
    expect(call(client, "RemoveConfigFromAgentGroup", group_name="g1", config_name="c1"), "ConfigNotExist")
    expect(
        call(client, "RemoveConfigFromAgentGroup", group_name="nope", config_name="c1"), "AgentGroupNotExist"
    )
    assert list(ok(client, "GetAppliedConfigsForAgentGroup", group_name="g1").config_names) == ["c0"]
    assert list(ok(client, "GetAppliedAgentGroups", config_name="c1").agent_group_names) == ["g0"]
    ok(client, "RemoveConfigFromAgentGroup", group_name="g1", config_name="c0")
    ok(client, "DeleteAgentGroup", group_name="g1")
    ok(client, "DeleteConfig", config_name="c0")


def heartbeat(client: Client, agent_id: str, **fields: Any) -> None:
    ok(client, "HeartBeat", agent_id=agent_id, agent_type="ilogtail", agent_version="1.1.1", **fields)


def test_agents_report_and_are_listed(client: Client) -> None:
    expect(call(client, "RunningStatistics", agent_id="a-2"), "AgentNotExist")
    expect(call(client, "Alarm", agent_id="a-2", type="t"), "AgentNotExist")
    expect(call(client, "HeartBeat"), "BadRequest")
    heartbeat(client, "a-2", ip="10.0.0.2", tags={"env": "prod"}, running_status="good", startup_time=100)
    heartbeat(client, "a-1", ip="10.0.0.1", tags={"env": "test"})
    ok(
        client,
        "RunningStatistics",
        agent_id="a-2",
        running_details={"cpu": 0.5, "memory": 1024, "extras": {"k": "v"}},
    )
    ok(client, "Alarm", agent_id="a-2", type="test", detail="test alarm")
    agents = ok(client, "ListAgents", group_name="default").agents
    assert [a.agent_id for a in agents] == ["a-1", "a-2"]
    a2 = agents[1]
    assert (a2.ip, a2.version, a2.agent_type, a2.running_status, a2.startup_time) == (
        "10.0.0.2",
        "1.1.1",
        "ilogtail",
        "good",
        100,
    )
    assert dict(a2.tags) == {"env": "prod"}
    assert dict(a2.running_details) == {"CPU": "0.5", "Memory": "1024", "k": "v"}
    assert a2.latest_heartbeat_time > 1_700_000_000
    ok(
        client,
        "CreateAgentGroup",
        agent_group={"group_name": "prod", "tags": [{"name": "env", "value": "prod"}]},
    )
    ok(client, "CreateAgentGroup", agent_group={"group_name": "empty"})
    assert [a.agent_id for a in ok(client, "ListAgents", group_name="prod").agents] == ["a-2"]
    assert list(ok(client, "ListAgents", group_name="empty").agents) == []
    expect(call(client, "ListAgents", group_name="nope"), "AgentGroupNotExist")
    heartbeat(client, "a-1", ip="10.0.0.1", tags={"env": "prod"})
    assert [a.agent_id for a in ok(client, "ListAgents", group_name="prod").agents] == ["a-1", "a-2"]


def config_list(client: Client, agent_id: str, held: dict[str, int]) -> list[tuple[str, int, int, str]]:
    infos = ok(client, "GetConfigList", agent_id=agent_id, config_versions=held).config_update_infos
    return [(i.config_name, i.update_status, i.config_version, i.content) for i in infos]


NEW, SAME, DELETED, MODIFIED = 1, 0, 2, 3


def test_config_list_follows_remove_update_and_apply(client: Client) -> None:
    expect(call(client, "GetConfigList", agent_id="ghost"), "AgentNotExist")
    heartbeat(client, "a-1", tags={"env": "prod"})
    ok(
        client,
        "CreateAgentGroup",
        agent_group={"group_name": "prod", "tags": [{"name": "env", "value": "prod"}]},
    )
    for name in ("c1", "c2", "c3"):
        ok(client, "CreateConfig", config_detail={"config_name": name, "content": f"{name}-v0"})
    ok(client, "ApplyConfigToAgentGroup", group_name="prod", config_name="c1")
    ok(client, "ApplyConfigToAgentGroup", group_name="prod", config_name="c2")
    ok(client, "ApplyConfigToAgentGroup", group_name="default", config_name="c3")
    assert config_list(client, "a-1", {}) == [
        ("c1", NEW, 0, "c1-v0"),
        ("c2", NEW, 0, "c2-v0"),
        ("c3", NEW, 0, "c3-v0"),
    ]
    held = {"c1": 0, "c2": 0, "c3": 0}
    ok(client, "RemoveConfigFromAgentGroup", group_name="prod", config_name="c1")
    ok(client, "UpdateConfig", config_detail={"config_name": "c2", "content": "c2-v1"})
    assert config_list(client, "a-1", held) == [
        ("c1", DELETED, 0, ""),
        ("c2", MODIFIED, 1, "c2-v1"),
        ("c3", SAME, 0, ""),
    ]
    ok(client, "ApplyConfigToAgentGroup", group_name="prod", config_name="c1")
    assert config_list(client, "a-1", {"c2": 1, "c3": 0}) == [
        ("c1", NEW, 0, "c1-v0"),
        ("c2", SAME, 0, ""),
        ("c3", SAME, 0, ""),
    ]
