"""Names, sizes and counts beyond the limits: InvalidParameter on both transports, nothing stored."""

from typing import Any

import pytest

from core import limits
from tests.support import Client, expect, make

LONG = "n" * (limits.MAX_NAME + 1)
TAGS = {f"k{i}": "v" for i in range(limits.MAX_TAGS + 1)}
GROUP_TAGS = [{"name": f"k{i}", "value": "v"} for i in range(limits.MAX_TAGS + 1)]

REFUSED: list[tuple[str, dict[str, Any]]] = [
    ("CreateAgentGroup", {"agent_group": {"group_name": LONG}}),
    ("CreateAgentGroup", {"agent_group": {"group_name": "bell\x07"}}),
    ("CreateAgentGroup", {"agent_group": {"group_name": "line\nbreak"}}),
    ("CreateAgentGroup", {"agent_group": {"group_name": "g", "tags": GROUP_TAGS}}),
    ("CreateAgentGroup", {"agent_group": {"group_name": "g", "tags": [{"name": "", "value": "v"}]}}),
    ("CreateAgentGroup", {"agent_group": {"group_name": "g", "description": "d" * (limits.MAX_TEXT + 1)}}),
    (
        "UpdateAgentGroup",
        {"agent_group": {"group_name": "default", "tags": [{"name": "k", "value": "\x00"}]}},
    ),
    ("CreateConfig", {"config_detail": {"config_name": LONG, "content": "x"}}),
    ("CreateConfig", {"config_detail": {"config_name": "c\u2028", "content": "x"}}),
    ("CreateConfig", {"config_detail": {"config_name": "c", "content": "x" * (limits.MAX_CONTENT + 1)}}),
    (
        "UpdateConfig",
        {"config_detail": {"config_name": "sentinel", "content": "x" * (limits.MAX_CONTENT + 1)}},
    ),
    ("GetConfig", {"config_name": LONG}),
    ("ApplyConfigToAgentGroup", {"group_name": "default", "config_name": "tab\t"}),
    ("HeartBeat", {"agent_id": LONG}),
    ("HeartBeat", {"agent_id": "esc\x1b[31m"}),
    ("HeartBeat", {"agent_id": "a", "tags": TAGS}),
    ("HeartBeat", {"agent_id": "a", "ip": "i" * (limits.MAX_TEXT + 1)}),
    ("GetConfigList", {"agent_id": LONG}),
    (
        "GetConfigList",
        {"agent_id": "known", "config_versions": {f"c{i}": 0 for i in range(limits.MAX_HELD_CONFIGS + 1)}},
    ),
    (
        "RunningStatistics",
        {"agent_id": "known", "running_details": {"extras": {f"k{i}": "v" for i in range(300)}}},
    ),
    ("Alarm", {"agent_id": "known", "detail": "d" * (limits.MAX_ALARM + 1)}),
]


@pytest.mark.parametrize(
    ("rpc_name", "fields"), REFUSED, ids=[f"{name}-{i}" for i, (name, _) in enumerate(REFUSED)]
)
def test_beyond_the_limits(client: Client, rpc_name: str, fields: dict[str, Any]) -> None:
    expect(
        client.call(
            "CreateConfig", make("CreateConfig", config_detail={"config_name": "sentinel", "content": "s"})
        ),
        "Accept",
    )
    expect(client.call("HeartBeat", make("HeartBeat", agent_id="known")), "Accept")
    reply = client.call(rpc_name, make(rpc_name, **fields))
    expect(reply, "InvalidParameter")
    listed = expect(client.call("ListConfigs", make("ListConfigs")), "Accept").config_details
    assert [(c.config_name, c.content) for c in listed] == [("sentinel", "s")]
    assert len(expect(client.call("ListAgentGroups", make("ListAgentGroups")), "Accept").agent_groups) == 1
    assert [
        a.agent_id
        for a in expect(client.call("ListAgents", make("ListAgents", group_name="default")), "Accept").agents
    ] == ["known"]


def test_at_the_limits(client: Client) -> None:
    name = "n" * limits.MAX_NAME
    tags = [{"name": f"k{i}", "value": "v"} for i in range(limits.MAX_TAGS)]
    expect(
        client.call(
            "CreateAgentGroup", make("CreateAgentGroup", agent_group={"group_name": name, "tags": tags})
        ),
        "Accept",
    )
    expect(
        client.call(
            "CreateConfig",
            make("CreateConfig", config_detail={"config_name": "nginx_access.v2-x", "content": "x"}),
        ),
        "Accept",
    )
    expect(
        client.call("CreateAgentGroup", make("CreateAgentGroup", agent_group={"group_name": "ünïcödé 配置"})),
        "Accept",
    )


@pytest.mark.parametrize("name", ["ünïcödé", "a b", "a/b", "a@2", ".hidden", "-x", "a\\b"])
def test_config_names_are_safe_as_file_names(client: Client, name: str) -> None:
    """Agents write each config to a file named after it, unchecked."""
    reply = client.call(
        "CreateConfig", make("CreateConfig", config_detail={"config_name": name, "content": "x"})
    )
    expect(reply, "InvalidParameter")
    assert "file name" in reply.message
    expect(
        client.call(
            "HeartBeat", make("HeartBeat", agent_id=name, tags={f"k{i}": "v" for i in range(limits.MAX_TAGS)})
        ),
        "Accept",
    )
