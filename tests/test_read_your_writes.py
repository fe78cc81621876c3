"""Replicas read their writes: a history check over three servers on one store.

Concurrent clients update one config and read it through three server processes sharing one database,
each operation recorded with its start and end time. The history must be that of one server:
- a version always carries the same content, and no version is skipped or given twice;
- no read returns a version older than that of a write acknowledged before the read started (by any
  server), nor older than a read that ended before it started.
A read through any server first catches up with the store's change feed (`core.runtime.feed`); without
that, a server serves what its feed has brought so far and this test fails.
"""

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial

import pytest

from tests.stores import Backend
from tests.support import HttpClient, ServerProcess, expect, make
from tests.test_scale_out import eventually

SERVERS = 3
WRITERS = 3
WRITES = 25
READERS = 3
READS = 60


@dataclass(frozen=True)
class Write:
    writer: int
    seq: int
    content: str
    start: float
    end: float


@dataclass(frozen=True)
class Read:
    start: float
    end: float
    version: int
    content: str


@contextmanager
def three_servers(url: str) -> Iterator[list[HttpClient]]:
    with ExitStack() as stack:
        processes = [stack.enter_context(ServerProcess(url).start()) for _ in range(SERVERS)]
        yield [HttpClient(process.http_port) for process in processes]


def read_code(client: HttpClient) -> str:
    return str(client.call("GetConfig", make("GetConfig", config_name="c")).code)


def read(client: HttpClient) -> Read:
    start = time.monotonic()
    reply = client.call("GetConfig", make("GetConfig", config_name="c"))
    end = time.monotonic()
    detail = expect(reply, "Accept").config_detail
    return Read(start, end, detail.version, detail.content)


def run_history(clients: list[HttpClient]) -> tuple[list[Write], list[Read]]:
    writes: list[Write] = []
    reads: list[Read] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def recorded(body: Callable[[int], None]) -> Callable[[int], None]:
        def run(number: int) -> None:
            try:
                body(number)
            except BaseException as error:
                with lock:
                    failures.append(error)

        return run

    @recorded
    def writer(number: int) -> None:
        rng = random.Random(number)
        for seq in range(WRITES):
            content = f"w{number}-{seq}"
            start = time.monotonic()
            reply = rng.choice(clients).call(
                "UpdateConfig", make("UpdateConfig", config_detail={"config_name": "c", "content": content})
            )
            end = time.monotonic()
            expect(reply, "Accept")
            after = read(rng.choice(clients))  # a read through any server right after the answer
            with lock:
                writes.append(Write(number, seq, content, start, end))
                reads.append(after)

    @recorded
    def reader(number: int) -> None:
        rng = random.Random(100 + number)
        for _ in range(READS):
            done = read(rng.choice(clients))
            with lock:
                reads.append(done)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    threads += [threading.Thread(target=reader, args=(n,)) for n in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if failures:
        raise failures[0]
    return writes, reads


def check(writes: list[Write], reads: list[Read], final: Read) -> None:
    assert len(writes) == WRITERS * WRITES, "every write was acknowledged"
    assert final.version == len(writes), "each update adds exactly one version: none lost, none repeated"
    observed = [*reads, final]
    content_of: dict[int, str] = {}
    version_of: dict[str, int] = {}
    for done in observed:
        assert content_of.setdefault(done.version, done.content) == done.content, f"v{done.version} twice"
        assert version_of.setdefault(done.content, done.version) == done.version, f"{done.content} twice"
    # The least version each write can have: its own if some read saw it, else one above its writer's
    # previous write (a writer's updates are sequential, so their versions grow).
    least: dict[str, int] = {}
    for number in range(WRITERS):
        floor = 0
        for write in sorted((w for w in writes if w.writer == number), key=lambda w: w.seq):
            floor = version_of.get(write.content, floor + 1)
            least[write.content] = floor
    for done in reads:
        for write in writes:
            if write.end < done.start:
                assert done.version >= least[write.content], (
                    f"a read that started after {write.content} was acknowledged returned v{done.version}"
                )
        for earlier in reads:
            if earlier.end < done.start:
                assert done.version >= earlier.version, "a read returned an older version than an earlier one"


@pytest.mark.parametrize(
    "store", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_three_servers_answer_as_one(store: Backend) -> None:
    with three_servers(store.url) as clients:
        expect(
            clients[0].call(
                "CreateConfig", make("CreateConfig", config_detail={"config_name": "c", "content": "init"})
            ),
            "Accept",
        )
        for client in clients:  # every server has it (the feed's delay, or a read's catch-up)
            eventually(partial(read_code, client), lambda code: code == "Accept")
        writes, reads = run_history(clients)
        final = read(clients[-1])
    check(writes, reads, final)
