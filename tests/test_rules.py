"""The liveness and rollout rules, on model values and an injected time (no server, no sleeping)."""

from core import rules
from core.model import Agent, AgentAttributes, AgentStatus, Config

NOW = 1_800_000_000.0


def agent(agent_id: str, seen: float, held: tuple[tuple[str, int], ...] = ()) -> Agent:
    return Agent(agent_id, AgentAttributes(), latest_heartbeat_time=int(seen), config_versions=held)


def test_an_agent_is_offline_once_silent_for_offline_after() -> None:
    assert rules.status(int(NOW) - 59, NOW, 60) is AgentStatus.ONLINE
    assert rules.status(int(NOW) - 60, NOW, 60) is AgentStatus.OFFLINE
    assert rules.status(0, NOW, 60) is AgentStatus.OFFLINE


def test_rollout_counts_current_outdated_and_pending() -> None:
    config = Config("c", content="x", version=3)
    targeted = [
        agent("a-current", NOW, (("c", 3),)),
        agent("b-outdated", NOW, (("b", 1), ("c", 2))),
        agent("c-pending", NOW),
        agent("d-outdated-offline", NOW - 600, (("c", 1),)),
        agent("e-pending-offline", NOW - 600, (("other", 3),)),
    ]
    rollout = rules.rollout(config, targeted, NOW, 60)
    assert (rollout.config_version, rollout.targeted, rollout.online) == (3, 5, 3)
    assert (rollout.current, rollout.outdated, rollout.pending) == (1, 2, 2)
    assert rollout.lagging == ("b-outdated", "c-pending", "d-outdated-offline", "e-pending-offline")


def test_rollout_lists_at_most_a_hundred_lagging_online_first() -> None:
    config = Config("c", content="x", version=1)
    held = (("c", 0),)
    offline = [agent(f"a{i:04d}", NOW - 600, held) for i in range(150)]
    online = [agent(f"z{i:04d}", NOW, held) for i in range(50)]
    rollout = rules.rollout(config, offline + online, NOW, 60)
    assert rollout.outdated == 200
    assert len(rollout.lagging) == rules.MAX_LAGGING
    assert rollout.lagging[:50] == tuple(f"z{i:04d}" for i in range(50)), "online ones first"
    assert rollout.lagging[50:] == tuple(f"a{i:04d}" for i in range(50)), "then by id"


def test_an_empty_rollout() -> None:
    rollout = rules.rollout(Config("c", content="x"), [], NOW, 60)
    assert (rollout.targeted, rollout.current, rollout.pending, rollout.lagging) == (0, 0, 0, ())
