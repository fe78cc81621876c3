"""No lost update: read-modify-write through three servers on one store, guarded by expected_version.

Writers append their own tokens to one config holding a JSON list, each append a loop of GetConfig
through a randomly chosen server, then UpdateConfig (through another random one) with
expected_version = the version read; on ConfigVersionConflict (HTTP 409) they read again and retry.
The servers share one store (a SQLite file, a PostgreSQL schema). Afterwards:
- the final list holds every acknowledged append exactly once, each writer's in its order, and the final
  version is the initial one plus the number of accepted updates;
- accepted updates were made on distinct versions (two accepted on one version is a lost update), and
  in real-time order: one acknowledged before another started has the lower version;
- every 409 names a version that was current while it was being answered, above the one expected;
- ListConfigHistory shows the CREATE and then one UPDATE per accepted update, at consecutive versions,
  each revision's list the previous one plus exactly the token of the update made on it;
- stale UpdateConfig, DeleteConfig and RollbackConfig are refused and change nothing.

Why it would fail without the in-transaction check (`rules.check_expected_version` inside the store's
write transaction, on the row `_locked_config` locks): a check made before the transaction, or on a
server's own view of the config, lets two writers that read version v both pass it and both commit; the
second overwrites the first's list, whose token is then missing from the final content and from the
next revision, and two accepted updates share an expected version.

Without expected_version the same loop loses appends whenever two writers interleave (last writer wins):
26 to 29 of 45 in the runs made while writing this test. That is not asserted (it depends on timing), so
it is not a test.
"""

import itertools
import json
import random
import re
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest

from tests.stores import Backend
from tests.support import HttpClient, expect, make
from tests.test_read_your_writes import read, read_code, three_servers
from tests.test_scale_out import eventually

WRITERS = 3
APPENDS = 15
MAX_ATTEMPTS = 200  # per append; a bound on starvation, far above what three writers need
HISTORY_PAGE = 7  # small, so that the history is read over several pages
CONFLICT = "ConfigVersionConflict"
NAMED_VERSIONS = re.compile(r"\bat version (\d+), not (\d+)\b")


@dataclass(frozen=True)
class Accepted:
    writer: int
    seq: int
    token: str
    expected: int  # the version it was made on; it made version expected + 1
    start: float
    end: float


@dataclass(frozen=True)
class Conflict:
    writer: int
    expected: int
    message: str
    start: float
    end: float


@dataclass
class History:
    accepted: list[Accepted] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)


def update(client: HttpClient, content: str, reason: str, expected: int | None) -> Any:
    fields: dict[str, Any] = {"config_detail": {"config_name": "c", "content": content}, "reason": reason}
    if expected is not None:
        fields["expected_version"] = expected
    return client.call("UpdateConfig", make("UpdateConfig", **fields))


def run_appends(clients: list[HttpClient], guarded: bool) -> History:
    """WRITERS threads, each appending APPENDS tokens by read-modify-write through random servers."""
    history = History()
    failures: list[BaseException] = []
    lock = threading.Lock()

    def append(number: int, seq: int, rng: random.Random) -> None:
        token = f"w{number}-{seq}"
        for _ in range(MAX_ATTEMPTS):
            seen = read(rng.choice(clients))
            content = json.dumps([*json.loads(seen.content), token])
            start = time.monotonic()
            reply = update(rng.choice(clients), content, token, seen.version if guarded else None)
            end = time.monotonic()
            if guarded and reply.code == CONFLICT:
                expect(reply, CONFLICT)  # HTTP 409, with a message
                with lock:
                    history.conflicts.append(Conflict(number, seen.version, reply.message, start, end))
                continue
            expect(reply, "Accept")
            with lock:
                history.accepted.append(Accepted(number, seq, token, seen.version, start, end))
            return
        raise AssertionError(f"{token} still conflicting after {MAX_ATTEMPTS} attempts")

    def writer(number: int) -> None:
        rng = random.Random(number)
        try:
            for seq in range(APPENDS):
                append(number, seq, rng)
        except BaseException as error:
            with lock:
                failures.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a writer did not finish"
    if failures:
        raise failures[0]
    return history


def create(clients: list[HttpClient]) -> int:
    """Create the config as an empty list, seen by every server; its version."""
    created = make("CreateConfig", config_detail={"config_name": "c", "content": "[]"})
    expect(clients[0].call("CreateConfig", created), "Accept")
    for client in clients:
        eventually(partial(read_code, client), lambda code: code == "Accept")
    return read(clients[0]).version


def revisions(client: HttpClient) -> list[Any]:
    """Every kept revision of the config, oldest first, over pages of HISTORY_PAGE."""
    found: list[Any] = []
    token = ""
    while True:
        request = make("ListConfigHistory", config_name="c", page_size=HISTORY_PAGE, page_token=token)
        page = expect(client.call("ListConfigHistory", request), "Accept")
        found.extend(page.revisions)
        token = page.next_page_token
        if not token:
            return found[::-1]


def check_appends(history: History, initial: int, final_version: int, final_content: str) -> None:
    accepted = history.accepted
    assert len(accepted) == WRITERS * APPENDS, "every append was acknowledged"
    tokens: list[str] = json.loads(final_content)
    assert sorted(tokens) == sorted(a.token for a in accepted), "every acknowledged append, once: none lost"
    for number in range(WRITERS):
        own = [token for token in tokens if token.startswith(f"w{number}-")]
        assert own == [f"w{number}-{seq}" for seq in range(APPENDS)], f"writer {number}'s appends in order"
    assert final_version == initial + len(accepted), "one version per accepted update"
    made_on = sorted(a.expected for a in accepted)
    assert made_on == list(range(initial, final_version)), "accepted updates made on distinct versions"
    for earlier in accepted:
        for later in accepted:
            if earlier.end < later.start:
                assert earlier.expected < later.expected, (
                    f"{later.token} made on a version before {earlier.token}"
                )


def check_conflicts(history: History, final_version: int) -> None:
    for conflict in history.conflicts:
        named = NAMED_VERSIONS.search(conflict.message)
        assert named is not None, f"a 409 names the current version: {conflict.message!r}"
        current, expected = int(named[1]), int(named[2])
        assert expected == conflict.expected, f"a 409 names the version expected: {conflict.message!r}"
        assert conflict.expected < current <= final_version, (
            f"not a version the config had: {conflict.message!r}"
        )
        # Current while the refused update was answered: at least the version of every update acknowledged
        # before it was sent, below that of every update sent after it was answered.
        for done in history.accepted:
            if done.end < conflict.start:
                assert current >= done.expected + 1, f"a 409 named v{current}, older than {done.token}"
            if conflict.end < done.start:
                assert current <= done.expected, f"a 409 named v{current}, made after it by {done.token}"


def check_history(client: HttpClient, history: History, initial: int, final_version: int) -> None:
    kept = revisions(client)
    assert [r.version for r in kept] == list(range(initial, final_version + 1)), "consecutive versions"
    assert kept[0].action == user_action("CREATE") and json.loads(kept[0].config.content) == []
    token_made_on = {a.expected: a.token for a in history.accepted}
    for previous, revision in itertools.pairwise(kept):
        assert revision.action == user_action("UPDATE"), f"v{revision.version} is an UPDATE"
        token = token_made_on[previous.version]
        assert json.loads(revision.config.content) == [*json.loads(previous.config.content), token], (
            f"v{revision.version} is v{previous.version} plus exactly {token}"
        )
        assert revision.reason == token and revision.actor == "anonymous"


def user_action(name: str) -> int:
    from configserver.proto import user_pb2

    return int(user_pb2.RevisionAction.Value(name))


def check_stale_writes_change_nothing(clients: list[HttpClient], stale: int, final_version: int) -> None:
    before = read(clients[0])
    refused = [
        clients[0].call(
            "UpdateConfig",
            make("UpdateConfig", config_detail={"config_name": "c", "content": "[]"}, expected_version=stale),
        ),
        clients[1].call("DeleteConfig", make("DeleteConfig", config_name="c", expected_version=stale)),
        clients[2].call(
            "RollbackConfig",
            make("RollbackConfig", config_name="c", to_version=stale, expected_version=stale),
        ),
    ]
    for reply in refused:
        expect(reply, CONFLICT)
        assert f"at version {final_version}, not {stale}" in reply.message
    for client in clients:
        after = read(client)
        assert (after.version, after.content) == (before.version, before.content), (
            "a refused write changed it"
        )
    assert len(revisions(clients[0])) == final_version - stale + 1, "a refused write left a revision"


@pytest.mark.parametrize(
    "store", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_no_update_is_lost_across_three_servers(store: Backend) -> None:
    with three_servers(store.url) as clients:
        initial = create(clients)
        history = run_appends(clients, guarded=True)
        final = read(clients[-1])
        check_appends(history, initial, final.version, final.content)
        check_conflicts(history, final.version)
        check_history(clients[1], history, initial, final.version)
        check_stale_writes_change_nothing(clients, initial, final.version)
