"""Group membership by tags and the configs in effect for an agent."""

from hypothesis import given
from hypothesis import strategies as st

from core.catalog import Catalog
from core.model import AgentGroup, Config

GROUPS = [
    AgentGroup("default"),
    AgentGroup("prod", tags=(("env", "prod"),)),
    AgentGroup("web", tags=(("role", "web"), ("role", "nginx"))),
    AgentGroup("untagged"),
]
CONFIGS = [Config(name, content=name) for name in ("all", "p1", "p2", "w1", "u1")]
BINDINGS = [
    ("default", "all"),
    ("prod", "p1"),
    ("prod", "p2"),
    ("web", "w1"),
    ("web", "p1"),
    ("untagged", "u1"),
]
CATALOG = Catalog.build(GROUPS, CONFIGS, BINDINGS)


def names(configs: tuple[Config, ...]) -> list[str]:
    return [config.name for config in configs]


def test_any_shared_tag_makes_a_member() -> None:
    assert CATALOG.groups_of([("env", "prod")]) == {"default", "prod"}
    assert CATALOG.groups_of([("role", "nginx"), ("env", "prod")]) == {"default", "prod", "web"}
    assert CATALOG.groups_of([("env", "web")]) == {"default"}, "name and value must both match"
    assert CATALOG.groups_of([]) == {"default"}


def test_effective_configs_are_the_union_of_the_groups() -> None:
    assert names(CATALOG.effective_configs(())) == ["all"]
    assert names(CATALOG.effective_configs((("env", "prod"), ("role", "web")))) == ["all", "p1", "p2", "w1"]


def test_a_group_without_tags_has_no_members() -> None:
    everyone = (("env", "prod"), ("role", "web"), ("role", "nginx"))
    assert "u1" not in names(CATALOG.effective_configs(everyone))


def test_writes_make_new_snapshots_and_leave_the_old_one() -> None:
    tags = (("env", "prod"),)
    before = CATALOG.effective_configs(tags)
    changed = CATALOG.with_applied("prod", CATALOG.applied["prod"] - {"p2"}).with_config(
        Config("p1", content="v1", version=1)
    )
    assert names(changed.effective_configs(tags)) == ["all", "p1"]
    assert changed.configs["p1"].version == 1
    assert CATALOG.effective_configs(tags) == before
    regrouped = CATALOG.with_group(AgentGroup("prod", tags=(("env", "staging"),)))
    assert regrouped.groups_of(tags) == {"default"}
    assert regrouped.groups_of([("env", "staging")]) == {"default", "prod"}
    assert "prod" not in CATALOG.without_group("prod").applied


def test_applied_lists_are_sorted() -> None:
    assert CATALOG.applied_configs("prod") == ["p1", "p2"]
    assert CATALOG.groups_applying("p1") == ["prod", "web"]
    assert CATALOG.applied_configs("nope") == []


tags = st.lists(st.tuples(st.sampled_from(["env", "role"]), st.sampled_from(["prod", "web", "nginx", "x"])))


@given(agent_tags=tags)
def test_membership_matches_the_definition(agent_tags: list[tuple[str, str]]) -> None:
    expected = {"default"} | {g.name for g in GROUPS if set(g.tags) & set(agent_tags)}
    assert CATALOG.groups_of(agent_tags) == expected
    effective = {c for g, c in BINDINGS if g in expected}
    assert names(CATALOG.effective_configs(tuple(agent_tags))) == sorted(effective)
