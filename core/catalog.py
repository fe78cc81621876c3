"""The catalog: agent groups, configs and which configs are applied to which groups.

A `Catalog` is an immutable snapshot. Readers on any thread take the current one and never lock; a write
builds the next snapshot (sharing what did not change) and swaps it in. The catalog is small (it is what
operators write), so copying its maps on a write is cheap, while reads, above all an agent's
GetConfigList, find what they need by index: the groups of an agent from its own tags, the configs of a
group from its bindings. No read scans all groups or configs.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from core import rules
from core.model import AgentGroup, Config, ConfigKind, Tag

MAX_TAG_SETS = 10_000
"""Distinct agent tag sets whose effective configs a catalog snapshot remembers; past it, it starts again."""


def _index_tags(groups: Mapping[str, AgentGroup]) -> dict[Tag, frozenset[str]]:
    """Groups by each of their tags, and by ("", value) for each tag value: what a v1 agent's tag (a value
    without a name) matches. Group tags always have a name, so the two never mix."""
    index: dict[Tag, set[str]] = {}
    for group in groups.values():
        for tag in group.tags:
            index.setdefault(tag, set()).add(group.name)
            index.setdefault(("", tag[1]), set()).add(group.name)
    return {tag: frozenset(names) for tag, names in index.items()}


@dataclass(frozen=True)
class Catalog:
    groups: Mapping[str, AgentGroup]
    configs: Mapping[str, Config]
    applied: Mapping[str, frozenset[str]]
    """Group name -> names of the configs applied to it; groups without bindings are absent."""
    groups_by_tag: Mapping[Tag, frozenset[str]] = field(default_factory=dict)
    _effective: dict[frozenset[str], tuple[Config, ...]] = field(default_factory=dict, compare=False)
    _of_kind: dict[tuple[frozenset[str], ConfigKind], tuple[Config, ...]] = field(
        default_factory=dict, compare=False
    )
    _by_tags: dict[tuple[tuple[Tag, ...], ConfigKind | None], tuple[Config, ...]] = field(
        default_factory=dict, compare=False
    )

    @classmethod
    def build(
        cls,
        groups: Iterable[AgentGroup],
        configs: Iterable[Config],
        bindings: Iterable[tuple[str, str]],
    ) -> "Catalog":
        """A catalog from stored rows; `bindings` are (group name, config name) pairs."""
        group_map = {group.name: group for group in groups}
        applied: dict[str, set[str]] = {}
        for group_name, config_name in bindings:
            applied.setdefault(group_name, set()).add(config_name)
        return cls(
            groups=group_map,
            configs={config.name: config for config in configs},
            applied={name: frozenset(names) for name, names in applied.items()},
            groups_by_tag=_index_tags(group_map),
        )

    @classmethod
    def empty(cls) -> "Catalog":
        return cls.build((), (), ())

    # Reads.

    def groups_of(self, tags: Iterable[Tag]) -> frozenset[str]:
        """The groups an agent with these tags belongs to (`core.rules.groups_of`)."""
        return rules.groups_of(tags, self.groups_by_tag)

    def effective_configs(self, tags: tuple[Tag, ...], kind: ConfigKind | None = None) -> tuple[Config, ...]:
        """The union of the configs applied to every group of an agent with these tags (of one kind, or of
        every kind for None).

        Memoized per tag set and kind on this snapshot (an agent's tags are a tuple the registry shares with
        every agent that has them, so the hot paths look their configs up without building their set of
        groups), and per set of groups: agents of a fleet share few distinct tag sets and fewer group sets.
        The tag-set memo is bounded (MAX_TAG_SETS) against agents inventing tags.
        """
        key = (tags, kind)
        found = self._by_tags.get(key)
        if found is None:
            found = self._effective_configs(tags, kind)
            if len(self._by_tags) >= MAX_TAG_SETS:
                self._by_tags.clear()
            self._by_tags[key] = found
        return found

    def _effective_configs(self, tags: Iterable[Tag], kind: ConfigKind | None) -> tuple[Config, ...]:
        groups = self.groups_of(tags)
        if kind is None:
            return self.configs_of(groups)
        found = self._of_kind.get((groups, kind))
        if found is None:
            found = tuple(config for config in self.configs_of(groups) if config.kind is kind)
            self._of_kind[(groups, kind)] = found
        return found

    def configs_of(self, groups: frozenset[str]) -> tuple[Config, ...]:
        """The union of the configs applied to `groups`, by name (memoized like `effective_configs`)."""
        found = self._effective.get(groups)
        if found is None:
            names = set().union(*(self.applied.get(group, ()) for group in groups))
            found = tuple(self.configs[name] for name in sorted(names))
            self._effective[groups] = found
        return found

    def applied_configs(self, group_name: str) -> list[str]:
        return sorted(self.applied.get(group_name, ()))

    def groups_applying(self, config_name: str) -> list[str]:
        return sorted(group for group, names in self.applied.items() if config_name in names)

    # Writes: each returns the next snapshot.

    def with_group(self, group: AgentGroup) -> "Catalog":
        groups = {**self.groups, group.name: group}
        return Catalog(groups, self.configs, self.applied, _index_tags(groups))

    def without_group(self, name: str) -> "Catalog":
        groups = {key: value for key, value in self.groups.items() if key != name}
        applied = {key: value for key, value in self.applied.items() if key != name}
        return Catalog(groups, self.configs, applied, _index_tags(groups))

    def with_config(self, config: Config) -> "Catalog":
        return Catalog(self.groups, {**self.configs, config.name: config}, self.applied, self.groups_by_tag)

    def without_config(self, name: str) -> "Catalog":
        configs = {key: value for key, value in self.configs.items() if key != name}
        return Catalog(self.groups, configs, self.applied, self.groups_by_tag)

    def with_applied(self, group_name: str, config_names: Iterable[str]) -> "Catalog":
        """The bindings of one group replaced, as another server stored them."""
        applied = {key: value for key, value in self.applied.items() if key != group_name}
        names = frozenset(config_names)
        if names:
            applied[group_name] = names
        return Catalog(self.groups, self.configs, applied, self.groups_by_tag)
