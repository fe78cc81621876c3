"""The version-delta rules of GetConfigList: what an agent must add, replace, drop or keep.

For each config the agent reports that is not effective for it: DELETED. For each effective config:
NEW if the agent does not report it, MODIFIED if the reported version differs (in either direction:
after a restore the server's version can be the lower one), else SAME. Only NEW and MODIFIED carry the
version and the content. The answer is sorted by config name, so that it is stable.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum

from core.model import Config


class UpdateStatus(IntEnum):
    """The wire values of ConfigUpdateInfo.UpdateStatus."""

    SAME = 0
    NEW = 1
    DELETED = 2
    MODIFIED = 3


@dataclass(frozen=True, slots=True)
class ConfigUpdate:
    name: str
    status: UpdateStatus
    version: int = 0
    content: str = ""


def config_updates(effective: Iterable[Config], reported: Mapping[str, int]) -> list[ConfigUpdate]:
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
    return updates
