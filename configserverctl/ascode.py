"""Config as code: the catalog (groups, configs, bindings) as YAML files under version control, and the
changes that make the server match them.

The layout, one file per object, named after it (percent-encoded where a name is not a file name):

    DIR/groups/<name>.yaml    name, description, tags: [{name, value}]
    DIR/configs/<name>.yaml   name, kind, agentType, description, groups: [group names], content

A config's `groups` are all the groups it is applied to: bindings are declared on the config, so that one
file says where a config goes. The name inside a file is the one that counts.

A plan is a list of changes, each one User API call. Config updates and deletions carry the version read
while planning as `expectedVersion`, so that a change made by someone else after the plan was shown is
refused (ConfigVersionConflict), never overwritten.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import quote

import click
import yaml

from configserverctl.catalog import KINDS
from configserverctl.client import Api, Refused
from configserverctl.output import dump_yaml, echo_diff, unified

GROUPS, CONFIGS = "groups", "configs"
DEFAULT_GROUP = "default"
"""Always on the server: never created nor deleted, updated only when the directory holds it."""
SUFFIXES = (".yaml", ".yml")
ACTIONS = ("create", "update", "unbind", "bind", "delete")
"""What a change does, in the order a plan makes them."""
CONFIG_PAGE_SIZE = 100
FIELD_LABELS = (("kind", "kind"), ("agentType", "agent_type"), ("description", "description"))
"""A config's fields besides content, as a file names them and as Config does."""
EXIT_BAD_DIRECTORY = 2


class BadDirectory(click.ClickException):
    """The directory is not a catalog this tool can read: nothing was sent to the server."""

    exit_code = EXIT_BAD_DIRECTORY


@dataclass(frozen=True)
class Group:
    name: str
    description: str = ""
    tags: tuple[tuple[str, str], ...] = ()

    def document(self) -> dict[str, Any]:
        tags = [{"name": name, "value": value} for name, value in self.tags]
        return {"name": self.name, "description": self.description, "tags": tags}

    def message(self) -> dict[str, Any]:
        """As an AgentGroup message."""
        tags = [{"name": name, "value": value} for name, value in self.tags]
        return {"groupName": self.name, "description": self.description, "tags": tags}

    def differences(self, other: "Group") -> list[str]:
        """What changes from `self` to `other`, one line per field (tags in any order are the same)."""
        changes = []
        if self.description != other.description:
            changes.append(f"description: {self.description!r} -> {other.description!r}")
        if sorted(self.tags) != sorted(other.tags):
            changes.append(f"tags: {show_tags(self.tags)} -> {show_tags(other.tags)}")
        return changes


@dataclass(frozen=True)
class Config:
    name: str
    content: str
    kind: str = "PIPELINE"
    agent_type: str = ""
    description: str = ""
    groups: frozenset[str] = field(default_factory=frozenset)

    def document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "agentType": self.agent_type,
            "description": self.description,
            "groups": sorted(self.groups),
            "content": self.content,
        }

    def message(self) -> dict[str, Any]:
        """As a Config message: every field, so that an update clears what the file leaves empty."""
        return {
            "configName": self.name,
            "kind": self.kind,
            "agentType": self.agent_type,
            "description": self.description,
            "content": self.content,
        }

    def differences(self, other: "Config", version: int) -> list[str]:
        """What changes from `self` (at `version`) to `other`, bindings aside: fields, then the content's
        unified diff."""
        changes = [
            f"{label}: {getattr(self, attribute)!r} -> {getattr(other, attribute)!r}"
            for label, attribute in FIELD_LABELS
            if getattr(self, attribute) != getattr(other, attribute)
        ]
        changes += unified(self.content, other.content, f"{self.name}@{version}", f"{other.name} (new)")
        return changes


Item = TypeVar("Item", Group, Config)


@dataclass
class Catalog:
    groups: dict[str, Group]
    configs: dict[str, Config]
    versions: dict[str, int] = field(default_factory=dict)
    """The server's config versions (a directory has none)."""

    def bindings(self, configs: Iterable[str] | None = None) -> set[tuple[str, str]]:
        """(config, group) pairs, of `configs` (every config by default)."""
        names = self.configs if configs is None else configs
        return {(name, group) for name in names for group in self.configs[name].groups}


@dataclass(frozen=True)
class Change:
    action: str  # create, update, delete, bind, unbind
    target: str  # "group NAME", "config NAME", "config NAME to/from group GROUP"
    rpc: str
    request: dict[str, Any]
    details: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        return f"{self.action} {self.target}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def show_tags(tags: Iterable[tuple[str, str]]) -> str:
    return ",".join(f"{name}={value}" for name, value in tags) or "(none)"


# The server's catalog.


def read_server(api: Api) -> Catalog:
    """Groups, configs with their versions, and bindings, as the server holds them now."""
    listed = api.call("ListAgentGroups")["agentGroups"]
    groups = {group.name: group for group in map(group_of_message, listed)}
    bound: dict[str, set[str]] = {}
    for group in groups:
        for config in api.call("GetAppliedConfigsForAgentGroup", {"groupName": group})["configNames"]:
            bound.setdefault(config, set()).add(group)
    details = api.pages("ListConfigs", {}, "configDetails", CONFIG_PAGE_SIZE)["configDetails"]
    configs = {d["configName"]: config_of_message(d, bound.get(d["configName"], set())) for d in details}
    return Catalog(groups, configs, {d["configName"]: int(d["version"]) for d in details})


def group_of_message(group: dict[str, Any]) -> Group:
    tags = tuple((tag["name"], tag["value"]) for tag in group.get("tags", []))
    return Group(group["groupName"], group.get("description", ""), tags)


def config_of_message(detail: dict[str, Any], groups: set[str]) -> Config:
    return Config(
        name=detail["configName"],
        content=detail["content"],
        kind=detail.get("kind", "PIPELINE"),
        agent_type=detail.get("agentType", ""),
        description=detail.get("description", ""),
        groups=frozenset(groups),
    )


def export(api: Api, root: Path) -> list[Path]:
    """Write the server's catalog under `root`; YAML files there that name nothing on the server are
    removed, so that the directory is the server's catalog. The files written, in order."""
    catalog = read_server(api)
    written = write_documents(root / GROUPS, [g.document() for g in catalog.groups.values()])
    return written + write_documents(root / CONFIGS, [c.document() for c in catalog.configs.values()])


def write_documents(folder: Path, documents: list[dict[str, Any]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stale = set(documents_in(folder))
    written = []
    for document in sorted(documents, key=lambda d: str(d["name"])):
        path = folder / f"{quote(document['name'], safe='')}.yaml"
        path.write_text(dump_yaml(document), encoding="utf-8")
        stale.discard(path)
        written.append(path)
    for path in stale:
        path.unlink()
    return written


# The directory's catalog.


def documents_in(folder: Path) -> Iterator[Path]:
    if folder.is_dir():
        yield from sorted(path for path in folder.iterdir() if path.suffix in SUFFIXES and path.is_file())


def read_directory(root: Path) -> Catalog:
    """The catalog the files under `root` describe; BadDirectory names the first file that is wrong."""
    if not (root / GROUPS).is_dir() and not (root / CONFIGS).is_dir():
        raise BadDirectory(f"{root} holds neither {GROUPS}/ nor {CONFIGS}/: not a catalog (see `export`)")
    groups = load_all(root / GROUPS, group_of_document)
    configs = load_all(root / CONFIGS, config_of_document)
    return Catalog(groups, configs)


def load_all(folder: Path, parse: Callable[[dict[str, Any], Path], Item]) -> dict[str, Item]:
    items: dict[str, Item] = {}
    origins: dict[str, Path] = {}
    for path in documents_in(folder):
        item = parse(load_document(path), path)
        if item.name in items:
            raise BadDirectory(f"{path}: {item.name!r} is also described by {origins[item.name]}")
        items[item.name], origins[item.name] = item, path
    return items


def load_document(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise BadDirectory(f"{path}: {error}") from error
    if not isinstance(document, dict):
        raise BadDirectory(f"{path}: expected a mapping of fields")
    return document


class Fields:
    """The fields of one document, each checked for its type; unknown ones are refused, so that a typo
    (`descripton`) is never silently dropped."""

    def __init__(self, document: dict[str, Any], path: Path, known: tuple[str, ...]) -> None:
        self.document, self.path = document, path
        unknown = sorted(set(map(str, document)) - set(known))
        if unknown:
            self.fail(f"unknown field {', '.join(unknown)} (the fields: {', '.join(known)})")

    def fail(self, problem: str) -> NoReturn:
        raise BadDirectory(f"{self.path}: {problem}")

    def text(self, name: str, default: str | None = None) -> str:
        """A text field; left out or left empty (`description:`), `default`, if it has one."""
        value = self.document.get(name)
        value = default if value is None else value
        if not isinstance(value, str):
            self.fail(f"{name} is required" if value is None else f"{name} must be text")
        return str(value)

    def texts(self, name: str) -> list[str]:
        values = self.document.get(name) or []
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            self.fail(f"{name} must be a list of names")
        return list(values)

    def tags(self, name: str) -> tuple[tuple[str, str], ...]:
        values = self.document.get(name) or []
        if not isinstance(values, list) or not all(is_tag(value) for value in values):
            self.fail(f"{name} must be a list of {{name: NAME, value: VALUE}}")
        return tuple((tag["name"], tag["value"]) for tag in values)


def is_tag(value: Any) -> bool:
    """{name, value}, both text."""
    return (
        isinstance(value, dict)
        and set(value) == {"name", "value"}
        and all(isinstance(part, str) for part in value.values())
    )


def group_of_document(document: dict[str, Any], path: Path) -> Group:
    found = Fields(document, path, ("name", "description", "tags"))
    return Group(found.text("name"), found.text("description", ""), found.tags("tags"))


def config_of_document(document: dict[str, Any], path: Path) -> Config:
    found = Fields(document, path, ("name", "kind", "agentType", "description", "groups", "content"))
    kind = found.text("kind", "PIPELINE")
    if kind not in KINDS:
        found.fail(f"kind must be one of {', '.join(KINDS)}")
    return Config(
        name=found.text("name"),
        content=found.text("content"),
        kind=kind,
        agent_type=found.text("agentType", ""),
        description=found.text("description", ""),
        groups=frozenset(found.texts("groups")),
    )


# The plan.


def plan(current: Catalog, desired: Catalog, prune: bool) -> list[Change]:
    """The changes that make `current` (the server) match `desired` (the directory), in an order the
    server accepts: groups and configs first, then bindings, then what --prune deletes."""
    check_references(current, desired, prune)
    return [
        *group_changes(current, desired),
        *config_changes(current, desired),
        *binding_changes(current, desired, prune),
        *(pruning(current, desired) if prune else []),
    ]


def check_references(current: Catalog, desired: Catalog, prune: bool) -> None:
    """Every group a config names exists once the plan is applied; else nothing is sent."""
    kept = {DEFAULT_GROUP} if prune else set(current.groups)
    for config in desired.configs.values():
        missing = sorted(config.groups - set(desired.groups) - kept)
        if missing:
            where = "in the directory" if prune else "in the directory nor on the server"
            raise BadDirectory(f"config {config.name}: no group {', '.join(missing)} {where}")


def group_changes(current: Catalog, desired: Catalog) -> Iterator[Change]:
    for name, group in sorted(desired.groups.items()):
        now = current.groups.get(name)
        if now is None:
            yield Change("create", f"group {name}", "CreateAgentGroup", {"agentGroup": group.message()})
        elif details := tuple(now.differences(group)):
            request = {"agentGroup": group.message()}
            yield Change("update", f"group {name}", "UpdateAgentGroup", request, details)


def config_changes(current: Catalog, desired: Catalog) -> Iterator[Change]:
    for name, config in sorted(desired.configs.items()):
        now = current.configs.get(name)
        if now is None:
            yield Change("create", f"config {name}", "CreateConfig", {"configDetail": config.message()})
            continue
        version = current.versions[name]
        details = tuple(now.differences(config, version))
        if details:
            request = {"configDetail": config.message(), "expectedVersion": str(version)}
            yield Change("update", f"config {name} (version {version})", "UpdateConfig", request, details)


def binding_changes(current: Catalog, desired: Catalog, prune: bool) -> Iterator[Change]:
    """Unbind first (a config leaving a group makes room in its agents' answers), then bind. The configs
    the directory does not hold keep their bindings, unless --prune deletes them."""
    wanted = desired.bindings()
    if not prune:
        wanted |= current.bindings(set(current.configs) - set(desired.configs))
    held = current.bindings()
    for config, group in sorted(held - wanted):
        request = {"configName": config, "groupName": group}
        yield Change("unbind", f"config {config} from group {group}", "RemoveConfigFromAgentGroup", request)
    for config, group in sorted(wanted - held):
        request = {"configName": config, "groupName": group}
        yield Change("bind", f"config {config} to group {group}", "ApplyConfigToAgentGroup", request)


def pruning(current: Catalog, desired: Catalog) -> Iterator[Change]:
    for name in sorted(set(current.configs) - set(desired.configs)):
        version = current.versions[name]
        request = {"configName": name, "expectedVersion": str(version)}
        yield Change("delete", f"config {name} (version {version})", "DeleteConfig", request)
    for name in sorted(set(current.groups) - set(desired.groups) - {DEFAULT_GROUP}):
        yield Change("delete", f"group {name}", "DeleteAgentGroup", {"groupName": name})


def execute(api: Api, changes: list[Change], reason: str, report: Callable[[Change], None]) -> None:
    """Send each change in order, stopping at the first refusal, which says how far it got."""
    for made, change in enumerate(changes):
        try:
            api.call(change.rpc, {**change.request, "reason": reason})
        except Refused as refusal:
            progress = f"{made} of {len(changes)} changes were made before it"
            message = f"{change.summary}: {refusal.detail} ({progress})"
            raise Refused(refusal.code, message, refusal.status) from None
        report(change)


# Showing a plan.

SIGNS = {"create": ("+", "green"), "bind": ("+", "green"), "update": ("~", "yellow")}
REMOVAL = ("-", "red")


def echo_plan(changes: list[Change], where: str) -> None:
    """One line per change, what it changes indented below it, then the count."""
    if not changes:
        click.echo(f"No changes: {where} matches the directory.")
        return
    for change in changes:
        sign, colour = SIGNS.get(change.action, REMOVAL)
        click.echo(click.style(f"{sign} {change.summary}", fg=colour))
        echo_diff(change.details, indent="    ")
    counts = Counter(change.action for change in changes)
    tally = ", ".join(f"{counts[action]} {action}" for action in ACTIONS if counts[action])
    click.echo(f"{plural(len(changes), 'change')} to {where}: {tally}.")
