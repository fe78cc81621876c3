"""Config governance in the User API, as its clients see it:

1. History: `Config.version` and `update_time` in answers; one immutable revision per CreateConfig,
   UpdateConfig, DeleteConfig and RollbackConfig (versions: create 0, each write +1, a deletion takes a
   version, re-creation and rollback one above the highest); ListConfigHistory newest first, in pages,
   after deletion too, and within `--history-retention`.
2. RollbackConfig: a new version holding an old revision's content, description and agent type; agents
   see it as MODIFIED; a deleted config comes back unbound; an unknown revision is ConfigNotExist.
3. expected_version on UpdateConfig, DeleteConfig and RollbackConfig: ConfigVersionConflict (409 /
   ABORTED) naming the current version, nothing changed; the current version is accepted.
4. UpdateConfig keeps the stored agent_type and description when the request leaves them out.
5. The `reason` of every User API write, in the config history and the audit trail (actor `anonymous`).
6. ListConfigs pages.
7. Sizes in UTF-8 bytes: contents (1 MiB), names (256), reasons.
8. `--max-answer-size`: ApplyConfigToAgentGroup, UpdateConfig, RollbackConfig and UpdateAgentGroup
   refused when an agent's GetConfigList answer would exceed it, with the stored data left intact.

Real servers on real sockets; each test runs on SQLite and on PostgreSQL and, where a client is used, on
HTTP and on gRPC. Nothing here waits on the clock. Concurrent writes to one server that each fit but not
together: one is refused (the check runs on the store thread, right before each write).
"""

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from configserver.proto import agent_pb2, user_pb2
from core import limits
from core.model import MAX_ANSWER_SIZE, FleetPolicy
from tests.support import (
    RPC_BY_NAME,
    Client,
    GrpcClient,
    HttpClient,
    Reply,
    connected,
    expect,
    make,
    running_server,
)

CREATE, UPDATE, DELETE, ROLLBACK = user_pb2.CREATE, user_pb2.UPDATE, user_pb2.DELETE, user_pb2.ROLLBACK
NEW, SAME = agent_pb2.ConfigUpdateInfo.NEW, agent_pb2.ConfigUpdateInfo.SAME
MODIFIED, DELETED = agent_pb2.ConfigUpdateInfo.MODIFIED, agent_pb2.ConfigUpdateInfo.DELETED

SMALL_BOUND = 20_000
"""A --max-answer-size that two configs of `BLOCK` bytes fit under, and three do not."""
BLOCK = 8_000
"""Bytes of content of the configs that test the small bound."""


# Clients and calls.


@contextmanager
def serving(store_url: str, transport: str, **overrides: Any) -> Iterator[Client]:
    with running_server(store_url, **overrides) as server, connected(server, transport) as client:
        yield client


def call(client: Client, name: str, **fields: Any) -> Reply:
    return client.call(name, make(name, request_id=f"req-{name}", **fields))


def ok(client: Client, name: str, **fields: Any) -> Any:
    response = expect(call(client, name, **fields), "Accept")
    assert response.response_id == f"req-{name}"
    return response


def refused(client: Client, code: str, name: str, **fields: Any) -> str:
    """The call is refused with `code`: its message."""
    reply = call(client, name, **fields)
    expect(reply, code)
    return reply.message


def create(client: Client, name: str, content: str, **fields: Any) -> None:
    ok(client, "CreateConfig", config_detail={"config_name": name, "content": content, **fields})


def update(client: Client, name: str, content: str, **fields: Any) -> None:
    ok(client, "UpdateConfig", config_detail={"config_name": name, "content": content, **fields})


def get(client: Client, name: str) -> user_pb2.Config:
    found: user_pb2.Config = ok(client, "GetConfig", config_name=name).config_detail
    return found


def state(client: Client, name: str) -> tuple[int, str, str, str]:
    """GetConfig: version, content, agent_type, description."""
    found = get(client, name)
    return found.version, found.content, found.agent_type, found.description


def revisions(client: Client, name: str, **fields: Any) -> list[user_pb2.ConfigRevision]:
    return list(ok(client, "ListConfigHistory", config_name=name, **fields).revisions)


def history(client: Client, name: str) -> list[tuple[int, int, str]]:
    """The kept revisions, newest first: version, action, content."""
    return [(r.version, r.action, r.config.content) for r in revisions(client, name)]


def history_pages(client: Client, name: str, page_size: int) -> list[list[int]]:
    """The versions on every page of ListConfigHistory, following the tokens to the one without."""
    found: list[list[int]] = []
    token = ""
    while True:
        response = ok(client, "ListConfigHistory", config_name=name, page_size=page_size, page_token=token)
        found.append([revision.version for revision in response.revisions])
        token = response.next_page_token
        if not token:
            return found
        assert len(found) < 1000, "the tokens never end"


def config_pages(client: Client, page_size: int) -> list[list[str]]:
    """The names on every page of ListConfigs, following the tokens to the one without."""
    found: list[list[str]] = []
    token = ""
    while True:
        response = ok(client, "ListConfigs", page_size=page_size, page_token=token)
        found.append([config.config_name for config in response.config_details])
        token = response.next_page_token
        if not token:
            return found
        assert len(found) < 1000, "the tokens never end"


def fetch(
    client: Client, agent_id: str, held: dict[str, int] | None = None
) -> list[tuple[str, int, int, str]]:
    """An agent's GetConfigList holding `held`: name, status, version, content of each entry."""
    response = ok(client, "GetConfigList", agent_id=agent_id, config_versions=held or {})
    return [
        (info.config_name, info.update_status, info.config_version, info.content)
        for info in response.config_update_infos
    ]


def applied(client: Client, group: str) -> list[str]:
    return list(ok(client, "GetAppliedConfigsForAgentGroup", group_name=group).config_names)


def sizes_in(message: str) -> list[int]:
    """The numbers of bytes a message names."""
    return [int(number) for number in re.findall(r"(\d+) bytes", message)]


def assert_recent(stamp: int, since: float) -> None:
    """A unix-seconds stamp of a write made after `since` (a wall-clock reading), with slack for rounding."""
    assert since - 5 <= stamp <= time.time() + 5, (stamp, since)


# 1. History.


def test_every_write_keeps_a_revision_and_takes_a_version(client: Client) -> None:
    since = time.time()
    # The version and time of a request's config are the server's to set: ignored.
    create(client, "c", "v0", agent_type="file", description="first", version=42, update_time=7)
    created = get(client, "c")
    assert (created.version, created.content, created.agent_type, created.description) == (
        0,
        "v0",
        "file",
        "first",
    )
    assert_recent(created.update_time, since)
    update(client, "c", "v1", version=0)
    update(client, "c", "v2", description="third", version=9)
    assert state(client, "c") == (2, "v2", "file", "third")
    listed = ok(client, "ListConfigs").config_details
    assert [(config.config_name, config.version, config.content) for config in listed] == [("c", 2, "v2")]
    assert listed[0].update_time == get(client, "c").update_time
    assert_recent(listed[0].update_time, since)

    ok(client, "DeleteConfig", config_name="c")  # takes version 3
    refused(client, "ConfigNotExist", "GetConfig", config_name="c")
    assert list(ok(client, "ListConfigs").config_details) == []
    create(client, "c", "again")  # one above the deletion
    assert state(client, "c") == (4, "again", "", "")
    rolled = ok(client, "RollbackConfig", config_name="c", to_version=1).config_detail
    assert (rolled.config_name, rolled.version, rolled.content) == ("c", 5, "v1")
    assert_recent(rolled.update_time, since)
    assert state(client, "c") == (5, "v1", "file", "first")

    kept = revisions(client, "c")
    assert [(r.version, r.action, r.config.content) for r in kept] == [
        (5, ROLLBACK, "v1"),
        (4, CREATE, "again"),
        (3, DELETE, "v2"),  # the config as it was deleted
        (2, UPDATE, "v2"),
        (1, UPDATE, "v1"),
        (0, CREATE, "v0"),
    ]
    deleted = kept[2].config
    assert (deleted.config_name, deleted.agent_type, deleted.description) == ("c", "file", "third")
    for revision in kept:
        assert revision.config.config_name == "c"
        assert revision.config.version == revision.version
        assert revision.config.update_time == revision.time
        assert revision.actor == "anonymous"  # the server has no tokens
        assert revision.reason == ""
        assert_recent(revision.time, since)
    assert kept[0].time == get(client, "c").update_time
    times = [revision.time for revision in kept]
    assert times == sorted(times, reverse=True)


def test_history_pages_newest_first(client: Client) -> None:
    create(client, "c", "v0")
    for version in range(1, 7):
        update(client, "c", f"v{version}")
    create(client, "other", "o")
    assert history_pages(client, "c", 3) == [[6, 5, 4], [3, 2, 1], [0]]
    assert history_pages(client, "c", 2) == [[6, 5], [4, 3], [2, 1], [0]]
    assert history_pages(client, "c", 7) == [[6, 5, 4, 3, 2, 1, 0]]  # an exact fit: no token
    assert history_pages(client, "c", 0) == [[6, 5, 4, 3, 2, 1, 0]]
    assert history_pages(client, "other", 1) == [[0]]
    # A token names where its page ended: a write since then does not move the pages after it.
    first = ok(client, "ListConfigHistory", config_name="c", page_size=3)
    update(client, "c", "v7")
    second = ok(client, "ListConfigHistory", config_name="c", page_size=3, page_token=first.next_page_token)
    assert [revision.version for revision in second.revisions] == [3, 2, 1]
    assert [revision.config.content for revision in second.revisions] == ["v3", "v2", "v1"]


def test_history_refuses_bad_requests(client: Client) -> None:
    create(client, "c", "v0")
    update(client, "c", "v1")
    for token in ("zzz", "!!!", "YWJj"):  # YWJj: "abc" in base64, not a version
        refused(client, "InvalidParameter", "ListConfigHistory", config_name="c", page_token=token)
    refused(client, "InvalidParameter", "ListConfigHistory", config_name="c", page_size=-1)
    refused(client, "InvalidParameter", "ListConfigHistory", config_name="n" * (limits.MAX_NAME + 1))
    assert "never" in refused(client, "ConfigNotExist", "ListConfigHistory", config_name="never")
    assert history(client, "c") == [(1, UPDATE, "v1"), (0, CREATE, "v0")]


def test_history_answers_a_hundred_revisions_by_default(store_url: str) -> None:
    """By default the newest 100 revisions are kept, and a page holds 100."""
    with running_server(store_url, policy=FleetPolicy(history_retention=150)) as server:
        http = HttpClient(server.http_port)
        create(http, "c", "v0")
        for version in range(1, 102):
            update(http, "c", f"v{version}")
        first = ok(http, "ListConfigHistory", config_name="c")  # page_size 0: 100
        assert [revision.version for revision in first.revisions] == list(range(101, 1, -1))
        assert first.next_page_token
        rest = ok(http, "ListConfigHistory", config_name="c", page_token=first.next_page_token)
        assert ([revision.version for revision in rest.revisions], rest.next_page_token) == ([1, 0], "")
    with running_server(store_url) as server:  # the default retention: the newest 100
        http = HttpClient(server.http_port)
        update(http, "c", "v102")  # a write trims its config's history
        assert history_pages(http, "c", 0) == [list(range(102, 2, -1))]


def test_history_survives_deletion(client: Client) -> None:
    create(client, "c", "v0", description="d")
    update(client, "c", "v1")
    ok(client, "DeleteConfig", config_name="c")
    refused(client, "ConfigNotExist", "GetConfig", config_name="c")
    refused(client, "ConfigNotExist", "UpdateConfig", config_detail={"config_name": "c", "content": "x"})
    refused(client, "ConfigNotExist", "DeleteConfig", config_name="c")
    assert history(client, "c") == [(2, DELETE, "v1"), (1, UPDATE, "v1"), (0, CREATE, "v0")]
    refused(client, "ConfigNotExist", "GetConfig", config_name="c")  # reading history revives nothing


def test_history_retention_keeps_the_newest_revisions(store_url: str, transport: str) -> None:
    with serving(store_url, transport, policy=FleetPolicy(history_retention=3)) as client:
        create(client, "other", "o")
        create(client, "c", "v0")
        for version in range(1, 5):
            update(client, "c", f"v{version}")
        assert history(client, "c") == [(4, UPDATE, "v4"), (3, UPDATE, "v3"), (2, UPDATE, "v2")]
        assert history(client, "other") == [(0, CREATE, "o")]  # per config
        message = refused(client, "ConfigNotExist", "RollbackConfig", config_name="c", to_version=1)
        assert "1" in message
        assert state(client, "c")[:2] == (4, "v4")
        assert ok(client, "RollbackConfig", config_name="c", to_version=2).config_detail.version == 5
        ok(client, "DeleteConfig", config_name="c")
        assert history(client, "c") == [(6, DELETE, "v2"), (5, ROLLBACK, "v2"), (4, UPDATE, "v4")]
        assert history_pages(client, "c", 2) == [[6, 5], [4]]


# 2. Rollback.


def test_rollback_restores_an_old_revision(client: Client) -> None:
    create(client, "c", "v0", agent_type="file", description="first")
    update(client, "c", "v1", agent_type="syslog", description="second")
    update(client, "c", "v2")
    since = time.time()
    response = ok(client, "RollbackConfig", config_name="c", to_version=0, reason="v1 broke parsing")
    assert response.message
    restored = response.config_detail
    assert (restored.config_name, restored.version, restored.content) == ("c", 3, "v0")
    assert (restored.agent_type, restored.description) == ("file", "first")
    assert_recent(restored.update_time, since)
    assert get(client, "c") == restored
    newest = revisions(client, "c")[0]
    assert (newest.version, newest.action, newest.reason, newest.actor) == (
        3,
        ROLLBACK,
        "v1 broke parsing",
        "anonymous",
    )
    assert newest.config == restored
    # To the current version, or forward again: each a new version.
    assert ok(client, "RollbackConfig", config_name="c", to_version=3).config_detail.version == 4
    assert state(client, "c") == (4, "v0", "file", "first")
    assert ok(client, "RollbackConfig", config_name="c", to_version=1).config_detail.version == 5
    assert state(client, "c") == (5, "v1", "syslog", "second")
    assert [version for version, _, _ in history(client, "c")] == [5, 4, 3, 2, 1, 0]


def test_an_agent_sees_a_rollback_as_modified(client: Client) -> None:
    ok(client, "HeartBeat", agent_id="agent-1")
    create(client, "c", "good")
    ok(client, "ApplyConfigToAgentGroup", group_name="default", config_name="c")
    assert fetch(client, "agent-1") == [("c", NEW, 0, "good")]
    update(client, "c", "bad")
    assert fetch(client, "agent-1", {"c": 0}) == [("c", MODIFIED, 1, "bad")]
    ok(client, "RollbackConfig", config_name="c", to_version=0)
    assert fetch(client, "agent-1", {"c": 1}) == [("c", MODIFIED, 2, "good")]
    assert fetch(client, "agent-1", {"c": 0}) == [("c", MODIFIED, 2, "good")]  # never a version reused
    assert fetch(client, "agent-1", {"c": 2}) == [("c", SAME, 0, "")]
    status = ok(client, "GetConfigStatus", config_name="c")
    assert (status.config_version, status.agents_current) == (2, 1)


def test_rollback_recreates_a_deleted_config_unbound(client: Client) -> None:
    ok(client, "HeartBeat", agent_id="agent-1")
    create(client, "c", "v0", description="d0")
    ok(client, "ApplyConfigToAgentGroup", group_name="default", config_name="c")
    update(client, "c", "v1")
    assert fetch(client, "agent-1") == [("c", NEW, 1, "v1")]
    ok(client, "RemoveConfigFromAgentGroup", group_name="default", config_name="c")
    ok(client, "DeleteConfig", config_name="c")  # version 2
    refused(client, "ConfigNotExist", "GetConfig", config_name="c")

    restored = ok(client, "RollbackConfig", config_name="c", to_version=0).config_detail
    assert (restored.version, restored.content, restored.description) == (3, "v0", "d0")
    assert state(client, "c") == (3, "v0", "", "d0")
    assert list(ok(client, "GetAppliedAgentGroups", config_name="c").agent_group_names) == []
    assert applied(client, "default") == []
    assert fetch(client, "agent-1", {"c": 1}) == [("c", DELETED, 0, "")]
    assert [name for name, _, _, _ in fetch(client, "agent-1")] == []
    assert history(client, "c") == [
        (3, ROLLBACK, "v0"),
        (2, DELETE, "v1"),
        (1, UPDATE, "v1"),
        (0, CREATE, "v0"),
    ]
    # Back to what it was: it can be applied again, and agents get it as new.
    ok(client, "ApplyConfigToAgentGroup", group_name="default", config_name="c")
    assert fetch(client, "agent-1") == [("c", NEW, 3, "v0")]


def test_rollback_to_an_unknown_revision_changes_nothing(client: Client) -> None:
    create(client, "c", "v0")
    update(client, "c", "v1")
    message = refused(client, "ConfigNotExist", "RollbackConfig", config_name="c", to_version=7)
    assert "7" in message and "c" in message
    refused(client, "ConfigNotExist", "RollbackConfig", config_name="c", to_version=2)  # the next, not yet
    assert "never" in refused(client, "ConfigNotExist", "RollbackConfig", config_name="never", to_version=0)
    refused(client, "ConfigNotExist", "GetConfig", config_name="never")
    refused(client, "ConfigNotExist", "ListConfigHistory", config_name="never")
    assert state(client, "c") == (1, "v1", "", "")
    assert history(client, "c") == [(1, UPDATE, "v1"), (0, CREATE, "v0")]


# 3. expected_version.


def test_a_stale_expected_version_changes_nothing(client: Client) -> None:
    create(client, "c", "v0")
    update(client, "c", "v1")
    before = get(client, "c")
    kept = revisions(client, "c")
    detail = {"config_name": "c", "content": "lost"}
    for expected in (0, 2, 9):
        conflicts = [
            refused(
                client,
                "ConfigVersionConflict",
                "UpdateConfig",
                config_detail=detail,
                expected_version=expected,
            ),
            refused(
                client, "ConfigVersionConflict", "DeleteConfig", config_name="c", expected_version=expected
            ),
            refused(
                client,
                "ConfigVersionConflict",
                "RollbackConfig",
                config_name="c",
                to_version=0,
                expected_version=expected,
            ),
        ]
        for message in conflicts:
            assert "version 1" in message, message  # the current one
    assert get(client, "c") == before
    assert revisions(client, "c") == kept


def test_the_current_expected_version_is_accepted(client: Client) -> None:
    create(client, "c", "v0")
    ok(client, "UpdateConfig", config_detail={"config_name": "c", "content": "v1"}, expected_version=0)
    ok(client, "RollbackConfig", config_name="c", to_version=0, expected_version=1)
    assert state(client, "c")[:2] == (2, "v0")
    ok(client, "DeleteConfig", config_name="c", expected_version=2)
    # A deleted config is at the version its deletion took.
    refused(
        client, "ConfigVersionConflict", "RollbackConfig", config_name="c", to_version=1, expected_version=2
    )
    ok(client, "RollbackConfig", config_name="c", to_version=1, expected_version=3)
    assert state(client, "c")[:2] == (4, "v1")
    assert [(version, action) for version, action, _ in history(client, "c")] == [
        (4, ROLLBACK),
        (3, DELETE),
        (2, ROLLBACK),
        (1, UPDATE),
        (0, CREATE),
    ]


def test_expected_version_in_json(http: HttpClient) -> None:
    """An explicit 0 is an expectation in JSON too, not a field left out."""
    create(http, "c", "v0")
    update(http, "c", "v1")
    request = make("UpdateConfig", config_detail={"config_name": "c", "content": "x"}, expected_version=0)
    reply = http.call("UpdateConfig", request, json=True)
    expect(reply, "ConfigVersionConflict")
    assert reply.status == 409 and "version 1" in reply.message
    request = make("UpdateConfig", config_detail={"config_name": "c", "content": "v2"}, expected_version=1)
    expect(http.call("UpdateConfig", request, json=True), "Accept")
    expect(
        http.call("DeleteConfig", make("DeleteConfig", config_name="c", expected_version=0), json=True),
        "ConfigVersionConflict",
    )
    assert state(http, "c")[:2] == (2, "v2")


def test_an_expected_version_on_a_missing_config(client: Client) -> None:
    detail = {"config_name": "nope", "content": "x"}
    refused(client, "ConfigNotExist", "UpdateConfig", config_detail=detail, expected_version=0)
    refused(client, "ConfigNotExist", "DeleteConfig", config_name="nope", expected_version=0)
    refused(client, "ConfigNotExist", "RollbackConfig", config_name="nope", to_version=0, expected_version=0)
    refused(client, "ConfigNotExist", "ListConfigHistory", config_name="nope")


# 4. What UpdateConfig leaves out.


def test_update_keeps_the_agent_type_and_description_it_leaves_out(client: Client) -> None:
    create(client, "c", "v0", agent_type="file", description="tails logs")
    update(client, "c", "v1")
    assert state(client, "c") == (1, "v1", "file", "tails logs")
    update(client, "c", "v2", description="")  # set: cleared
    assert state(client, "c") == (2, "v2", "file", "")
    update(client, "c", "v3", agent_type="syslog")
    assert state(client, "c") == (3, "v3", "syslog", "")
    update(client, "c", "v4", agent_type="", description="again")
    assert state(client, "c") == (4, "v4", "", "again")
    kept = [(r.version, r.config.agent_type, r.config.description) for r in revisions(client, "c")]
    assert kept == [
        (4, "", "again"),
        (3, "syslog", ""),
        (2, "file", ""),
        (1, "file", "tails logs"),
        (0, "file", "tails logs"),
    ]


def test_update_in_json_keeps_what_it_leaves_out(http: HttpClient) -> None:
    create(http, "c", "v0", agent_type="file", description="d")
    rpc = RPC_BY_NAME["UpdateConfig"]
    json = {"Content-Type": "application/json"}
    body = b'{"configDetail": {"configName": "c", "content": "v1"}}'
    reply = http.request(rpc.http_method, rpc.http_path, body, json)
    assert reply.status == 200, reply.body
    assert state(http, "c") == (1, "v1", "file", "d")
    body = b'{"configDetail": {"configName": "c", "content": "v2", "description": ""}}'
    reply = http.request(rpc.http_method, rpc.http_path, body, json)
    assert reply.status == 200, reply.body
    assert state(http, "c") == (2, "v2", "file", "")


# 5. Reasons and actors.


def test_reasons_are_kept_in_the_history(client: Client) -> None:
    create(client, "c", "v0")
    ok(client, "UpdateConfig", config_detail={"config_name": "c", "content": "v1"}, reason="more fields")
    ok(client, "DeleteConfig", config_name="c", reason="retired")
    ok(client, "RollbackConfig", config_name="c", to_version=1, reason="still needed")
    ok(client, "UpdateConfig", config_detail={"config_name": "c", "content": "v4"}, reason="ünïcödé 理由")
    kept = [(r.version, r.reason, r.actor) for r in revisions(client, "c")]
    assert kept == [
        (4, "ünïcödé 理由", "anonymous"),
        (3, "still needed", "anonymous"),
        (2, "retired", "anonymous"),
        (1, "more fields", "anonymous"),
        (0, "", "anonymous"),
    ]
    ok(client, "CreateConfig", config_detail={"config_name": "d", "content": "x"}, reason="new pipeline")
    assert [r.reason for r in revisions(client, "d")] == ["new pipeline"]


def test_a_reason_beyond_its_limit_changes_nothing(client: Client) -> None:
    create(client, "c", "v0")
    too_long = "é" * (limits.MAX_TEXT // 2 + 1)  # fewer characters than the limit, more bytes
    detail = {"config_name": "c", "content": "v1"}
    refused(client, "InvalidParameter", "UpdateConfig", config_detail=detail, reason=too_long)
    refused(client, "InvalidParameter", "DeleteConfig", config_name="c", reason=too_long)
    refused(client, "InvalidParameter", "RollbackConfig", config_name="c", to_version=0, reason=too_long)
    refused(client, "InvalidParameter", "CreateAgentGroup", agent_group={"group_name": "g"}, reason=too_long)
    assert history(client, "c") == [(0, CREATE, "v0")]
    assert [group.group_name for group in ok(client, "ListAgentGroups").agent_groups] == ["default"]
    at_limit = "é" * (limits.MAX_TEXT // 2)
    ok(client, "UpdateConfig", config_detail=detail, reason=at_limit)
    assert revisions(client, "c")[0].reason == at_limit


def test_every_user_write_records_its_reason(client: Client) -> None:
    ok(client, "HeartBeat", agent_id="agent-1")
    group = {"group_name": "g", "tags": [{"name": "env", "value": "prod"}]}
    writes: list[tuple[str, str, dict[str, Any]]] = [
        ("CreateAgentGroup", "g", {"agent_group": group}),
        ("UpdateAgentGroup", "g", {"agent_group": {**group, "description": "prod hosts"}}),
        ("CreateConfig", "c", {"config_detail": {"config_name": "c", "content": "x"}}),
        ("UpdateConfig", "c", {"config_detail": {"config_name": "c", "content": "y"}}),
        ("ApplyConfigToAgentGroup", "g/c", {"group_name": "g", "config_name": "c"}),
        ("RemoveConfigFromAgentGroup", "g/c", {"group_name": "g", "config_name": "c"}),
        ("RollbackConfig", "c", {"config_name": "c", "to_version": 0}),
        ("DeleteConfig", "c", {"config_name": "c"}),
        ("DeleteAgentGroup", "g", {"group_name": "g"}),
        ("DeleteAgent", "agent-1", {"agent_id": "agent-1"}),
    ]
    for rpc, _, fields in writes:
        ok(client, rpc, reason=f"because {rpc}", **fields)
    events = ok(client, "ListAuditEvents").events
    recorded = sorted((event.rpc, event.target, event.reason, event.actor, event.code) for event in events)
    wanted = sorted((rpc, target, f"because {rpc}", "anonymous", "Accept") for rpc, target, _ in writes)
    assert recorded == wanted
    assert [r.reason for r in revisions(client, "c")] == [
        "because DeleteConfig",
        "because RollbackConfig",
        "because UpdateConfig",
        "because CreateConfig",
    ]


# 6. Pages of ListConfigs.


def test_list_configs_pages_by_name(client: Client) -> None:
    for number in (5, 2, 7, 1, 4, 6, 3):
        create(client, f"c-{number:02d}", f"content {number}")
    every = [f"c-{number:02d}" for number in range(1, 8)]
    response = ok(client, "ListConfigs")  # page_size 0: all in one answer
    assert ([config.config_name for config in response.config_details], response.next_page_token) == (
        every,
        "",
    )
    assert all(config.content and config.update_time > 0 for config in response.config_details)
    assert config_pages(client, 3) == [every[0:3], every[3:6], every[6:]]
    assert config_pages(client, 1) == [[name] for name in every]
    assert config_pages(client, 7) == [every]  # an exact fit: its only page is the last, without a token
    assert config_pages(client, 8) == [every]
    update(client, "c-04", "changed")
    page = ok(
        client, "ListConfigs", page_size=2, page_token=ok(client, "ListConfigs", page_size=3).next_page_token
    )
    assert [(config.config_name, config.version, config.content) for config in page.config_details] == [
        ("c-04", 1, "changed"),
        ("c-05", 0, "content 5"),
    ]

    # Keyset pages: a token names where the previous page ended, whatever came and went since.
    first = ok(client, "ListConfigs", page_size=3)
    assert [config.config_name for config in first.config_details] == every[0:3] and first.next_page_token
    ok(client, "DeleteConfig", config_name="c-03")  # the last one listed
    ok(client, "DeleteConfig", config_name="c-04")  # the next one
    create(client, "c-00", "before the token")
    create(client, "c-03b", "after it")
    second = ok(client, "ListConfigs", page_size=3, page_token=first.next_page_token)
    assert [config.config_name for config in second.config_details] == ["c-03b", "c-05", "c-06"]
    third = ok(client, "ListConfigs", page_size=3, page_token=second.next_page_token)
    assert ([config.config_name for config in third.config_details], third.next_page_token) == (["c-07"], "")
    listed = [name for page_names in config_pages(client, 2) for name in page_names]
    assert listed == ["c-00", "c-01", "c-02", "c-03b", "c-05", "c-06", "c-07"]


def test_list_configs_refuses_bad_page_requests(client: Client) -> None:
    create(client, "c", "x")
    for token in ("zzz", "!!!", "YWJj=="):
        refused(client, "InvalidParameter", "ListConfigs", page_size=1, page_token=token)
    refused(client, "InvalidParameter", "ListConfigs", page_size=-1)
    refused(client, "InvalidParameter", "ListConfigs", page_size=1_000_000)
    assert config_pages(client, 1) == [["c"]]


# 7. Sizes are UTF-8 bytes.


def test_content_is_bounded_in_bytes(client: Client) -> None:
    create(client, "c", "v0")
    wide = "é" * 600_000  # 600,000 characters, 1,200,000 bytes
    assert len(wide) < limits.MAX_CONTENT < len(wide.encode())
    message = refused(
        client, "InvalidParameter", "CreateConfig", config_detail={"config_name": "w", "content": wide}
    )
    assert "content" in message and str(limits.MAX_CONTENT) in message
    refused(client, "InvalidParameter", "UpdateConfig", config_detail={"config_name": "c", "content": wide})
    refused(client, "ConfigNotExist", "GetConfig", config_name="w")
    refused(client, "ConfigNotExist", "ListConfigHistory", config_name="w")
    assert history(client, "c") == [(0, CREATE, "v0")]

    at_limit = "é" * (limits.MAX_CONTENT // 2)  # exactly 1 MiB
    update(client, "c", at_limit)
    assert state(client, "c") == (1, at_limit, "", "")
    assert revisions(client, "c")[0].config.content == at_limit


def test_names_are_bounded_in_bytes(client: Client) -> None:
    """Config names are file names (ASCII letters and digits, `_.-`); other names may be any UTF-8."""
    at_limit = "é" * (limits.MAX_NAME // 2)  # 128 characters, 256 bytes
    beyond = "é" * (limits.MAX_NAME // 2 + 1)  # 129 characters, 258 bytes
    config_at_limit, config_beyond = "c" * limits.MAX_NAME, "c" * (limits.MAX_NAME + 1)
    create(client, config_at_limit, "x")
    ok(client, "CreateAgentGroup", agent_group={"group_name": at_limit})
    ok(client, "ApplyConfigToAgentGroup", group_name=at_limit, config_name=config_at_limit)
    assert history(client, config_at_limit) == [(0, CREATE, "x")]
    for name in (beyond, config_beyond):
        refused(
            client, "InvalidParameter", "CreateConfig", config_detail={"config_name": name, "content": "x"}
        )
        refused(client, "InvalidParameter", "ListConfigHistory", config_name=name)
        refused(client, "InvalidParameter", "RollbackConfig", config_name=name, to_version=0)
    refused(client, "InvalidParameter", "CreateAgentGroup", agent_group={"group_name": beyond})
    refused(client, "InvalidParameter", "HeartBeat", agent_id=beyond)
    assert [config.config_name for config in ok(client, "ListConfigs").config_details] == [config_at_limit]
    assert [group.group_name for group in ok(client, "ListAgentGroups").agent_groups] == ["default", at_limit]


# 8. --max-answer-size.


def block(fill: str) -> str:
    return fill * BLOCK


def small_bound(store_url: str, transport: str) -> Any:
    return serving(store_url, transport, policy=FleetPolicy(max_answer_size=SMALL_BOUND))


def assert_answer_refusal(message: str, who: str) -> None:
    """The refusal names who would get the answer, its size (over the bound) and the bound."""
    assert who in message, message
    found = sizes_in(message)
    assert SMALL_BOUND in found and any(size > SMALL_BOUND for size in found), message


def test_apply_beyond_the_answer_bound_is_refused(store_url: str, transport: str) -> None:
    with small_bound(store_url, transport) as client:
        ok(
            client,
            "CreateAgentGroup",
            agent_group={"group_name": "g", "tags": [{"name": "env", "value": "prod"}]},
        )
        ok(client, "HeartBeat", agent_id="agent-1", tags={"env": "prod"})
        for name in ("a", "b", "c"):
            create(client, name, block(name))
        ok(client, "ApplyConfigToAgentGroup", group_name="default", config_name="a")
        ok(client, "ApplyConfigToAgentGroup", group_name="g", config_name="b")
        message = refused(
            client, "InvalidParameter", "ApplyConfigToAgentGroup", group_name="g", config_name="c"
        )
        assert_answer_refusal(message, "Agent group g")
        message = refused(
            client, "InvalidParameter", "ApplyConfigToAgentGroup", group_name="default", config_name="c"
        )
        assert "Agent group default" in message or "Agent agent-1" in message, message
        assert (applied(client, "default"), applied(client, "g")) == (["a"], ["b"])
        assert list(ok(client, "GetAppliedAgentGroups", config_name="c").agent_group_names) == []
        answer = ok(client, "GetConfigList", agent_id="agent-1")
        assert [(info.config_name, info.update_status) for info in answer.config_update_infos] == [
            ("a", NEW),
            ("b", NEW),
        ]
        assert answer.ByteSize() <= SMALL_BOUND
        # A group of its own still takes it: its agents get only its configs and default's.
        ok(
            client,
            "CreateAgentGroup",
            agent_group={"group_name": "h", "tags": [{"name": "env", "value": "dev"}]},
        )
        ok(client, "ApplyConfigToAgentGroup", group_name="h", config_name="c")


def test_an_agent_in_several_groups_is_counted_whole(store_url: str, transport: str) -> None:
    with small_bound(store_url, transport) as client:
        for group, tag in (("g1", "env"), ("g2", "role")):
            ok(
                client,
                "CreateAgentGroup",
                agent_group={"group_name": group, "tags": [{"name": tag, "value": "x"}]},
            )
        ok(client, "HeartBeat", agent_id="agent-both", tags={"env": "x", "role": "x"})
        for name in ("a", "b", "c"):
            create(client, name, block(name))
        ok(client, "ApplyConfigToAgentGroup", group_name="g1", config_name="a")
        ok(client, "ApplyConfigToAgentGroup", group_name="g1", config_name="b")
        # g2's own agents would get only c; the agent in both groups would get all three.
        message = refused(
            client, "InvalidParameter", "ApplyConfigToAgentGroup", group_name="g2", config_name="c"
        )
        assert_answer_refusal(message, "Agent agent-both")
        assert applied(client, "g2") == []
        assert [name for name, _, _, _ in fetch(client, "agent-both")] == ["a", "b"]


def test_update_and_rollback_beyond_the_answer_bound_are_refused(store_url: str, transport: str) -> None:
    with small_bound(store_url, transport) as client:
        create(client, "a", block("a"))
        create(client, "b", "small")
        update(client, "b", "b" * (BLOCK + 4_000))  # unbound: any size up to the content limit
        update(client, "b", "small again")
        ok(client, "ApplyConfigToAgentGroup", group_name="default", config_name="a")
        ok(client, "ApplyConfigToAgentGroup", group_name="default", config_name="b")
        ok(client, "HeartBeat", agent_id="agent-1")
        kept = revisions(client, "b")

        detail = {"config_name": "b", "content": "b" * (BLOCK + 4_000)}
        message = refused(client, "InvalidParameter", "UpdateConfig", config_detail=detail)
        assert_answer_refusal(message, "Agent group default")
        message = refused(client, "InvalidParameter", "RollbackConfig", config_name="b", to_version=1)
        assert_answer_refusal(message, "Agent group default")
        assert state(client, "b")[:2] == (2, "small again")
        assert revisions(client, "b") == kept
        assert fetch(client, "agent-1") == [("a", NEW, 0, block("a")), ("b", NEW, 2, "small again")]

        update(client, "b", block("b"))  # within the bound: two blocks
        ok(client, "RollbackConfig", config_name="b", to_version=2)
        assert state(client, "b")[:2] == (4, "small again")


def test_a_group_update_that_brings_too_much_is_refused(store_url: str, transport: str) -> None:
    with small_bound(store_url, transport) as client:
        ok(client, "CreateAgentGroup", agent_group={"group_name": "g"})  # no tags: no members yet
        ok(
            client,
            "CreateAgentGroup",
            agent_group={"group_name": "h", "tags": [{"name": "env", "value": "x"}]},
        )
        ok(client, "HeartBeat", agent_id="agent-1", tags={"env": "x"})
        for name in ("a", "b", "c"):
            create(client, name, block(name))
        ok(client, "ApplyConfigToAgentGroup", group_name="g", config_name="a")
        ok(client, "ApplyConfigToAgentGroup", group_name="g", config_name="b")
        ok(client, "ApplyConfigToAgentGroup", group_name="h", config_name="c")
        group = {"group_name": "g", "description": "now", "tags": [{"name": "env", "value": "x"}]}
        message = refused(client, "InvalidParameter", "UpdateAgentGroup", agent_group=group)
        assert_answer_refusal(message, "Agent group g")  # any agent with env=x would join g and h
        kept = ok(client, "GetAgentGroup", group_name="g").agent_group
        assert (kept.description, list(kept.tags)) == ("", [])
        assert [name for name, _, _, _ in fetch(client, "agent-1")] == ["c"]


def test_the_default_answer_bound_fits_what_grpc_clients_accept(store_url: str) -> None:
    """Three configs of the largest content fit an answer, four do not; four of a million bytes do, and a
    gRPC agent with the default 4 MiB limit receives them."""
    with running_server(store_url) as server:
        http = HttpClient(server.http_port)
        for group in ("big", "round"):
            ok(
                http,
                "CreateAgentGroup",
                agent_group={"group_name": group, "tags": [{"name": "kind", "value": group}]},
            )
        for number in range(1, 5):
            create(http, f"max-{number}", str(number) * limits.MAX_CONTENT)
            create(http, f"round-{number}", str(number) * 1_000_000)
        for number in range(1, 4):
            ok(http, "ApplyConfigToAgentGroup", group_name="big", config_name=f"max-{number}")
        message = refused(
            http, "InvalidParameter", "ApplyConfigToAgentGroup", group_name="big", config_name="max-4"
        )
        assert "Agent group big" in message and str(MAX_ANSWER_SIZE) in message, message
        assert any(size > MAX_ANSWER_SIZE for size in sizes_in(message)), message
        assert applied(http, "big") == ["max-1", "max-2", "max-3"]
        for number in range(1, 5):
            ok(http, "ApplyConfigToAgentGroup", group_name="round", config_name=f"round-{number}")

        agent = GrpcClient(server.grpc_port)
        try:
            ok(agent, "HeartBeat", agent_id="agent-round", tags={"kind": "round"})
            answer = ok(agent, "GetConfigList", agent_id="agent-round")
            assert [(info.config_name, info.update_status) for info in answer.config_update_infos] == [
                (f"round-{number}", NEW) for number in range(1, 5)
            ]
            assert answer.ByteSize() <= MAX_ANSWER_SIZE
            ok(agent, "HeartBeat", agent_id="agent-big", tags={"kind": "big"})
            answer = ok(agent, "GetConfigList", agent_id="agent-big")
            assert [info.config_name for info in answer.config_update_infos] == ["max-1", "max-2", "max-3"]
        finally:
            agent.close()


def test_concurrent_applies_stay_within_the_answer_bound(store_url: str) -> None:
    """Two applies to one group, each fitting alone but not together, sent at once: one must be refused."""
    groups = [f"g{number}" for number in range(5)]
    with running_server(store_url, policy=FleetPolicy(max_answer_size=SMALL_BOUND)) as server:
        http = HttpClient(server.http_port)
        for name in ("a", "b", "c"):
            create(http, name, block(name))
        for group in groups:
            ok(http, "CreateAgentGroup", agent_group={"group_name": group})
            ok(http, "ApplyConfigToAgentGroup", group_name=group, config_name="a")
        codes: dict[str, list[str]] = {group: [] for group in groups}
        for group in groups:
            start = threading.Barrier(2)

            def apply(group: str, config: str, start: threading.Barrier = start) -> None:
                writer = HttpClient(server.http_port)
                start.wait()
                codes[group].append(
                    call(writer, "ApplyConfigToAgentGroup", group_name=group, config_name=config).code
                )

            threads = [threading.Thread(target=apply, args=(group, config)) for config in ("b", "c")]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        over = {group: applied(http, group) for group in groups if len(applied(http, group)) > 2}
        assert over == {}, f"answers over the bound: {over}, codes {codes}"
        assert all(sorted(found) == ["Accept", "InvalidParameter"] for found in codes.values()), codes


def test_an_agent_yet_to_register_joins_every_group_of_its_tag(store_url: str) -> None:
    """Groups g1 and g2 share the tag env=x: an agent with env=x gets both groups' configs, so applying a
    config to g2 counts g1's, though no agent has registered yet."""
    with running_server(store_url, policy=FleetPolicy(max_answer_size=SMALL_BOUND)) as server:
        http = HttpClient(server.http_port)
        for name in ("a", "b", "c"):
            create(http, name, block(name))
        for group in ("g1", "g2"):
            ok(
                http,
                "CreateAgentGroup",
                agent_group={"group_name": group, "tags": [{"name": "env", "value": "x"}]},
            )
        ok(http, "ApplyConfigToAgentGroup", group_name="g1", config_name="a")
        ok(http, "ApplyConfigToAgentGroup", group_name="g1", config_name="b")
        reply = http.call(
            "ApplyConfigToAgentGroup", make("ApplyConfigToAgentGroup", group_name="g2", config_name="c")
        )
        expect(reply, "InvalidParameter")
        assert "Agent group g2" in reply.message
