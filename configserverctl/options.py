"""What commands share: the session (which server, which token), and options that parse the same way
everywhere (tags, times, reasons), so that `--since 2h` or `--tag env=prod` mean one thing in every
command."""

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import click

from configserverctl.client import Api

DEFAULT_SERVER = "http://127.0.0.1:8899"
TOKEN_VARIABLE = "CONFIGSERVER_TOKEN"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

Command = TypeVar("Command", bound=Callable[..., Any])


@dataclass
class Session:
    """The server and credentials of this run; the token is read only when a command calls the server,
    so that `--help` works whatever the token file."""

    server: str
    token_file: Path | None

    @cached_property
    def api(self) -> Api:
        return Api(self.server, self._token())

    def _token(self) -> str | None:
        if self.token_file is None:
            return os.environ.get(TOKEN_VARIABLE) or None
        try:
            token = self.token_file.read_text().strip()
        except (OSError, UnicodeDecodeError) as error:
            raise click.BadParameter(
                f"cannot read {self.token_file}: {error}", param_hint="--token-file"
            ) from error
        if not token:
            raise click.BadParameter(f"{self.token_file} holds no token", param_hint="--token-file")
        return token


pass_session = click.make_pass_decorator(Session)


class TagParam(click.ParamType[dict[str, str]]):
    """`NAME=VALUE`, as {name, value} (an agent group tag)."""

    name = "NAME=VALUE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dict[str, str]:
        if isinstance(value, dict):
            return value
        name, equals, tag_value = str(value).partition("=")
        if not equals or not name:
            self.fail(f"{value!r} is not NAME=VALUE", param, ctx)
        return {"name": name, "value": tag_value}


class SinceParam(click.ParamType[int]):
    """A point in time as unix seconds: unix seconds, an ISO 8601 time (UTC unless it says otherwise), or
    an age such as 30m, 2h, 7d (that long ago)."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        text = str(value).strip()
        if text.isdigit():
            return int(text)
        age = re.fullmatch(r"(\d+)([smhdw])", text)
        if age:
            return int(datetime.now(UTC).timestamp()) - int(age[1]) * UNITS[age[2]]
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"{text!r} is not unix seconds, an ISO 8601 time or an age like 2h", param, ctx)
        return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def reason_option(command: Command) -> Command:
    """--reason of every write: recorded in the audit trail and the config history."""
    option = click.option(
        "--reason", default="", metavar="TEXT", help="Why: recorded in the audit trail (and config history)."
    )
    return option(command)


def expected_version_option(command: Command) -> Command:
    """--expected-version of the writes that take it: refused, unchanged, if someone wrote meanwhile."""
    option = click.option(
        "--expected-version",
        type=click.IntRange(min=0),
        metavar="N",
        help="Refuse (ConfigVersionConflict) unless the config is still at version N.",
    )
    return option(command)


def expecting(expected_version: int | None, **request: Any) -> dict[str, Any]:
    """A write's request, with expectedVersion when --expected-version was given."""
    if expected_version is not None:
        request["expectedVersion"] = str(expected_version)
    return request


def tag_option(command: Command) -> Command:
    option = click.option(
        "--tag",
        "tags",
        type=TagParam(),
        multiple=True,
        help="A tag of the group (repeatable): agents holding any of them belong to it.",
    )
    return option(command)


def limit_option(command: Command) -> Command:
    """--limit of the listings that can be long (alarms, audit events): the newest first."""
    option = click.option(
        "--limit",
        type=click.IntRange(min=0),
        default=100,
        show_default=True,
        help="At most this many, the newest (0: all).",
    )
    return option(command)
