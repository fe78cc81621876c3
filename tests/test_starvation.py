"""Neither transport starves the other: gRPC runs on its own thread and loop.

The server runs in its own process; two processes load one transport as fast as it answers, while this
test offers calls on the other at a steady 100 per second. Every call must succeed within its deadline:
on a shared loop, grpc.aio gets about 56 calls a second through beside saturated HTTP, so the backlog
would blow the deadlines.
"""

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable

import grpc

from configserver.proto import agent_pb2, service_pb2_grpc, user_pb2
from tests.support import HttpClient, ServerProcess, make

LOAD_SECONDS = 6.0
GRPC_RATE = 100
GRPC_DEADLINE = 1.0


async def steady_grpc_calls(port: int, count: int) -> list[str]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = service_pb2_grpc.AgentServiceStub(channel)
        request = agent_pb2.AgentGetConfigListRequest(agent_id="probe")

        async def one() -> str:
            try:
                return (await stub.GetConfigList(request, timeout=GRPC_DEADLINE)).code
            except grpc.aio.AioRpcError as error:
                return str(error.code())

        calls = []
        for _ in range(count):
            calls.append(asyncio.create_task(one()))
            await asyncio.sleep(1 / GRPC_RATE)
        return list(await asyncio.gather(*calls))


def beside_load(
    store_url: str, loader: str, connections: int, probe: Callable[[ServerProcess], list[str]]
) -> None:
    """Saturate one transport from two `loader` processes (after a registered probe agent), run `probe`
    on the other, and require every probe call to have succeeded."""
    with ServerProcess(store_url).start() as server:
        assert (
            HttpClient(server.http_port).call("HeartBeat", make("HeartBeat", agent_id="probe")).code
            == "Accept"
        )
        port = server.http_port if loader == "tests.http_load" else server.grpc_port
        loaders = [
            subprocess.Popen(
                [sys.executable, "-m", loader, str(port), str(LOAD_SECONDS), str(connections)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            time.sleep(1.0)  # let the load saturate the server first
            results = probe(server)
        finally:
            answers = sum(int(process.communicate(timeout=60)[0]) for process in loaders)
    assert answers > 1000, f"the load of {loader} did not run"
    failed = [code for code in results if code != "Accept"]
    assert not failed, f"{len(failed)} of {len(results)} calls failed: {set(failed)}"


def test_grpc_answers_while_http_is_saturated(store_url: str) -> None:
    count = int(GRPC_RATE * (LOAD_SECONDS - 2))
    beside_load(
        store_url,
        "tests.http_load",
        16,
        lambda server: asyncio.run(steady_grpc_calls(server.grpc_port, count)),
    )


def steady_http_calls(port: int, count: int) -> list[str]:
    http = HttpClient(port, timeout=GRPC_DEADLINE)
    codes = []
    for _ in range(count):
        try:
            codes.append(http.call("GetConfigList", make("GetConfigList", agent_id="probe")).code)
        except OSError as error:
            codes.append(repr(error))
        time.sleep(1 / GRPC_RATE)
    return codes


def test_http_answers_while_grpc_is_saturated(store_url: str) -> None:
    count = int(GRPC_RATE * (LOAD_SECONDS - 3))
    beside_load(store_url, "tests.grpc_load", 32, lambda server: steady_http_calls(server.http_port, count))


OPERATOR_RATE = 200
OPERATOR_DEADLINE = 0.1
"""Operators' tooling over gRPC, beside loud agents: 200 calls a second, each given 100 ms."""
MISSED_AT_MOST = 0.01


async def operator_calls(port: int, seconds: float) -> list[str]:
    """OPERATOR_RATE ListAgentGroups calls a second over gRPC, each with OPERATOR_DEADLINE: their codes."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        users = service_pb2_grpc.UserServiceStub(channel)
        request = user_pb2.ListAgentGroupsRequest()
        await users.ListAgentGroups(request, timeout=10)  # connected before the clock starts

        async def one() -> str:
            try:
                return (await users.ListAgentGroups(request, timeout=OPERATOR_DEADLINE)).code
            except grpc.aio.AioRpcError as error:
                return str(error.code())

        loop = asyncio.get_running_loop()
        start, calls = loop.time(), []
        for index in range(int(OPERATOR_RATE * seconds)):
            await asyncio.sleep(max(0.0, start + index / OPERATOR_RATE - loop.time()))
            calls.append(asyncio.create_task(one()))
        return list(await asyncio.gather(*calls))


def test_operators_grpc_calls_meet_their_deadline_beside_loud_agents(store_url: str) -> None:
    """HTTP saturated by 64 connections of heartbeats (8 deep each, so that the server never waits for
    them): 99% of operators' gRPC calls given 100 ms are
    answered within it. The gRPC thread waits for the interpreter lock whenever it wakes, and the HTTP
    thread, busy without pause, lets go of it only when forced: at Python's default switch interval (5 ms
    a wake-up, several per call) calls missed their deadline by the dozen."""
    with ServerProcess(store_url).start() as server:
        loaders = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.http_load",
                    str(server.http_port),
                    str(LOAD_SECONDS),
                    "32",
                    "8",
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            time.sleep(1.0)  # the agents are loud first
            codes = asyncio.run(operator_calls(server.grpc_port, LOAD_SECONDS - 2))
        finally:
            answers = sum(int(process.communicate(timeout=60)[0]) for process in loaders)
    assert answers > 1000, "the agents' load did not run"
    missed = [code for code in codes if code != "Accept"]
    assert set(missed) <= {"StatusCode.DEADLINE_EXCEEDED"}, set(missed)
    assert len(missed) <= MISSED_AT_MOST * len(codes), f"{len(missed)} of {len(codes)} calls missed 100 ms"
