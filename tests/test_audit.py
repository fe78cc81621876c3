"""Named User API tokens with roles, and the audit trail of User API writes, on real servers (both
transports, both stores) and on the fleet domain with the clock moved by hand.

- Token files: `NAME ROLE TOKEN` lines load; a single bare token is the editor `user`; a bad file (unknown
  role, wrong field count, duplicate name or token, empty) is refused at start with a message naming the
  line and never the token, by `settings_from` and by the `configserver` command (exit 1).
- Roles: a viewer calls every User API read (ListAuditEvents included) and no write (PermissionDenied,
  403 / PERMISSION_DENIED, nothing changed); an editor writes; a missing or wrong token is
  Unauthenticated (401 / UNAUTHENTICATED).
- Audit events: every User API write that reaches authentication is one event (actor, peer, rpc,
  target, code, reason), accepted or refused; reads and Agent API calls are not; events never hold
  content nor a token; newest first; the since, actor and target filters; pages that list each event
  once; a page_token this server did not give is InvalidParameter.
- Where events are written: an accepted write's event in the write's own transaction (in the store at
  once; no event, no write), a refused write's with the next batch, which ListAuditEvents and the stop
  write first.
- Retention: events older than `audit_retention_seconds` are pruned by the sweep (clock moved by hand).
- The refused-event buffer: bounded, drops beyond the bound and counts them, puts a failed batch back in
  order and within the bound.

The last tests pin four bugs these tests found: a viewer's refused write named nothing, a refused write's
target was unbounded, a NUL stopped the audit trail on PostgreSQL, and a token in the role column was
echoed in the start error.
"""

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from google.protobuf.message import Message

from configserver.proto import user_pb2
from configserverd.app import Runtime, start_runtime
from configserverd.flags import settings_from
from configserverd.settings import Settings
from core import limits
from core.audit import MAX_PENDING, AuditBuffer
from core.model import AgentGroup, AuditEvent, Caller, Config, FleetPolicy
from core.runtime.lifeline import Lifeline
from core.runtime.observer import NoObserver
from core.store.backends import open_store
from grpc_service.status import CODE_METADATA_KEY
from pipeline.auth import parse_user_tokens
from pipeline.rpcs import RPCS, Api
from tests.clock import ManualClock
from tests.domain import OPERATOR
from tests.stores import Backend
from tests.support import (
    RPC_BY_NAME,
    Client,
    GrpcClient,
    HttpClient,
    Reply,
    ServerProcess,
    ServerThread,
    expect,
    make,
    parse_flags,
    running_server,
)

ALICE, BOB, WRONG = "alice-token-6d1f0c", "bob-token-93ab7e", "wrong-token-0c55e1"
TOKEN_FILE = f"# the operators\nalice editor {ALICE}\n\nbob viewer {BOB}\n"
CONTENT = "content-never-audited-4e2a"
LOOPBACK = "127.0.0.1"
HOUR = 3600.0
"""The batch interval of the servers here: no periodic batch runs during a test, so what writes a refused
write's event is the read (or the stop) the test makes."""

USER_READS = {rpc.name for rpc in RPCS if rpc.api is Api.USER and not rpc.writes}
USER_WRITES = {rpc.name for rpc in RPCS if rpc.api is Api.USER and rpc.writes}

READS: dict[str, dict[str, Any]] = {
    "GetAgentGroup": {"group_name": "g1"},
    "ListAgentGroups": {},
    "GetConfig": {"config_name": "c1"},
    "ListConfigs": {},
    "GetAppliedConfigsForAgentGroup": {"group_name": "g1"},
    "GetAppliedAgentGroups": {"config_name": "c1"},
    "ListAgents": {"group_name": "default"},
    "GetConfigStatus": {"config_name": "c1"},
    "ListAlarms": {},
    "ListConfigHistory": {"config_name": "c1"},
    "ListAuditEvents": {},
    "WhoAmI": {},
    "PreviewAgentGroup": {"agent_group": {"group_name": "g1"}},
    "GetFleetSummary": {},
}
"""Every User API read, with a request that is accepted once `seed` ran."""

WRITES: list[tuple[str, dict[str, Any], str]] = [
    ("CreateAgentGroup", {"agent_group": {"group_name": "g2"}, "reason": "w1"}, "g2"),
    ("UpdateAgentGroup", {"agent_group": {"group_name": "g1", "description": "d"}, "reason": "w2"}, "g1"),
    ("CreateConfig", {"config_detail": {"config_name": "c2", "content": CONTENT}, "reason": "w3"}, "c2"),
    ("UpdateConfig", {"config_detail": {"config_name": "c1", "content": CONTENT}, "reason": "w4"}, "c1"),
    ("RollbackConfig", {"config_name": "c1", "to_version": 0, "reason": "w5"}, "c1"),
    ("ApplyConfigToAgentGroup", {"group_name": "g2", "config_name": "c2", "reason": "w6"}, "g2/c2"),
    ("RemoveConfigFromAgentGroup", {"group_name": "g2", "config_name": "c2", "reason": "w7"}, "g2/c2"),
    ("DeleteConfig", {"config_name": "c2", "reason": "w8"}, "c2"),
    ("DeleteAgentGroup", {"group_name": "g2", "reason": "w9"}, "g2"),
    ("DeleteAgent", {"agent_id": "a1", "reason": "w10"}, "a1"),
]
"""Every User API write, each accepted in this order once `seed` ran; with the target its event names."""


class Team:
    """A server holding alice's (editor) and bob's (viewer) tokens, called over one transport with any
    token (None: no Authorization at all)."""

    def __init__(self, server: ServerThread, transport: str) -> None:
        self.server = server
        self.transport = transport
        self._http = HttpClient(server.http_port)
        self._grpc = GrpcClient(server.grpc_port) if transport == "grpc" else None

    def call(self, name: str, token: str | None, **fields: Any) -> Reply:
        rpc = RPC_BY_NAME[name]
        request = make(name, **fields)
        if self._grpc is None:
            headers = {"Content-Type": "application/x-protobuf"}
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            reply = self._http.request(rpc.http_method, rpc.http_path, request.SerializeToString(), headers)
            return HttpClient.decode(rpc, reply)
        method = self._grpc.channel.unary_unary(
            rpc.grpc_path,
            request_serializer=rpc.request.SerializeToString,
            response_deserializer=rpc.response.FromString,
        )
        metadata = () if token is None else (("authorization", f"Bearer {token}"),)
        try:
            response = self._grpc.invoke(method, request, metadata=metadata)
        except grpc.aio.AioRpcError as error:
            trailing: dict[str, Any] = dict(error.trailing_metadata() or ())  # type: ignore[arg-type]
            return Reply(str(trailing.get(CODE_METADATA_KEY, "")), error.details() or "", None, error.code())
        return Reply(response.code, response.message, response, grpc.StatusCode.OK)

    def events(self, token: str | None = BOB, **fields: Any) -> list[user_pb2.AuditEvent]:
        """One page of ListAuditEvents (page_size 0: up to 100)."""
        answer: user_pb2.ListAuditEventsResponse = expect(
            self.call("ListAuditEvents", token, **fields), "Accept"
        )
        return list(answer.events)

    def close(self) -> None:
        if self._grpc is not None:
            self._grpc.close()


@pytest.fixture(params=["http", "grpc"])
def team(request: pytest.FixtureRequest, store: Backend) -> Iterator[Team]:
    with running_server(store.url, user_token=TOKEN_FILE, flush_interval=HOUR) as server:
        team = Team(server, request.param)
        try:
            yield team
        finally:
            team.close()


def seed(team: Team) -> None:
    """Group g1 with config c1 applied (by alice), and agent a1."""
    expect(team.call("CreateAgentGroup", ALICE, agent_group={"group_name": "g1"}, reason="s1"), "Accept")
    config = {"config_name": "c1", "content": CONTENT}
    expect(team.call("CreateConfig", ALICE, config_detail=config, reason="s2"), "Accept")
    expect(team.call("ApplyConfigToAgentGroup", ALICE, group_name="g1", config_name="c1"), "Accept")
    expect(team.call("HeartBeat", None, agent_id="a1"), "Accept")  # the Agent API has no token here


SEED_EVENTS = [
    ("alice", "CreateAgentGroup", "g1", "Accept", "s1"),
    ("alice", "CreateConfig", "c1", "Accept", "s2"),
    ("alice", "ApplyConfigToAgentGroup", "g1/c1", "Accept", ""),
]


def snapshot(team: Team) -> list[bytes]:
    """What the fleet holds, as alice reads it."""
    reads: list[tuple[str, dict[str, Any]]] = [
        ("ListAgentGroups", {}),
        ("ListConfigs", {}),
        ("GetAppliedConfigsForAgentGroup", {"group_name": "g1"}),
        ("GetAppliedAgentGroups", {"config_name": "c1"}),
        ("ListConfigHistory", {"config_name": "c1"}),
    ]
    held = [
        expect(team.call(name, ALICE, **request), "Accept").SerializeToString(deterministic=True)
        for name, request in reads
    ]
    agents = expect(team.call("ListAgents", ALICE, group_name="default"), "Accept").agents
    return [*held, ",".join(agent.agent_id for agent in agents).encode()]


def fields(event: user_pb2.AuditEvent) -> tuple[str, str, str, str, str]:
    return (event.actor, event.rpc, event.target, event.code, event.reason)


def serialized(message: Message) -> bytes:
    return message.SerializeToString() + json_format.MessageToJson(message).encode()


# Token files.


def test_the_tables_here_cover_every_user_rpc() -> None:
    assert set(READS) == USER_READS
    assert {name for name, _, _ in WRITES} == USER_WRITES


def settings_for_file(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "user.tokens"
    path.write_text(text)
    return settings_from(parse_flags("--user-token-file", str(path)))


def test_a_token_file_names_tokens_and_their_roles(tmp_path: Path) -> None:
    settings = settings_for_file(tmp_path, TOKEN_FILE)
    assert settings.user_token is not None
    tokens = parse_user_tokens(settings.user_token, "test")
    assert [(token.name, token.role.value, token.secret) for token in tokens] == [
        ("alice", "editor", ALICE.encode()),
        ("bob", "viewer", BOB.encode()),
    ]
    (alone,) = parse_user_tokens(settings_for_file(tmp_path, f"# one\n\n  {ALICE}  \n").user_token or "", "t")
    assert (alone.name, alone.role.value, alone.secret) == ("user", "editor", ALICE.encode())


BAD_TOKEN_FILES = {
    "unknown role": ("alice editor S3CRET-A\nbob admin S3CRET-B\n", 2),
    "two fields": ("alice editor S3CRET-A\nbob S3CRET-B\n", 2),
    "four fields": ("alice editor S3CRET-A extra\n", 1),
    "two fields alone": ("alice S3CRET-A\n", 1),
    "a bare token among named ones": ("alice editor S3CRET-A\nS3CRET-B\n", 2),
    "duplicate name": ("alice editor S3CRET-A\n# x\nalice viewer S3CRET-B\n", 3),
    "duplicate token": ("alice editor S3CRET-A\nbob viewer S3CRET-A\n", 2),
}


@pytest.mark.parametrize("case", sorted(BAD_TOKEN_FILES))
def test_a_bad_token_file_is_refused_naming_the_line_not_the_token(tmp_path: Path, case: str) -> None:
    text, line = BAD_TOKEN_FILES[case]
    with pytest.raises(ValueError) as refused:
        settings_for_file(tmp_path, text)
    message = str(refused.value)
    assert f"line {line}" in message and str(tmp_path / "user.tokens") in message, message
    assert "S3CRET" not in message


@pytest.mark.parametrize("text", ["", "  \n\n", "# only a comment\n\n"])
def test_an_empty_token_file_is_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ValueError, match=r"user\.tokens"):
        settings_for_file(tmp_path, text)


def test_a_token_in_the_role_column_is_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as refused:
        settings_for_file(tmp_path, "alice S3CRET-A editor\n")
    assert "line 1" in str(refused.value)
    assert "S3CRET" not in str(refused.value)


def test_the_command_refuses_a_bad_token_file(tmp_path: Path) -> None:
    path = tmp_path / "user.tokens"
    path.write_text("alice editor S3CRET-A\nbob viewer S3CRET-A\n")
    with ServerProcess(f"sqlite:///{tmp_path / 'store.db'}", "--user-token-file", str(path)) as server:
        code, log = server.run_to_exit()
    assert code == 1
    assert '"event": "cannot start"' in log and "line 2" in log, log
    assert "S3CRET" not in log


# Roles.


def test_a_viewer_reads_everything_and_writes_nothing_an_editor_writes(team: Team) -> None:
    seed(team)
    for name, request in READS.items():
        expect(team.call(name, BOB, **request), "Accept")
    before = snapshot(team)
    for name, request, _ in WRITES:
        reply = team.call(name, BOB, **request)
        expect(reply, "PermissionDenied")
        assert reply.status in (403, grpc.StatusCode.PERMISSION_DENIED)
        assert "bob" in reply.message and BOB not in reply.message
    assert snapshot(team) == before, "a viewer's writes changed nothing"
    for name, request, _ in WRITES:
        expect(team.call(name, ALICE, **request), "Accept")
    assert snapshot(team) != before

    bobs = team.events(actor="bob")
    assert [(event.rpc, event.code) for event in bobs] == [
        (name, "PermissionDenied") for name, _, _ in reversed(WRITES)
    ]
    alices = team.events(actor="alice")
    expected = [
        *SEED_EVENTS,
        *(("alice", name, target, "Accept", r["reason"]) for name, r, target in WRITES),
    ]
    assert [fields(event) for event in alices] == expected[::-1]
    everything = team.events()
    assert {event.rpc for event in everything} <= USER_WRITES, "reads are not audited"
    assert len(everything) == len(bobs) + len(alices)


def test_a_missing_or_wrong_token_is_unauthenticated(team: Team) -> None:
    seed(team)
    for token in (None, "", WRONG, ALICE + "x", ALICE[:-1]):
        for name, request in (("ListConfigs", {}), ("CreateConfig", WRITES[2][1])):
            reply = team.call(name, token, **request)
            expect(reply, "Unauthenticated")
            assert reply.status in (401, grpc.StatusCode.UNAUTHENTICATED)
    expect(team.call("GetConfig", ALICE, config_name="c2"), "ConfigNotExist")
    strangers = team.events(actor="unauthenticated")
    assert [fields(event) for event in strangers] == [
        ("unauthenticated", "CreateConfig", "", "Unauthenticated", "")
    ] * 5, "a stranger's body is not read: no target, no reason; reads are not audited"
    assert all(event.peer == LOOPBACK for event in strangers)


def test_a_single_bare_token_is_the_editor_named_user(store: Backend, tmp_path: Path) -> None:
    settings = settings_for_file(tmp_path, f"{ALICE}\n")
    with running_server(store.url, user_token=settings.user_token) as server:
        http = HttpClient(server.http_port)
        team = Team(server, "http")
        expect(team.call("CreateConfig", ALICE, config_detail={"config_name": "c", "content": "x"}), "Accept")
        expect(team.call("GetConfig", ALICE, config_name="c"), "Accept")
        assert http.call("GetConfig", make("GetConfig", config_name="c")).code == "Unauthenticated"
        (event,) = team.events(ALICE)
        assert (event.actor, event.rpc, event.target, event.code) == ("user", "CreateConfig", "c", "Accept")


# What an event says.


def test_every_user_write_is_an_event_reads_are_not(team: Team) -> None:
    start = int(time.time())
    expect(team.call("CreateAgentGroup", ALICE, agent_group={"group_name": "g1"}, reason="why-g1"), "Accept")
    config = {"config_name": "c1", "content": CONTENT, "description": "d"}
    expect(team.call("CreateConfig", ALICE, config_detail=config, reason="why-c1"), "Accept")
    expect(team.call("GetConfig", ALICE, config_name="c1"), "Accept")
    expect(
        team.call("ApplyConfigToAgentGroup", ALICE, group_name="g1", config_name="c1", reason="bind"),
        "Accept",
    )
    expect(team.call("DeleteConfig", ALICE, config_name="missing", reason="oops"), "ConfigNotExist")
    other = {"config_name": "c2", "content": CONTENT}
    expect(team.call("CreateConfig", BOB, config_detail=other, reason="bob-why"), "PermissionDenied")
    expect(team.call("UpdateConfig", None, config_detail=config, reason="stranger"), "Unauthenticated")
    expect(team.call("CreateConfig", WRONG, config_detail=other, reason="stranger"), "Unauthenticated")
    reason = "unbind"
    expect(
        team.call("RemoveConfigFromAgentGroup", ALICE, group_name="g1", config_name="c1", reason=reason),
        "Accept",
    )
    expect(team.call("GetAgentGroup", BOB, group_name="nope"), "AgentGroupNotExist")  # a refused read
    expect(team.call("ListConfigs", None), "Unauthenticated")  # a stranger's read
    expect(team.call("HeartBeat", None, agent_id="a1"), "Accept")  # the Agent API
    expect(team.call("Alarm", None, agent_id="a1", type="t", detail="d"), "Accept")

    events = team.events()
    end = int(time.time())
    assert all(event.peer == LOOPBACK for event in events)
    assert all(start <= event.time <= end for event in events)
    assert [event.time for event in events] == sorted((event.time for event in events), reverse=True)
    accepted = [fields(event) for event in events if event.code == "Accept"]
    assert accepted == [
        ("alice", "RemoveConfigFromAgentGroup", "g1/c1", "Accept", "unbind"),
        ("alice", "ApplyConfigToAgentGroup", "g1/c1", "Accept", "bind"),
        ("alice", "CreateConfig", "c1", "Accept", "why-c1"),
        ("alice", "CreateAgentGroup", "g1", "Accept", "why-g1"),
    ], "newest first"
    refused = [event for event in events if event.code != "Accept"]
    assert [(event.actor, event.rpc, event.code) for event in refused] == [
        ("unauthenticated", "CreateConfig", "Unauthenticated"),
        ("unauthenticated", "UpdateConfig", "Unauthenticated"),
        ("bob", "CreateConfig", "PermissionDenied"),
        ("alice", "DeleteConfig", "ConfigNotExist"),
    ], "newest first"
    assert [(event.target, event.reason) for event in refused if event.actor != "bob"] == [
        ("", ""),
        ("", ""),
        ("missing", "oops"),
    ]
    assert len(events) == 8, "reads, refused reads and Agent API calls are not audited"

    answers = [team.call("ListAuditEvents", BOB, page_size=size) for size in (0, 1, 3)]
    answers.append(team.call("ListAuditEvents", ALICE, target="c1"))
    for answer in answers:
        blob = serialized(expect(answer, "Accept"))
        for secret in (CONTENT, ALICE, BOB, WRONG):
            assert secret.encode() not in blob, "events hold neither content nor a token"


def test_without_tokens_the_actor_is_anonymous(client: Client) -> None:
    request = make("CreateConfig", config_detail={"config_name": "c", "content": CONTENT}, reason="r")
    expect(client.call("CreateConfig", request), "Accept")
    expect(client.call("CreateConfig", request), "ConfigAlreadyExist")
    answer = expect(client.call("ListAuditEvents", make("ListAuditEvents")), "Accept")
    assert [(event.actor, event.peer, event.rpc, event.target, event.code) for event in answer.events] == [
        ("anonymous", LOOPBACK, "CreateConfig", "c", "ConfigAlreadyExist"),
        ("anonymous", LOOPBACK, "CreateConfig", "c", "Accept"),
    ], "a refused write's event is written after the accepted one before it"
    assert {(event.actor, event.peer, event.target, event.reason) for event in answer.events} == {
        ("anonymous", LOOPBACK, "c", "r")
    }


def test_filters_and_pages(team: Team) -> None:
    for group in ("g1", "xg1", "p%"):  # config names are file names: "%" only in a group's
        expect(team.call("CreateAgentGroup", ALICE, agent_group={"group_name": group}), "Accept")
    for name in ("c1", "c10", "c_1", "cx1", "pq"):
        expect(
            team.call("CreateConfig", ALICE, config_detail={"config_name": name, "content": "x"}), "Accept"
        )
    for group, name in (("g1", "c1"), ("g1", "c10"), ("g1", "c_1"), ("g1", "cx1"), ("xg1", "c1")):
        expect(team.call("ApplyConfigToAgentGroup", ALICE, group_name=group, config_name=name), "Accept")
    expect(team.call("DeleteConfig", ALICE, config_name="c1", expected_version=7), "ConfigVersionConflict")
    expect(team.call("DeleteConfig", BOB, config_name="pq"), "PermissionDenied")
    expect(team.call("DeleteConfig", WRONG, config_name="c1"), "Unauthenticated")  # no target: not read

    def targets(**filters: Any) -> list[str]:
        return sorted(event.target for event in team.events(**filters))

    assert targets(target="c1") == ["c1", "c1", "g1/c1", "xg1/c1"], "the name, and either side of a binding"
    assert targets(target="g1") == ["g1", "g1/c1", "g1/c10", "g1/c_1", "g1/cx1"]
    assert targets(target="c_1") == ["c_1", "g1/c_1"], "_ is no wildcard"
    assert targets(target="p%") == ["p%"], "% is no wildcard"
    assert targets(target="c") == targets(target="nothing") == []
    assert [(event.rpc, event.code) for event in team.events(actor="alice", target="c1")] == [
        ("DeleteConfig", "ConfigVersionConflict"),
        ("ApplyConfigToAgentGroup", "Accept"),
        ("ApplyConfigToAgentGroup", "Accept"),
        ("CreateConfig", "Accept"),
    ], "newest first (the refused one is written with the batch, after the accepted ones)"
    assert [event.code for event in team.events(actor="bob")] == ["PermissionDenied"]
    assert [event.code for event in team.events(actor="unauthenticated")] == ["Unauthenticated"]
    assert team.events(actor="nobody") == []

    everything = team.events()
    assert len(everything) == 16
    newest = max(event.time for event in everything)
    assert team.events(since=newest + 1) == []
    assert team.events(since=min(event.time for event in everything)) == everything
    assert [fields(event) for event in team.events(since=newest)] == [
        fields(event) for event in everything if event.time == newest
    ]

    for size, filters in ((3, {}), (1, {}), (16, {}), (2, {"target": "c1"}), (1, {"actor": "alice"})):
        listed, token, pages = [], "", 0
        while True:
            answer = expect(
                team.call("ListAuditEvents", BOB, page_size=size, page_token=token, **filters), "Accept"
            )
            assert len(answer.events) <= size
            listed.extend(answer.events)
            token, pages = answer.next_page_token, pages + 1
            if not token:
                break
        assert listed == team.events(**filters), f"each event once, in order: page_size {size}, {filters}"
        assert pages == max(1, -(-len(listed) // size)), "the last page has no next_page_token"

    def encoded(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).decode()

    for token in ("not a token", "Zm9v", encoded("12:ab"), encoded(":"), encoded("x:1"), "==", "%%%"):
        expect(team.call("ListAuditEvents", BOB, page_token=token), "InvalidParameter")
    for size in (-1, 10_001):
        expect(team.call("ListAuditEvents", BOB, page_size=size), "InvalidParameter")
    assert len(team.events()) == 16, "refused reads are not audited"


# Where events are written.


def test_an_accepted_write_is_audited_in_its_own_transaction_a_refused_one_in_the_next_batch(
    store: Backend,
) -> None:
    def stored() -> list[tuple[Any, ...]]:
        return store.query("SELECT actor, peer, rpc, target, code, reason FROM audit_events ORDER BY id")

    created = ("alice", LOOPBACK, "CreateConfig", "c1", "Accept", "r")
    refused = ("alice", LOOPBACK, "DeleteConfig", "missing", "ConfigNotExist", "")
    with running_server(store.url, user_token=TOKEN_FILE, flush_interval=HOUR) as server:
        team = Team(server, "http")
        config = {"config_name": "c1", "content": CONTENT}
        expect(team.call("CreateConfig", ALICE, config_detail=config, reason="r"), "Accept")
        assert stored() == [created], "in the store as soon as the write is answered"
        expect(team.call("DeleteConfig", ALICE, config_name="missing"), "ConfigNotExist")
        assert stored() == [created], "a refused write's event waits for the next batch"
        assert fields(team.events()[0]) == ("alice", "DeleteConfig", "missing", "ConfigNotExist", "")
        assert stored() == [created, refused], "ListAuditEvents wrote the pending events first"
        expect(team.call("DeleteConfig", ALICE, config_name="gone", reason="at stop"), "ConfigNotExist")
    assert stored()[-1] == ("alice", LOOPBACK, "DeleteConfig", "gone", "ConfigNotExist", "at stop"), (
        "the stop writes the last batch"
    )


def test_a_write_whose_event_cannot_be_stored_is_not_made(store: Backend) -> None:
    with running_server(store.url, user_token=TOKEN_FILE, flush_interval=HOUR) as server:
        team = Team(server, "http")
        with store.failing_writes("audit_events"):
            config = {"config_name": "c1", "content": CONTENT}
            expect(team.call("CreateConfig", ALICE, config_detail=config, reason="r"), "InternalServerError")
        expect(team.call("GetConfig", ALICE, config_name="c1"), "ConfigNotExist")
        assert store.query("SELECT count(*) FROM configs")[0][0] == 0
        assert [fields(event) for event in team.events()] == [
            ("alice", "CreateConfig", "c1", "InternalServerError", "r")
        ], "the write is audited as refused, never as accepted"


# Bugs found on the way.


def test_a_viewers_refused_write_names_its_target_and_reason(team: Team) -> None:
    request = {"config_detail": {"config_name": "c2", "content": "x"}, "reason": "bob-why"}
    expect(team.call("CreateConfig", BOB, **request), "PermissionDenied")
    (event,) = team.events()
    assert fields(event) == ("bob", "CreateConfig", "c2", "PermissionDenied", "bob-why")


def test_a_refused_writes_target_is_bounded(store: Backend) -> None:
    with running_server(store.url, flush_interval=HOUR) as server:
        team = Team(server, "http")
        config = {"config_name": "n" * 100_000, "content": "x"}
        expect(
            team.call("CreateConfig", None, config_detail=config, reason="r" * 100_000), "InvalidParameter"
        )
        (event,) = team.events(None)
        assert len(event.reason) <= limits.MAX_TEXT
        assert len(event.target) <= limits.MAX_TEXT


def test_a_nul_in_a_refused_write_does_not_stop_the_audit_trail(
    store: Backend,
) -> None:
    """PostgreSQL text cannot hold NUL: an event naming one would fail every batch after it."""
    with running_server(store.url, flush_interval=HOUR) as server:
        team = Team(server, "http")
        config = {"config_name": "bad\x00name", "content": "x"}
        expect(team.call("CreateConfig", None, config_detail=config), "InvalidParameter")
        expect(team.call("CreateConfig", None, config_detail={"config_name": "ok", "content": "x"}), "Accept")
        listed = team.events(None)
        assert sorted((event.rpc, event.code) for event in listed) == [
            ("CreateConfig", "Accept"),
            ("CreateConfig", "InvalidParameter"),
        ]
        assert (
            server.server is not None
            and server.server.runtime is not None
            and server.server.runtime.health.ok
        )


# Retention and the fleet domain, with the clock moved by hand.

START = 1_800_000_000
DAY = 86400.0
EDITOR = Caller("alice", LOOPBACK, "")


@asynccontextmanager
async def runtime(url: str, clock: ManualClock, policy: FleetPolicy) -> AsyncIterator[Runtime]:
    async with AsyncExitStack() as stack:
        settings = Settings(store_url=url, policy=policy)
        yield await start_runtime(stack, open_store(url), clock, NoObserver(), Lifeline(), settings)


def run(body: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(body())


def as_(rpc: str) -> Caller:
    return Caller(EDITOR.actor, EDITOR.peer, rpc)


def test_old_audit_events_are_pruned_by_the_sweep(store: Backend) -> None:
    clock = ManualClock(START)

    async def body() -> list[AuditEvent]:
        async with runtime(store.url, clock, FleetPolicy(audit_retention_seconds=DAY)) as started:
            await started.commands.create_group(AgentGroup("old-group"), as_("CreateAgentGroup"), "old")
            started.commands.refused(as_("DeleteConfig"), "old-missing", "ConfigNotExist", "old refused")
            await started.batcher.flush()
            clock.shift_wall(START + 1)
            await started.commands.create_config(
                Config("edge", content=CONTENT), as_("CreateConfig"), "at the cutoff"
            )
            clock.shift_wall(START + DAY - 1)
            await started.commands.create_config(Config("new", content=CONTENT), as_("CreateConfig"), "new")
            started.commands.refused(as_("DeleteConfig"), "new-missing", "ConfigNotExist", "new refused")
            await started.batcher.flush()
            assert store.query("SELECT count(*) FROM audit_events")[0][0] == 5
            clock.shift_wall(START + DAY + 1)
            await started.retention.sweep()
            return (await started.queries.audit_events(0, "", "", 0, "", OPERATOR)).items

    events = run(body)
    assert [event.time for event in events] == [START + DAY - 1, START + DAY - 1, START + 1]
    assert {event.target for event in events} == {"new", "new-missing", "edge"}
    assert sorted(row[0] for row in store.query("SELECT target FROM audit_events")) == [
        "edge",
        "new",
        "new-missing",
    ]


def test_since_order_and_pages_with_the_clock_moved_by_hand(store: Backend) -> None:
    clock = ManualClock(START)

    async def body() -> None:
        async with runtime(store.url, clock, FleetPolicy()) as started:
            for at, name in ((START, "a"), (START + 10, "b"), (START + 10, "c"), (START + 20, "d")):
                clock.shift_wall(at)
                await started.commands.create_config(
                    Config(name, content="x"), as_("CreateConfig"), f"why {name}"
                )
            listed = (await started.queries.audit_events(0, "", "", 0, "", OPERATOR)).items
            assert [(event.time, event.target) for event in listed] == [
                (START + 20, "d"),
                (START + 10, "c"),
                (START + 10, "b"),
                (START, "a"),
            ]
            assert [
                event.target
                for event in (await started.queries.audit_events(START + 10, "", "", 0, "", OPERATOR)).items
            ] == [
                "d",
                "c",
                "b",
            ]
            assert (await started.queries.audit_events(START + 21, "", "", 0, "", OPERATOR)).items == []
            paged: list[str] = []
            token = ""
            while True:
                page = await started.queries.audit_events(START + 10, "alice", "", 1, token, OPERATOR)
                paged.extend(event.target for event in page.items)
                token = page.next_token
                if not token:
                    break
            assert paged == ["d", "c", "b"]

    run(body)


def test_a_flood_of_refused_writes_keeps_at_most_the_bound(store: Backend) -> None:
    clock = ManualClock(START)

    async def body() -> None:
        async with runtime(store.url, clock, FleetPolicy()) as started:
            for index in range(MAX_PENDING + 5):
                started.commands.refused(
                    Caller("unauthenticated", LOOPBACK, "CreateConfig"), f"t{index}", "X", ""
                )
            await started.batcher.flush()

    run(body)
    count, first, last = store.query("SELECT count(*), min(id), max(id) FROM audit_events")[0]
    assert count == MAX_PENDING
    assert store.query("SELECT target FROM audit_events WHERE id IN (?, ?) ORDER BY id", (first, last)) == [
        ("t0",),
        (f"t{MAX_PENDING - 1}",),
    ], "the newest are dropped, the first kept in order"


# The refused-event buffer.


def event(index: int) -> AuditEvent:
    return AuditEvent(START + index, "bob", LOOPBACK, "CreateConfig", f"t{index}", "PermissionDenied", "")


def targets_of(events: list[AuditEvent]) -> list[str]:
    return [event.target for event in events]


def test_the_buffer_drops_beyond_its_bound_and_counts() -> None:
    buffer = AuditBuffer(total=3)
    for index in range(5):
        buffer.add(event(index))
    assert buffer.dropped == 2
    assert targets_of(buffer.take()) == ["t0", "t1", "t2"]
    assert buffer.take() == []
    buffer.add(event(5))
    assert targets_of(buffer.take()) == ["t5"]
    assert buffer.dropped == 2


def test_a_failed_batch_is_put_back_in_order_within_the_bound() -> None:
    buffer = AuditBuffer(total=4)
    for index in range(3):
        buffer.add(event(index))
    batch = buffer.take()
    buffer.add(event(3))
    buffer.put_back(batch)
    assert buffer.dropped == 0
    assert targets_of(buffer.take()) == ["t0", "t1", "t2", "t3"], "the failed batch first, then what came"

    for index in range(4):
        buffer.add(event(index))
    batch = buffer.take()
    buffer.add(event(4))
    buffer.add(event(5))
    buffer.put_back(batch)
    assert buffer.dropped == 2
    assert targets_of(buffer.take()) == ["t0", "t1", "t2", "t3"], "within the bound: the newest dropped"
    buffer.put_back([])
    assert buffer.take() == []
