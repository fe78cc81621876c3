"""The core on a real SQLite file, without transports: durability points, batching and reloading."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from configserver.proto import agent_pb2, user_pb2
from core.errors import ServiceError
from core.service import ConfigService
from core.state import State
from core.store import open_store
from tests.stores import Backend


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def run_service(
    url: str, clock: Clock, body: Callable[[ConfigService], Awaitable[Any]], flush_interval: float = 3600
) -> Any:
    async def main() -> Any:
        state = State(open_store(url), flush_interval=flush_interval)
        await state.start()
        try:
            return await body(ConfigService(state, clock=clock))
        finally:
            await state.close()

    return asyncio.run(main())


def stored_heartbeat(store: Backend, agent_id: str) -> int | None:
    rows = store.query("SELECT latest_heartbeat_time FROM agents WHERE agent_id = ?", (agent_id,))
    return int(rows[0][0]) if rows else None


@pytest.fixture
def url(store: Backend) -> str:
    return store.url


def heartbeat(agent_id: str, **fields: Any) -> agent_pb2.HeartBeatRequest:
    return agent_pb2.HeartBeatRequest(agent_id=agent_id, **fields)


def test_registration_is_durable_before_the_answer_and_times_are_batched(url: str, store: Backend) -> None:
    clock = Clock()

    async def body(service: ConfigService) -> None:
        await service.HeartBeat(heartbeat("a", ip="10.0.0.1"))
        assert stored_heartbeat(store, "a") == 1_800_000_000
        clock.now += 10
        await service.HeartBeat(heartbeat("a", ip="10.0.0.1"))
        assert stored_heartbeat(store, "a") == 1_800_000_000, "a time-only heartbeat waits for the batch"
        listed = await service.ListAgents(user_pb2.ListAgentsRequest(group_name="default"))
        assert listed.agents[0].latest_heartbeat_time == 1_800_000_010, "reads never lag"
        clock.now += 10
        await service.HeartBeat(heartbeat("a", ip="10.0.0.2"))
        assert stored_heartbeat(store, "a") == 1_800_000_020, "changed attributes are written at once"
        clock.now += 10
        await service.HeartBeat(heartbeat("a", ip="10.0.0.2"))
        await service.state.flush()
        assert stored_heartbeat(store, "a") == 1_800_000_030

    run_service(url, clock, body)


def test_closing_writes_the_pending_batch(url: str, store: Backend) -> None:
    clock = Clock()

    async def body(service: ConfigService) -> None:
        await service.HeartBeat(heartbeat("a"))
        clock.now += 5
        await service.HeartBeat(heartbeat("a"))
        assert stored_heartbeat(store, "a") == 1_800_000_000

    run_service(url, clock, body)
    assert stored_heartbeat(store, "a") == 1_800_000_005


def test_the_flusher_writes_batches_by_itself(url: str, store: Backend) -> None:
    clock = Clock()

    async def body(service: ConfigService) -> None:
        await service.HeartBeat(heartbeat("a"))
        clock.now += 5
        await service.HeartBeat(heartbeat("a"))
        for _ in range(500):
            if stored_heartbeat(store, "a") == 1_800_000_005:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the batch was never written")

    run_service(url, clock, body, flush_interval=0.05)


def test_everything_is_reloaded_after_a_restart(url: str) -> None:
    clock = Clock()

    async def write(service: ConfigService) -> None:
        await service.CreateAgentGroup(
            user_pb2.CreateAgentGroupRequest(
                agent_group=user_pb2.AgentGroup(
                    group_name="g", tags=[user_pb2.AgentGroupTag(name="k", value="v")]
                )
            )
        )
        await service.CreateConfig(
            user_pb2.CreateConfigRequest(config_detail=user_pb2.Config(config_name="c", content="x"))
        )
        await service.ApplyConfigToAgentGroup(
            user_pb2.ApplyConfigToAgentGroupRequest(group_name="g", config_name="c")
        )
        await service.HeartBeat(heartbeat("a", tags={"k": "v"}))
        await service.RunningStatistics(
            agent_pb2.RunningStatisticsRequest(
                agent_id="a", running_details=agent_pb2.RunningStatistics(cpu=1.5, memory=7)
            )
        )

    async def read(service: ConfigService) -> Any:
        listed = await service.ListAgents(user_pb2.ListAgentsRequest(group_name="g"))
        updates = await service.GetConfigList(agent_pb2.AgentGetConfigListRequest(agent_id="a"))
        return listed.agents[0], [(u.config_name, u.content) for u in updates.config_update_infos]

    run_service(url, clock, write)
    agent, updates = run_service(url, clock, read)
    assert (agent.agent_id, dict(agent.tags), dict(agent.running_details)) == (
        "a",
        {"k": "v"},
        {"CPU": "1.5", "Memory": "7"},
    )
    assert updates == [("c", "x")]


def test_a_recreated_config_is_seen_as_changed(url: str) -> None:
    async def body(service: ConfigService) -> list[tuple[str, int, int]]:
        def config(content: str) -> user_pb2.Config:
            return user_pb2.Config(config_name="c", content=content)

        await service.HeartBeat(heartbeat("a"))
        await service.CreateConfig(user_pb2.CreateConfigRequest(config_detail=config("v0")))
        await service.UpdateConfig(user_pb2.UpdateConfigRequest(config_detail=config("v1")))
        await service.DeleteConfig(user_pb2.DeleteConfigRequest(config_name="c"))
        with pytest.raises(ServiceError):
            await service.UpdateConfig(user_pb2.UpdateConfigRequest(config_detail=config("v1")))
        await service.CreateConfig(user_pb2.CreateConfigRequest(config_detail=config("again")))
        await service.ApplyConfigToAgentGroup(
            user_pb2.ApplyConfigToAgentGroupRequest(group_name="default", config_name="c")
        )
        response = await service.GetConfigList(
            agent_pb2.AgentGetConfigListRequest(agent_id="a", config_versions={"c": 1})
        )
        return [(u.config_name, u.update_status, u.config_version) for u in response.config_update_infos]

    assert run_service(url, Clock(), body) == [("c", agent_pb2.ConfigUpdateInfo.MODIFIED, 2)]
