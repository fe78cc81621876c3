"""The version-delta rules: what an agent must add, replace, drop or keep, for each protocol generation.

Alpha (GetConfigList):
For each config the agent reports that is not effective for it: DELETED. For each effective config:
NEW if the agent does not report it, MODIFIED if the reported version differs (in either direction:
after a restore the server's version can be the lower one), else SAME. Only NEW and MODIFIED carry the
version and the content. The answer is sorted by config name, so that it is stable. v2 (`deliveries`)
and v1 (`checks`) follow their agents' own rules, below.
"""

from collections.abc import Iterable, Mapping
from enum import IntEnum
from typing import NamedTuple

from core.content import json_object
from core.model import Config


class UpdateStatus(IntEnum):
    """The wire values of ConfigUpdateInfo.UpdateStatus."""

    SAME = 0
    NEW = 1
    DELETED = 2
    MODIFIED = 3


class ConfigUpdate(NamedTuple):
    """One entry of an alpha answer. The delta types are named tuples: immutable, built and hashed in C on
    the hot paths, where a façade keys the answers it has encoded by them."""

    name: str
    status: UpdateStatus
    version: int = 0
    content: str = ""


def config_updates(effective: Iterable[Config], reported: Mapping[str, int]) -> tuple[ConfigUpdate, ...]:
    """Compare the configs in effect for an agent with the versions it reports holding."""
    updates: list[ConfigUpdate] = []
    effective_names = set()
    for config in effective:
        effective_names.add(config.name)
        held = reported.get(config.name)
        if held is None:
            updates.append(ConfigUpdate(config.name, UpdateStatus.NEW, config.version, config.content))
        elif held != config.version:
            updates.append(ConfigUpdate(config.name, UpdateStatus.MODIFIED, config.version, config.content))
        else:
            updates.append(ConfigUpdate(config.name, UpdateStatus.SAME))
    updates.extend(
        ConfigUpdate(name, UpdateStatus.DELETED) for name in reported if name not in effective_names
    )
    updates.sort(key=lambda update: update.name)
    return tuple(updates)


class Held(NamedTuple):
    """What a v1 or v2 agent reports of one config it holds: its version (None: v2's -1, removed or disabled
    locally), and (v2) how applying it went."""

    name: str
    version: int | None
    status: str = ""


class Delivery(NamedTuple):
    """What a v2 agent must do with one config: apply `detail` (a JSON object) at `version`, or remove it
    (version None)."""

    name: str
    version: int | None
    detail: bytes = b""


def deliveries(effective: Iterable[Config], reported: Iterable[Held]) -> tuple[Delivery, ...]:
    """The v2 rules (LoongCollector): send a config the agent lacks or reports at another version (-1
    included); never resend one it reports at the same version, whatever its status (a resend resets it
    to APPLYING for good); remove a reported config that is not in effect. A config that is not a JSON
    object or a YAML mapping is not sent (the agent could not apply it)."""
    held = {entry.name: entry.version for entry in reported}
    found: list[Delivery] = []
    names = set()
    for config in effective:
        names.add(config.name)
        if config.name in held and held[config.name] == config.version:
            continue
        detail = json_object(config)
        if detail is not None:
            found.append(Delivery(config.name, config.version, detail))
    found.extend(Delivery(name, None) for name in held if name not in names)
    found.sort(key=lambda delivery: delivery.name)
    return tuple(found)


def fetched(effective: Iterable[Config], wanted: Iterable[str]) -> list[Delivery]:
    """The details a v2 agent asks for after a heartbeat that set the fetch flag: each config at its
    current version, or its removal when it is no longer in effect. One that is not a JSON object is left
    out: the agent keeps what it runs, as a heartbeat would."""
    by_name = {config.name: config for config in effective}
    found: list[Delivery] = []
    for name in wanted:
        config = by_name.get(name)
        if config is None:
            found.append(Delivery(name, None))
            continue
        detail = json_object(config)
        if detail is not None:
            found.append(Delivery(name, config.version, detail))
    return found


class CheckStatus(IntEnum):
    """The v1 check results (iLogtail): only changes are reported."""

    NEW = 0
    DELETED = 1
    MODIFIED = 2


class Check(NamedTuple):
    """A change a v1 agent must make: the version it reported (None: it holds none) and the new one (None:
    delete)."""

    name: str
    status: CheckStatus
    old_version: int | None
    new_version: int | None


def checks(effective: Iterable[Config], reported: Mapping[str, int]) -> list[Check]:
    """The v1 rules: NEW for a config the agent lacks, MODIFIED for one at another version, DELETED for
    one it holds that is no longer in effect; nothing for one it holds at the same version."""
    found: list[Check] = []
    names = set()
    for config in effective:
        names.add(config.name)
        held = reported.get(config.name)
        if held is None:
            found.append(Check(config.name, CheckStatus.NEW, None, config.version))
        elif held != config.version:
            found.append(Check(config.name, CheckStatus.MODIFIED, held, config.version))
    found.extend(
        Check(name, CheckStatus.DELETED, version, None)
        for name, version in reported.items()
        if name not in names
    )
    found.sort(key=lambda check: check.name)
    return found
