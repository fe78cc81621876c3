"""Acknowledged writes survive kill -9; SIGTERM stops cleanly and writes the pending heartbeat batch."""

import signal
import threading
import time
from collections.abc import Callable

from tests.stores import Backend
from tests.support import HttpClient, ServerProcess, make

WRITERS = 4


def writer(http: HttpClient, prefix: str, acked: list[tuple[str, str]], stop: threading.Event) -> None:
    """Run a chain of writes on names of its own, recording each one acknowledged: (op, name)."""
    steps: list[tuple[str, Callable[[str], object]]] = [
        ("created", lambda n: make("CreateConfig", config_detail={"config_name": n, "content": "v0"})),
        ("updated", lambda n: make("UpdateConfig", config_detail={"config_name": n, "content": "v1"})),
        ("applied", lambda n: make("ApplyConfigToAgentGroup", group_name="default", config_name=n)),
        ("registered", lambda n: make("HeartBeat", agent_id=n, tags={"writer": prefix})),
        ("removed", lambda n: make("RemoveConfigFromAgentGroup", group_name="default", config_name=n)),
        ("deleted", lambda n: make("DeleteConfig", config_name=n)),
    ]
    rpcs = [
        "CreateConfig",
        "UpdateConfig",
        "ApplyConfigToAgentGroup",
        "HeartBeat",
        "RemoveConfigFromAgentGroup",
        "DeleteConfig",
    ]
    index = 0
    while not stop.is_set():
        name = f"{prefix}-{index}"
        for (op, build), rpc in zip(steps, rpcs, strict=True):
            if op in ("removed", "deleted") and index % 2 == 0:
                continue  # keep every other config applied
            try:
                reply = http.call(rpc, build(name))  # type: ignore[arg-type]
            except OSError:
                # The server is gone: this write was not acknowledged, and may or may not have been applied.
                acked.append((f"maybe {op}", name))
                return
            assert reply.code == "Accept", reply.message
            acked.append((op, name))
        index += 1


def test_acknowledged_writes_survive_kill_9(store: Backend) -> None:
    store_url = store.url
    acked: list[list[tuple[str, str]]] = [[] for _ in range(WRITERS)]
    stop = threading.Event()
    with ServerProcess(store_url).start() as server:
        http = HttpClient(server.http_port)
        threads = [
            threading.Thread(target=writer, args=(http, f"w{i}", acked[i], stop)) for i in range(WRITERS)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while sum(map(len, acked)) < 400 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.process.kill()  # SIGKILL, mid-write
        server.process.wait()
        stop.set()
        for thread in threads:
            thread.join()
    assert sum(map(len, acked)) >= 400

    state: dict[str, set[str]] = {}
    for chain in acked:
        for op, name in chain:
            state.setdefault(name, set()).add(op)
    configs = dict(store.query("SELECT name, content FROM configs WHERE deleted = 0"))
    bound = {row[0] for row in store.query("SELECT config_name FROM applied_configs")}
    agents = {row[0] for row in store.query("SELECT agent_id FROM agents")}
    for name, ops in state.items():
        if "deleted" in ops:
            assert name not in configs, name
            continue
        if "created" in ops and "maybe deleted" not in ops:
            assert name in configs, name
        if "updated" in ops and name in configs:
            assert configs[name] == "v1", name
        if "applied" in ops and not {"removed", "maybe removed"} & ops:
            assert name in bound, name
        if "removed" in ops:
            assert name not in bound, name
        if "registered" in ops:
            assert name in agents, name

    with ServerProcess(store_url).start() as server:  # and the server starts on what it left
        http = HttpClient(server.http_port)
        listed = http.call("ListConfigs", make("ListConfigs")).response
        assert {c.config_name for c in listed.config_details} == set(configs)


def test_sigterm_stops_cleanly(store: Backend) -> None:
    store_url = store.url
    with ServerProcess(store_url).start() as server:
        http = HttpClient(server.http_port)
        assert http.call("HeartBeat", make("HeartBeat", agent_id="a")).code == "Accept"
        code, log = server.stop(signal.SIGTERM)
    assert code == 0, log
    assert '"event": "configserver stopped"' in log
    assert store.query("SELECT agent_id FROM agents") == [("a",)]


def test_sigint_stops_cleanly(store_url: str) -> None:
    with ServerProcess(store_url).start() as server:
        code, log = server.stop(signal.SIGINT)
    assert code == 0, log
