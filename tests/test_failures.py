"""Failures are loud and true: a bug is logged with its traceback and answered 500 (the server goes on);
a part that dies (the gRPC thread, background work) stops the process with exit code 1 and says why; a
second SIGTERM exits at once; "cannot start" is said only before serving."""

import contextlib
import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.model import Config
from core.queries import FleetQueries
from tests.stores import Backend
from tests.support import GrpcClient, HttpClient, ServerProcess, ServerThread, expect, make, running_server

ROOT = Path(__file__).resolve().parent.parent


def with_injected(server: ServerProcess, injection: str) -> ServerProcess:
    """The same command, with `injection` run first in the server process."""
    server.args[2] = f"{injection}\nfrom configserverd import cli\ncli.main()"
    return server


DYING_GRPC = """
import asyncio
from grpc_service.server import GrpcServer
async def failing(self):
    await asyncio.sleep(1)
    raise RuntimeError("injected: the gRPC health reporter fails")
assert GrpcServer._report_health
GrpcServer._report_health = failing
"""

FAILING_BATCHER = """
from core.runtime.batcher import HeartbeatBatcher
def failing(self):
    raise RuntimeError("injected: a bug in the heartbeat batcher")
assert HeartbeatBatcher.write_pending
HeartbeatBatcher.write_pending = failing
"""


@pytest.mark.parametrize(
    ("injection", "cause"),
    [(DYING_GRPC, "the gRPC health reporter fails"), (FAILING_BATCHER, "a bug in the heartbeat batcher")],
    ids=["grpc-thread", "background-task"],
)
def test_a_part_that_dies_stops_the_process(store_url: str, injection: str, cause: str) -> None:
    with with_injected(ServerProcess(store_url), injection).start() as server:
        code = server.process.wait(30)
        log = server.process.stderr.read()
    assert code == 1
    assert '"event": "fatal error"' in log and cause in log and "Traceback" in log
    assert '"event": "cannot start"' not in log, "it had started: this is a crash, not a failed start"


@pytest.fixture
def buggy_server(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerThread]:
    async def configs(self: FleetQueries, *page: object) -> list[Config]:
        raise ZeroDivisionError("injected bug")

    monkeypatch.setattr(FleetQueries, "configs", configs)
    with running_server(store_url) as server:
        yield server


def test_a_bug_is_logged_with_its_traceback_and_answered_500(
    buggy_server: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    http = HttpClient(buggy_server.http_port)
    grpc = GrpcClient(buggy_server.grpc_port)
    try:
        for client in (http, grpc):
            reply = client.call("ListConfigs", make("ListConfigs"))
            expect(reply, "InternalServerError")
            assert reply.message == "Internal server error.", "internals stay in the log"
        expect(grpc.call("GetConfig", make("GetConfig", config_name="c")), "ConfigNotExist")
    finally:
        grpc.close()
    bugs = [
        record for record in caplog.records if record.exc_info and "injected bug" in str(record.exc_info[1])
    ]
    assert len(bugs) == 2, "each failed call is logged once, with its traceback"
    assert http.request("GET", "/readyz").status == 200, "a bug is not a store outage"


def test_a_second_signal_exits_at_once(store: Backend) -> None:
    args = ("--grace-period", "120", "--request-timeout", "120", "--max-in-flight", "1")
    with ServerProcess(store.url, *args).start() as server:
        http = HttpClient(server.http_port, timeout=150)
        with store.locked():  # a write waits for the lock: the first SIGTERM waits for it
            create = make("CreateConfig", config_detail={"config_name": "c", "content": "x"})

            def write() -> None:
                with contextlib.suppress(OSError):  # the server exits under it: no answer
                    while http.call("CreateConfig", create).code == "ServerBusy":
                        pass  # shed while the probe below was in flight: try again

            waiting = threading.Thread(target=write, daemon=True)
            waiting.start()
            while http.call("ListConfigs", make("ListConfigs")).code != "ServerBusy":
                pass  # until the write is in flight (the only one the bound lets in)
            server.process.send_signal(signal.SIGTERM)
            with pytest.raises(subprocess.TimeoutExpired):
                server.process.wait(1)  # still draining, as it should
            server.process.send_signal(signal.SIGTERM)
            code = server.process.wait(15)  # far less than the grace period and the request's timeout
        log = server.process.stderr.read()
    assert code == 1
    assert '"event": "second signal: exiting at once"' in log


def test_version() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from configserverd import cli; cli.main()", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith("configserver 0.")
