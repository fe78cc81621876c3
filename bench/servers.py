"""The processes a benchmark loads: the server as `make run` starts it, and the bare handlers beside it."""

import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(port: int) -> None:
    for _ in range(600):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def resident_kib(pid: int) -> int:
    """Resident memory of a process and its children."""
    total = 0
    for candidate in [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]:
        for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    http: int
    grpc: int

    def post(self, path: str, body: bytes, method: str = "POST") -> bytes:
        request = urllib.request.Request(f"http://127.0.0.1:{self.http}{path}", data=body, method=method)
        with urllib.request.urlopen(request, timeout=60) as answer:
            data: bytes = answer.read()
            return data

    def accepted(self) -> dict[str, float]:
        """The server's own count of answered requests, by transport."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http}/metrics", timeout=30) as answer:
            text = answer.read().decode()
        counts: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "configserver_requests_total":
                    counts[sample.labels["transport"]] = (
                        counts.get(sample.labels["transport"], 0) + sample.value
                    )
        return counts


@contextmanager
def server(url: str, workers: int) -> Iterator[Server]:
    http, grpc_port = free_port(), free_port()
    command = [sys.executable, "-c", "from configserverd import cli; cli.main()", "--store", url, "--workers", str(workers),
               "--http-listen", f"127.0.0.1:{http}", "--grpc-listen", f"127.0.0.1:{grpc_port}", "--log-level", "WARNING"]  # fmt: skip
    process = subprocess.Popen(command)
    try:
        wait_for(http)
        wait_for(grpc_port)
        time.sleep(0.5 * workers)  # every worker listening
        yield Server(process, http, grpc_port)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


@contextmanager
def bare(transport: str, answers: dict[str, str], workers: int) -> Iterator[int]:
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        json.dump(answers, file)
        file.flush()
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.bare", transport, str(port), file.name, str(workers)]
        )
        try:
            wait_for(port)
            time.sleep(0.3 * workers)
            yield port
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
