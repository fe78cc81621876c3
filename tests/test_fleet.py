"""The fleet domain and its runtime on a real store, without transports: durability points, batching, the
clock moved by hand, reloading, the change feed and the store's health."""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest

from configserverd.app import Runtime, start_runtime
from configserverd.settings import Settings
from core.audit import MAX_PENDING as AUDIT_PENDING
from core.errors import Code, ServiceError
from core.model import AgentAttributes, AgentGroup, Caller, Config, ConfigPatch, Statistics
from core.runtime.lifeline import Lifeline
from core.runtime.observer import NoObserver
from core.store.backends import open_store
from core.versions import UpdateStatus
from tests.clock import ManualClock
from tests.domain import AGENT, OPERATOR, fetch
from tests.stores import Backend

START = 1_800_000_000


@asynccontextmanager
async def runtime(url: str, clock: ManualClock) -> AsyncIterator[Runtime]:
    async with AsyncExitStack() as stack:
        store = open_store(url)
        yield await start_runtime(stack, store, clock, NoObserver(), Lifeline(), Settings(store_url=url))


def run(url: str, clock: ManualClock, body: Callable[[Runtime], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with runtime(url, clock) as started:
            return await body(started)

    return asyncio.run(main())


def stored_heartbeat(store: Backend, agent_id: str) -> int | None:
    rows = store.query("SELECT latest_heartbeat_time FROM agents WHERE agent_id = ?", (agent_id,))
    return int(rows[0][0]) if rows else None


@pytest.fixture
def url(store: Backend) -> str:
    return store.url


def test_registration_is_durable_before_the_answer_and_times_are_batched(url: str, store: Backend) -> None:
    clock = ManualClock(START)

    async def body(started: Runtime) -> None:
        await started.sessions.heartbeat("a", AgentAttributes(ip="10.0.0.1"), AGENT)
        assert stored_heartbeat(store, "a") == START
        _set_time(clock, START + 10)
        await started.sessions.heartbeat("a", AgentAttributes(ip="10.0.0.1"), AGENT)
        assert stored_heartbeat(store, "a") == START, "a time-only heartbeat waits for the batch"
        (agent,) = (await started.queries.agents("default", OPERATOR)).items
        assert agent.latest_heartbeat_time == START + 10, "reads never lag"
        _set_time(clock, START + 20)
        await started.sessions.heartbeat("a", AgentAttributes(ip="10.0.0.2"), AGENT)
        assert stored_heartbeat(store, "a") == START + 20, "changed attributes are written at once"
        _set_time(clock, START + 30)
        await started.sessions.heartbeat("a", AgentAttributes(ip="10.0.0.2"), AGENT)
        await started.batcher.flush()
        assert stored_heartbeat(store, "a") == START + 30

    run(url, clock, body)


def _set_time(clock: ManualClock, now: float) -> None:
    """Move the wall clock to `now` without waking the periodic work (its interval is far longer)."""
    clock.shift_wall(now)


def test_closing_writes_the_pending_batch(url: str, store: Backend) -> None:
    clock = ManualClock(START)

    async def body(started: Runtime) -> None:
        await started.sessions.heartbeat("a", AgentAttributes(), AGENT)
        _set_time(clock, START + 5)
        await started.sessions.heartbeat("a", AgentAttributes(), AGENT)
        assert stored_heartbeat(store, "a") == START

    run(url, clock, body)
    assert stored_heartbeat(store, "a") == START + 5


def test_the_batcher_writes_when_its_interval_passes(url: str, store: Backend) -> None:
    clock = ManualClock(START)

    async def body(started: Runtime) -> None:
        await started.sessions.heartbeat("a", AgentAttributes(), AGENT)
        _set_time(clock, START + 5)
        await started.sessions.heartbeat("a", AgentAttributes(), AGENT)
        assert stored_heartbeat(store, "a") == START
        clock.advance(Settings().flush_interval)  # the wall clock moves too: START + 6
        for _ in range(1000):  # the batcher wakes on the loop, then queues its batch on the store thread
            await asyncio.sleep(0)
            if stored_heartbeat(store, "a") == START + 5:
                return
        raise AssertionError("the batch was not written when its interval passed")

    run(url, clock, body)


def test_everything_is_reloaded_after_a_restart(url: str) -> None:
    clock = ManualClock(START)

    async def write(started: Runtime) -> None:
        await started.commands.create_group(AgentGroup("g", tags=(("k", "v"),)), OPERATOR)
        await started.commands.create_config(Config("c", content="x"), OPERATOR)
        await started.commands.apply("g", "c", OPERATOR)
        await started.sessions.heartbeat("a", AgentAttributes(tags=(("k", "v"),)), AGENT)
        await started.sessions.report_statistics("a", Statistics(cpu=1.5, memory=7), AGENT)

    async def read(started: Runtime) -> Any:
        (agent,) = (await started.queries.agents("g", OPERATOR)).items
        updates = await fetch(started, "a", {})
        return agent, [(update.name, update.content) for update in updates]

    run(url, clock, write)
    agent, updates = run(url, clock, read)
    assert (agent.agent_id, agent.attributes.tags, agent.running_details) == (
        "a",
        (("k", "v"),),
        {"CPU": "1.5", "Memory": "7"},
    )
    assert updates == [("c", "x")]


def test_a_recreated_config_is_seen_as_changed(url: str) -> None:
    async def body(started: Runtime) -> list[tuple[str, UpdateStatus, int]]:
        await started.sessions.heartbeat("a", AgentAttributes(), AGENT)
        await started.commands.create_config(Config("c", content="v0"), OPERATOR)
        await started.commands.update_config(ConfigPatch("c", content="v1"), None, OPERATOR)
        await started.commands.delete_config("c", None, OPERATOR)
        with pytest.raises(ServiceError) as refused:
            await started.commands.update_config(ConfigPatch("c", content="v1"), None, OPERATOR)
        assert refused.value.code is Code.CONFIG_NOT_EXIST
        await started.commands.create_config(Config("c", content="again"), OPERATOR)
        assert (await started.queries.config("c", OPERATOR)).version == 3  # 0, 1, its deletion 2
        await started.commands.apply("default", "c", OPERATOR)
        return [(u.name, u.status, u.version) for u in await fetch(started, "a", {"c": 1})]

    assert run(url, ManualClock(), body) == [("c", UpdateStatus.MODIFIED, 3)]


def test_rules_hold_in_the_store_transaction(url: str) -> None:
    """The same rule refuses before the store (what memory can tell) and inside its transaction."""

    async def body(started: Runtime) -> None:
        await started.commands.create_group(AgentGroup("g"), OPERATOR)
        await started.commands.create_config(Config("c", content="x"), OPERATOR)
        await started.commands.apply("g", "c", OPERATOR)
        refusals = [
            (started.commands.delete_group("default", OPERATOR), Code.BAD_REQUEST),
            (started.commands.delete_group("g", OPERATOR), Code.BAD_REQUEST),
            (started.commands.delete_config("c", None, OPERATOR), Code.BAD_REQUEST),
            (started.commands.apply("g", "c", OPERATOR), Code.CONFIG_ALREADY_EXIST),
            (started.commands.remove("default", "c", OPERATOR), Code.CONFIG_NOT_EXIST),
            (started.commands.create_config(Config("c", content="y"), OPERATOR), Code.CONFIG_ALREADY_EXIST),
            (started.commands.create_group(AgentGroup("g"), OPERATOR), Code.AGENT_GROUP_ALREADY_EXIST),
            (started.commands.apply("nope", "c", OPERATOR), Code.AGENT_GROUP_NOT_EXIST),
            (started.commands.apply("g", "nope", OPERATOR), Code.CONFIG_NOT_EXIST),
        ]
        for refused, code in refusals:
            with pytest.raises(ServiceError) as error:
                await refused
            assert error.value.code is code, error.value
        assert await started.queries.applied_configs("g", OPERATOR) == ["c"]
        assert (await started.queries.config("c", OPERATOR)).content == "x"

    run(url, ManualClock(), body)


class Recorded(NoObserver):
    """What the runtime reported of drops (the other reports are not looked at here)."""

    def __init__(self) -> None:
        self.drops: list[tuple[str, int]] = []

    def dropped(self, what: str, count: int) -> None:
        self.drops.append((what, count))


def test_what_a_full_buffer_drops_is_counted_and_logged_once_a_minute(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock, observer = ManualClock(START), Recorded()
    caplog.set_level(logging.WARNING, logger="core.runtime.batcher")

    def flood(started: Runtime, count: int) -> None:
        for _ in range(count):
            started.commands.refused(Caller("stranger"), "g", "Unauthenticated", "")

    async def ticked(started: Runtime, seconds: float, dropped: int) -> None:
        """Move the clocks, and wait for the batcher to report `dropped` items in all (its batch of 10,000
        events takes the store thread real time)."""
        await asyncio.sleep(0)  # the periodic work is asleep on the clock before it moves
        clock.advance(seconds)
        for _ in range(3000):
            await asyncio.sleep(0.01)
            if sum(count for _, count in observer.drops) >= dropped:
                return
        raise AssertionError(f"the batcher did not report {dropped} drops: {observer.drops}")

    def lines() -> list[int]:
        return [
            record.__dict__["count"] for record in caplog.records if record.getMessage().startswith("buffer")
        ]

    async def body(started: Runtime) -> None:
        flood(started, AUDIT_PENDING + 5)
        await ticked(started, Settings().flush_interval, 5)
        assert lines() == [5]
        flood(started, AUDIT_PENDING + 3)
        await ticked(started, Settings().flush_interval, 8)
        assert lines() == [5], "at most one line a minute"
        flood(started, AUDIT_PENDING + 2)
        await ticked(started, 60.0, 10)
        assert lines() == [5, 5], "then one line with what was dropped since"
        assert {what for what, _ in observer.drops} == {"audit_event"}

    async def main() -> None:
        async with AsyncExitStack() as stack:
            settings = Settings(store_url=url)
            await body(await start_runtime(stack, open_store(url), clock, observer, Lifeline(), settings))

    asyncio.run(main())
