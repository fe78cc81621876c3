"""Retention on a real store with the clock moved by hand: silent agents expire (from memory, the store and
every other server), alarms stay within their bounds however an agent floods them, and what agents report
reaches the store in batches."""

import asyncio
import logging
import tracemalloc
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bench.fleet import Fleet as BenchFleet
from bench.fleet import populate
from configserverd.app import Runtime, start_runtime
from configserverd.settings import Settings
from core.alarms import AlarmBuffer
from core.errors import Code, ServiceError
from core.model import AgentAttributes, Alarm, Config, FleetPolicy
from core.runtime.lifeline import Lifeline
from core.runtime.observer import NoObserver
from core.store.backends import open_store
from tests.clock import ManualClock
from tests.domain import AGENT, OPERATOR, fetch
from tests.stores import Backend

START = 1_800_000_000
DAY = 86400.0


@asynccontextmanager
async def runtime(url: str, clock: ManualClock, policy: FleetPolicy) -> AsyncIterator[Runtime]:
    async with AsyncExitStack() as stack:
        settings = Settings(store_url=url, policy=policy)
        yield await start_runtime(stack, open_store(url), clock, NoObserver(), Lifeline(), settings)


def run(body: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(body())


def test_silent_agents_expire_everywhere_and_come_back_as_new(
    store: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    policy = FleetPolicy(expire_after=DAY)
    clock = ManualClock(START)

    async def body() -> None:
        async with runtime(store.url, clock, policy) as one, runtime(store.url, clock, policy) as other:
            for agent_id in ("silent-1", "silent-2", "alive"):
                await one.sessions.heartbeat(agent_id, AgentAttributes(), AGENT)
            clock.shift_wall(START + DAY - 10)
            await one.sessions.heartbeat(
                "alive", AgentAttributes(), AGENT
            )  # a time-only heartbeat, still pending
            clock.shift_wall(START + DAY + 1)
            caplog.set_level(logging.INFO, logger="core.runtime.retention")
            await one.retention.sweep()
            for server in (one, other):  # the other server reads its writes too
                listed = [
                    agent.agent_id for agent in (await server.queries.agents("default", OPERATOR)).items
                ]
                assert listed == ["alive"]
            with pytest.raises(ServiceError) as gone:
                await fetch(other, "silent-1", {})
            assert gone.value.code is Code.AGENT_NOT_EXIST
            await other.sessions.heartbeat("silent-1", AgentAttributes(), AGENT)
            assert len((await one.queries.agents("default", OPERATOR)).items) == 2, "registered anew"

    run(body)
    assert sorted(row[0] for row in store.query("SELECT agent_id FROM agents")) == ["alive", "silent-1"]
    sweeps = [record for record in caplog.records if record.getMessage() == "agents expired"]
    assert [record.__dict__["count"] for record in sweeps] == [2], "one line per sweep, with the count"


def test_expiring_a_hundred_thousand_agents_gives_their_memory_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    populate(url, BenchFleet(100_000, 10), seen=0)
    clock = ManualClock(START)

    async def body() -> tuple[int, int, int]:
        tracemalloc.start()
        try:
            empty = tracemalloc.get_traced_memory()[0]
            async with runtime(url, clock, FleetPolicy()) as started:
                loaded = tracemalloc.get_traced_memory()[0]
                assert len((await started.queries.agents("default", OPERATOR)).items) == 100_000
                await started.retention.sweep()
                assert (await started.queries.agents("default", OPERATOR)).items == []
                swept = tracemalloc.get_traced_memory()[0]
            return empty, loaded, swept
        finally:
            tracemalloc.stop()

    empty, loaded, swept = run(body)
    held = loaded - empty
    assert held > 20_000_000, f"100,000 agents held {held:,} bytes"  # the measurement measures something
    assert swept - empty < held / 10, f"{swept - empty:,} of {held:,} bytes still held after the sweep"
    rows = open_store(url)
    try:
        assert rows.activity(["agent-000000", "agent-099999"]) == []
    finally:
        rows.close()


def test_an_alarm_flood_stays_within_its_bounds() -> None:
    buffer = AlarmBuffer(per_agent=3, total=10)
    for index in range(1000):
        buffer.add(Alarm("flooder", "t", f"d{index}", START))
    for index in range(20):
        buffer.add(Alarm(f"agent-{index}", "t", "d", START))
    taken = buffer.take()
    assert [alarm.detail for alarm in taken if alarm.agent_id == "flooder"] == ["d997", "d998", "d999"]
    assert len(taken) == 10
    assert buffer.dropped == 13
    assert buffer.take() == []


def test_alarms_are_stored_in_batches_and_trimmed_per_agent(store: Backend) -> None:
    clock = ManualClock(START)

    async def body() -> list[str]:
        async with runtime(store.url, clock, FleetPolicy(alarm_retention_count=5)) as started:
            await started.sessions.heartbeat("a", AgentAttributes(), AGENT)
            for index in range(40):
                await started.sessions.alarm("a", "disk", f"d{index}", AGENT)
                if index % 10 == 9:
                    await started.batcher.flush()
            assert store.query("SELECT count(*) FROM alarms")[0][0] == 5
            page = await started.queries.alarms("a", "", 0, 0, "", OPERATOR)
            return [alarm.detail for alarm in page.items]

    assert run(body) == ["d39", "d38", "d37", "d36", "d35"]


def test_old_alarms_are_dropped_by_age(store: Backend) -> None:
    clock = ManualClock(START)

    async def body() -> None:
        async with runtime(store.url, clock, FleetPolicy(alarm_retention_seconds=DAY)) as started:
            await started.sessions.heartbeat("a", AgentAttributes(), AGENT)
            await started.sessions.alarm("a", "t", "old", AGENT)
            clock.shift_wall(START + DAY + 1)
            await started.sessions.heartbeat("a", AgentAttributes(), AGENT)
            await started.sessions.alarm("a", "t", "new", AGENT)
            await started.batcher.flush()
            await started.retention.sweep()
            assert [
                alarm.detail for alarm in (await started.queries.alarms("", "", 0, 0, "", OPERATOR)).items
            ] == ["new"]

    run(body)


def test_held_versions_reach_the_store_in_the_batch_not_per_request(store: Backend) -> None:
    clock = ManualClock(START)

    async def body() -> None:
        async with runtime(store.url, clock, FleetPolicy()) as started:
            await started.sessions.heartbeat("a", AgentAttributes(), AGENT)
            await started.commands.create_config(Config("c", content="x"), OPERATOR)
            await started.commands.apply("default", "c", OPERATOR)
            clock.shift_wall(START + 5)
            await fetch(started, "a", {"c": 0, "not-effective": 7})
            assert store.query("SELECT config_versions, last_config_fetch_time FROM agents") == [("[]", 0)]
            (agent,) = (await started.queries.agents("default", OPERATOR)).items
            assert (agent.config_versions, agent.last_config_fetch_time) == ((("c", 0),), START + 5)
            await started.batcher.flush()
            assert store.query("SELECT config_versions, last_config_fetch_time FROM agents") == [
                ('[["c",0]]', START + 5)
            ]
            rollout = await started.queries.config_status("c", OPERATOR)
            assert (rollout.targeted, rollout.current, rollout.pending) == (1, 1, 0)

    run(body)
