"""How large the agents' GetConfigList answers get: the bound of `--max-answer-size`, checked before every
write that could grow what agents get (`core.rules`).

An answer depends on the groups an agent belongs to, which its tags decide, so only memory can tell what
answers a write changes: the catalog after the write, and the tag sets of the agents it concerns. For
each group a write touches, the answers it bounds are those of an agent holding any one tag of the group
(also one yet to register: it joins every group with that tag, and `default`), and those of its known
members, whose other groups add theirs. Work is bounded by the members of the groups concerned.
"""

from collections.abc import Iterable, Iterator

from core import rules
from core.agents import AgentRegistry
from core.catalog import Catalog
from core.model import DEFAULT_GROUP, Config
from core.rules import AnswerBudget


class AnswerBounds:
    def __init__(self, agents: AgentRegistry, limit: int) -> None:
        self._agents = agents
        self._limit = limit

    def check(self, after: Catalog, groups: Iterable[str]) -> None:
        """Refuse a write after which an agent of `groups` would get an answer over the bound."""
        for who, configs in self._answers(after, groups):
            rules.check_answer_size(who, configs, self._limit)

    def budget(self, catalog: Catalog, config_name: str) -> AnswerBudget | None:
        """The largest answer config `config_name` is part of, without its own entry (None: it is in no
        answer): what a write of its content must fit (`rules.check_budget`)."""
        largest: AnswerBudget | None = None
        for who, configs in self._answers(catalog, catalog.groups_applying(config_name)):
            others = [config for config in configs if config.name != config_name]
            size = rules.answer_size(others)
            if largest is None or size > largest.size_without:
                largest = AnswerBudget(who, len(others), size, self._limit)
        return largest

    def _answers(self, catalog: Catalog, groups: Iterable[str]) -> Iterator[tuple[str, tuple[Config, ...]]]:
        """Every distinct answer an agent of `groups` can get, with who gets it."""
        seen: set[int] = set()
        agents = self._agents
        for group_name in sorted(groups):
            group = catalog.groups.get(group_name)
            if group is None:
                continue
            sharing = [catalog.groups_by_tag.get(tag, frozenset()) for tag in group.tags] or [frozenset()]
            for groups_of_tag in sharing:
                joined = groups_of_tag | {group_name, DEFAULT_GROUP}
                yield f"Agent group {group_name}", catalog.configs_of(joined)
            for agent in agents.these(agents.ids(rules.member_tags(group))):
                tags = agent.attributes.tags
                if id(tags) not in seen:  # agents share their tag sets: each is one answer
                    seen.add(id(tags))
                    yield f"Agent {agent.agent_id} (groups of its tags)", catalog.effective_configs(tags)
