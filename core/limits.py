"""What the server accepts: names, sizes and counts, each refused with InvalidParameter and a message that
names the field and the limit.

Sizes are UTF-8 bytes, what the wire and the store hold. Names (groups, configs, agents, tags) must be
non-empty, at most `MAX_NAME` bytes, and free of
control characters, which would corrupt logs and terminals and have no business in an identifier.
The limits are generous for real fleets and small enough that one request cannot make the server hold
or send megabytes it did not expect.
"""

import re
from collections.abc import Iterable, Sized

from core.errors import Code, ServiceError
from core.model import Tag

MAX_NAME = 256
"""Bytes in a group, config or agent name, and in a tag's name or value."""
MAX_TEXT = 4096
"""Bytes in a description, a reason, and an agent's self-description (type, IP, version, status)."""
MAX_CONTENT = 1024 * 1024
"""Bytes in a config's content."""
MAX_TAGS = 64
"""Tags of one agent or one group."""
MAX_HELD_CONFIGS = 10_000
"""Entries in GetConfigList's config_versions."""
MAX_EXTRAS = 256
"""Extra entries in one RunningStatistics."""
MAX_ALARM = 64 * 1024
"""Bytes in an alarm's type and detail together."""

_FILE_SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def invalid(message: str) -> ServiceError:
    return ServiceError(Code.INVALID_PARAMETER, message)


def required(value: str, field: str) -> str:
    if not value:
        raise ServiceError(Code.BAD_REQUEST, f"{field} is required.")
    return value


def name(value: str, field: str) -> str:
    """A required identifier: non-empty, bounded, no control characters."""
    required(value, field)
    text(value, field, MAX_NAME)
    if _CONTROL.search(value):
        raise invalid(f"{field} contains control characters.")
    return value


def size(value: str) -> int:
    """UTF-8 bytes of `value`."""
    return len(value.encode("utf-8", "surrogatepass"))


def text(value: str, field: str, limit: int = MAX_TEXT) -> str:
    """At most `limit` UTF-8 bytes (counted only when the characters could exceed it), and no NUL: no
    text needs one, and PostgreSQL cannot store it."""
    if len(value) * 4 > limit and (len(value) > limit or size(value) > limit):
        raise invalid(f"{field} is longer than {limit} bytes (UTF-8).")
    if "\x00" in value:
        raise invalid(f"{field} contains a NUL character.")
    return value


def clipped(value: str, limit: int = MAX_TEXT) -> str:
    """`value` cut to at most `limit` characters and without NUL (which PostgreSQL cannot store): for what
    is recorded of a request that was refused."""
    return value[:limit].replace("\x00", "\ufffd")


def count(items: Sized, field: str, limit: int) -> None:
    if len(items) > limit:
        raise invalid(f"{field} has more than {limit} entries.")


def file_name(value: str, field: str) -> str:
    """A name agents use as a file name: LoongCollector and iLogtail write each config to a file named
    after it, unchecked."""
    name(value, field)
    if not _FILE_SAFE.fullmatch(value):
        raise invalid(
            f"{field} {value!r} cannot be a file name on the agents: use letters, digits, '_', '.' and '-', "
            "not starting with '.' or '-'."
        )
    return value


def tags(items: Iterable[Tag], field: str, values_only: bool = False) -> tuple[Tag, ...]:
    """A group's or an agent's tags; a v1 agent's (`values_only`) have no names."""
    checked = tuple(items)
    count(checked, field, MAX_TAGS)
    for tag_name, value in checked:
        if values_only:
            required(value, f"{field} value")
        elif not tag_name:
            raise invalid(f"{field} has a tag without a name.")
        else:
            name(tag_name, f"{field} name")
        text(value, f"{field} value", MAX_NAME)
        if _CONTROL.search(value):
            raise invalid(f"{field} value contains control characters.")
    return checked
