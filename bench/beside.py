"""Operators' gRPC calls beside loud agents: the latency of a steady stream of User API calls over gRPC while
wrk saturates the HTTP listener with heartbeats.

    python -m bench.beside [--seconds 10] [--rounds 5] [--rate 200] [--connections 64]

One server process (as `make run` starts it) on the small fleet; wrk keeps `--connections` HTTP
connections busy with HeartBeat; a client process of its own sends `--rate` ListAgentGroups calls a second
over gRPC, each with a 5 s deadline, and records each call's latency. Every call must be answered; the
figure is the calls' p99 (and p50, max), with HTTP's rate beside it.
"""

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import grpc

from bench.fleet import SMALL, heartbeat, populate
from bench.load import require, wrk_script
from bench.servers import server
from configserver.proto import service_pb2_grpc, user_pb2


@dataclass(frozen=True)
class Beside:
    grpc_p50_ms: float
    grpc_p99_ms: float
    grpc_max_ms: float
    grpc_calls: int
    failed: int
    http_rps: float

    def line(self) -> str:
        return (
            f"gRPC p50 {self.grpc_p50_ms:.1f} ms, p99 {self.grpc_p99_ms:.1f} ms, max {self.grpc_max_ms:.1f} ms"
            f" ({self.grpc_calls:,} calls, {self.failed} failed) beside HTTP at {self.http_rps:,.0f}/s"
        )


async def steady_calls(port: int, rate: float, seconds: float) -> tuple[list[float], int]:
    """`rate` calls a second for `seconds`: the latency of each answered call (seconds), and the failures."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        users = service_pb2_grpc.UserServiceStub(channel)
        await users.ListAgentGroups(user_pb2.ListAgentGroupsRequest(), timeout=5)
        latencies: list[float] = []
        failed = 0

        async def one() -> None:
            nonlocal failed
            started = time.perf_counter()
            try:
                await users.ListAgentGroups(user_pb2.ListAgentGroupsRequest(), timeout=5)
            except grpc.aio.AioRpcError:
                failed += 1
                return
            latencies.append(time.perf_counter() - started)

        calls = []
        start = time.perf_counter()
        for index in range(int(rate * seconds)):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            calls.append(asyncio.create_task(one()))
        await asyncio.gather(*calls)
    return latencies, failed


def client(port: int, rate: float, seconds: float) -> None:
    """The client process: its latencies as JSON on stdout."""
    latencies, failed = asyncio.run(steady_calls(port, rate, seconds))
    print(json.dumps({"latencies": latencies, "failed": failed}))


def measure(url: str, seconds: float, rate: float, connections: int) -> Beside:
    wrk = require("wrk", "wrk")
    requests = [("/Agent/HeartBeat", heartbeat(index)) for index in range(1000)]
    with server(url, 1) as running, tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(wrk_script(requests))
        script.flush()
        load = subprocess.Popen(
            [wrk, "-t1", f"-c{connections}", f"-d{seconds + 2:.0f}s", "-s", script.name,
             f"http://127.0.0.1:{running.http}"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(1.0)  # HTTP saturated first
        probe = subprocess.run(
            [sys.executable, "-m", "bench.beside", "--client", str(running.grpc), str(rate), str(seconds)],
            stdout=subprocess.PIPE, text=True, check=True,
        )  # fmt: skip
        output, _ = load.communicate(timeout=seconds + 60)
    found = json.loads(probe.stdout)
    latencies = sorted(found["latencies"])
    http_rps = next(float(line.split()[1]) for line in output.splitlines() if line.startswith("Requests/sec"))
    return Beside(
        grpc_p50_ms=statistics.median(latencies) * 1000,
        grpc_p99_ms=latencies[int(len(latencies) * 0.99) - 1] * 1000,
        grpc_max_ms=latencies[-1] * 1000,
        grpc_calls=len(latencies),
        failed=found["failed"],
        http_rps=http_rps,
    )


def beside(
    rounds: int = 5, seconds: float = 10.0, rate: float = 200.0, connections: int = 64
) -> list[Beside]:
    """`rounds` measurements, each on a server of its own."""
    found = []
    with tempfile.TemporaryDirectory(prefix="configserver-beside-") as directory:
        url = f"sqlite:///{Path(directory) / 'fleet.db'}"
        populate(url, SMALL)
        for _ in range(rounds):
            found.append(measure(url, seconds, rate, connections))
            print(f"  {found[-1].line()}", flush=True)
    return found


def main() -> None:
    if sys.argv[1:2] == ["--client"]:
        client(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    beside(args.rounds, args.seconds, args.rate, args.connections)


if __name__ == "__main__":
    main()
