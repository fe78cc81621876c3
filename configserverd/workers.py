"""`--workers N`: N server processes on the same ports, supervised by the process that forked them.

The parent checks that both ports are free (and resolves port 0), applies the store's migrations once,
then forks the workers before any gRPC object or thread exists. Each worker binds both ports with
SO_REUSEPORT, so the kernel spreads connections over them, and keeps its caches coherent with the
others through the store's change feed. The parent forwards SIGTERM and SIGINT to every worker and
waits for them; a worker that dies unexpectedly is replaced, unless it died at start (then the parent
stops them all and fails: the same thing would happen again).
"""

import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from types import FrameType

from configserverd.settings import Settings
from core.store.backends import prepare_store

log = logging.getLogger(__name__)

EARLY_DEATH = 5.0
"""A worker that exits sooner than this after its start is not restarted."""


def probe_port(host: str, port: int) -> int:
    """Fail if the port is taken (by anyone, reuse-port or not); the port, resolved if it was 0."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, port))
        bound: int = probe.getsockname()[1]
        return bound


def run_workers(settings: Settings, count: int, serve: Callable[[Settings], int]) -> int:
    """Fork `count` workers running `serve(settings)` and supervise them; the exit code."""
    settings = replace(
        settings,
        http_port=probe_port(settings.http_host, settings.http_port),
        grpc_port=probe_port(settings.grpc_host, settings.grpc_port),
        workers=count,
        reuse_port=True,
    )
    prepare_store(settings.store_url)
    stopping = False
    workers: dict[int, float] = {}

    def start_one() -> None:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 1
            try:
                code = serve(settings)
            finally:
                logging.shutdown()
                os._exit(code)
        workers[pid] = time.monotonic()

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in workers:
            os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for _ in range(count):
        start_one()
    log.info("workers started", extra={"workers": count, "pids": sorted(workers)})
    failed = False
    while workers:
        pid, status = os.wait()
        started = workers.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        if stopping:
            failed = failed or code != 0
            continue
        log.error("worker died", extra={"pid": pid, "exit_code": code})
        if time.monotonic() - started < EARLY_DEATH:
            failed = True
            forward(signal.SIGTERM, None)
        else:
            start_one()
    log.info("workers stopped")
    return 1 if failed else 0
