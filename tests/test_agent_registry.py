"""The registry's count of agents seen since a moment, kept as heartbeats arrive, is the count a scan of
the fleet gives, whatever the order of registrations, heartbeats, reloads, other servers' activity and
removals; and a record, once read, never changes (a change is a new record in its place)."""

from dataclasses import replace

from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.agents import Activity, AgentRegistry
from core.model import Agent, AgentAttributes

IDS = st.sampled_from(["a", "b", "c", "d"])
SECONDS = st.integers(0, 30)
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("merge"), IDS, SECONDS),
        st.tuples(st.just("touch"), IDS, SECONDS),
        st.tuples(st.just("absorb"), IDS, SECONDS),
        st.tuples(st.just("remove"), IDS, SECONDS),
    ),
    max_size=40,
)


def scanned(registry: AgentRegistry, ids: list[str], moment: float) -> int:
    return sum(agent.latest_heartbeat_time > moment for agent in registry.these(ids))


@given(operations=OPERATIONS, moments=st.lists(st.floats(-1, 32), min_size=1, max_size=3))
@example(operations=[("merge", "a", 3), ("touch", "a", 20)], moments=[10.0])
@settings(max_examples=500)  # cheap: no server
def test_counts_by_second_match_a_scan(operations: list[tuple[str, str, int]], moments: list[float]) -> None:
    registry = AgentRegistry([Agent("a", AgentAttributes(ip="1"), 5)])
    read: list[tuple[Agent, Agent]] = []
    for operation, agent_id, second in operations:
        known = registry.get(agent_id)
        if known is not None:
            read.append((known, replace(known)))
        if operation == "merge":
            registry.merge(Agent(agent_id, AgentAttributes(ip=str(second)), second))
        elif operation == "touch":
            assert registry.touch(agent_id, second) is registry.get(agent_id)
        elif operation == "absorb":
            registry.absorb([Activity(agent_id, second, {}, (), 0)])
        elif operation == "remove":
            registry.remove(agent_id)
    ids = ["a", "b", "c", "d"]
    assert registry.seen_after(*moments) == [scanned(registry, ids, moment) for moment in moments]
    assert all(record == copy for record, copy in read), "a record read once changed in place"
