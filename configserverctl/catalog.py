"""The catalog an operator edits: agent groups, configs, and the bindings of configs to groups.

One command per User API call, named as a user guesses (`get configs`, `create group`, `apply CONFIG
--group G`); each write takes --reason, and the config writes that can lose an update take
--expected-version.
"""

from typing import Any

import click
from rich.console import Group as Stack
from rich.console import RenderableType
from rich.rule import Rule
from rich.text import Text

from configserverctl.client import Answer
from configserverctl.options import (
    Command,
    Session,
    expected_version_option,
    expecting,
    pass_session,
    reason_option,
    tag_option,
)
from configserverctl.output import emit, fields, output_option, table, tags, when

KINDS = ("PIPELINE", "INSTANCE")
PAGE_SIZE = 100
"""Configs per ListConfigs page (each carries its content)."""


def done(answer: Answer, output: str, what: str) -> None:
    """Show a write's answer: `what` happened, or the answer itself in json and yaml."""
    emit(answer, output, lambda _: what)


def read_content(path: str) -> str:
    """A config's content from a file, or from stdin for `-`."""
    with click.open_file(path, encoding="utf-8") as source:
        content: str = source.read()
    return content


def config_detail(name: str, content: str, **optional: str | None) -> dict[str, Any]:
    """A Config message: the optional fields only when given (UpdateConfig keeps those left out)."""
    detail: dict[str, Any] = {"configName": name, "content": content}
    detail.update({key: value for key, value in optional.items() if value is not None})
    return detail


def configs_view(answer: Answer) -> RenderableType:
    if "configNames" in answer:
        return table("CONFIG", rows=([name] for name in answer["configNames"]))
    rows = (
        (
            c["configName"],
            c["kind"],
            c["agentType"],
            c["version"],
            when(c["updateTime"]),
            c["description"],
        )
        for c in answer["configDetails"]
    )
    return table("NAME", "KIND", "AGENT TYPE", "VERSION", "UPDATED", "DESCRIPTION", rows=rows)


def config_view(answer: Answer) -> RenderableType:
    config = answer["configDetail"]
    summary = fields(
        [
            ("name", config["configName"]),
            ("kind", config["kind"]),
            ("agent type", config["agentType"]),
            ("description", config["description"]),
            ("version", config["version"]),
            ("updated", when(config["updateTime"])),
        ]
    )
    return Stack(summary, Rule("content", align="left"), Text(config["content"]))


def groups_view(answer: Answer) -> RenderableType:
    if "agentGroupNames" in answer:
        return table("GROUP", rows=([name] for name in answer["agentGroupNames"]))
    groups = answer.get("agentGroups", [answer.get("agentGroup")])
    rows = ((g["groupName"], tags(g["tags"]), g["description"]) for g in groups)
    return table("NAME", "TAGS", "DESCRIPTION", rows=rows)


@click.command("configs")
@click.option("--group", metavar="GROUP", help="Only the configs applied to GROUP (their names).")
@output_option
@pass_session
def get_configs(session: Session, group: str | None, output: str) -> None:
    """List configs (without content), or the names of those applied to a group."""
    if group is None:
        answer = session.api.pages("ListConfigs", {}, "configDetails", PAGE_SIZE)
    else:
        answer = session.api.call("GetAppliedConfigsForAgentGroup", {"groupName": group})
    emit(answer, output, configs_view)


@click.command("config")
@click.argument("name")
@output_option
@pass_session
def get_config(session: Session, name: str, output: str) -> None:
    """Show a config: its fields, version and content."""
    emit(session.api.call("GetConfig", {"configName": name}), output, config_view)


@click.command("groups")
@click.option("--config", metavar="CONFIG", help="Only the groups CONFIG is applied to (their names).")
@output_option
@pass_session
def get_groups(session: Session, config: str | None, output: str) -> None:
    """List agent groups, or the names of those a config is applied to."""
    if config is None:
        answer = session.api.call("ListAgentGroups")
    else:
        answer = session.api.call("GetAppliedAgentGroups", {"configName": config})
    emit(answer, output, groups_view)


@click.command("group")
@click.argument("name")
@output_option
@pass_session
def get_group(session: Session, name: str, output: str) -> None:
    """Show an agent group: its tags and description."""
    emit(session.api.call("GetAgentGroup", {"groupName": name}), output, groups_view)


@click.command("group")
@click.argument("name")
@tag_option
@click.option("--description", default="", help="What the group is.")
@reason_option
@output_option
@pass_session
def create_group(
    session: Session, name: str, tags: tuple[dict[str, str], ...], description: str, reason: str, output: str
) -> None:
    """Create an agent group: agents with any of its tags belong to it."""
    group = {"groupName": name, "description": description, "tags": list(tags)}
    answer = session.api.call("CreateAgentGroup", {"agentGroup": group, "reason": reason})
    done(answer, output, f"group/{name} created")


@click.command("group")
@click.argument("name")
@tag_option
@click.option("--description", help="What the group is.")
@reason_option
@output_option
@pass_session
def update_group(
    session: Session,
    name: str,
    tags: tuple[dict[str, str], ...],
    description: str | None,
    reason: str,
    output: str,
) -> None:
    """Change a group: --tag options replace all its tags, --description its description; what is left
    out is kept, and so are its applied configs. `preview group` shows which agents a change moves."""
    group = session.api.call("GetAgentGroup", {"groupName": name})["agentGroup"]
    if tags:
        group["tags"] = list(tags)
    if description is not None:
        group["description"] = description
    answer = session.api.call("UpdateAgentGroup", {"agentGroup": group, "reason": reason})
    done(answer, output, f"group/{name} updated")


@click.command("group")
@click.argument("name")
@reason_option
@output_option
@pass_session
def delete_group(session: Session, name: str, reason: str, output: str) -> None:
    """Delete an agent group (not `default`, nor one with applied configs)."""
    answer = session.api.call("DeleteAgentGroup", {"groupName": name, "reason": reason})
    done(answer, output, f"group/{name} deleted")


def config_options(command: Command) -> Command:
    """The options of a config's fields, shared by create and update."""
    for option in reversed(
        [
            click.option(
                "-f", "--file", "path", required=True, metavar="FILE", help="The content ('-': stdin)."
            ),
            click.option(
                "--kind", type=click.Choice(KINDS, case_sensitive=False), help="INSTANCE: v2 agents only."
            ),
            click.option("--agent-type", help="The agent type it is for."),
            click.option("--description", help="What the config does."),
        ]
    ):
        command = option(command)
    return command


@click.command("config")
@click.argument("name")
@config_options
@reason_option
@output_option
@pass_session
def create_config(
    session: Session,
    name: str,
    path: str,
    kind: str | None,
    agent_type: str | None,
    description: str | None,
    reason: str,
    output: str,
) -> None:
    """Create a config from a file (version 0)."""
    detail = config_detail(name, read_content(path), kind=kind, agentType=agent_type, description=description)
    answer = session.api.call("CreateConfig", {"configDetail": detail, "reason": reason})
    done(answer, output, f"config/{name} created")


@click.command("config")
@click.argument("name")
@config_options
@expected_version_option
@reason_option
@output_option
@pass_session
def update_config(
    session: Session,
    name: str,
    path: str,
    kind: str | None,
    agent_type: str | None,
    description: str | None,
    expected_version: int | None,
    reason: str,
    output: str,
) -> None:
    """Replace a config's content from a file; kind, agent type and description left out are kept."""
    detail = config_detail(name, read_content(path), kind=kind, agentType=agent_type, description=description)
    request = expecting(expected_version, configDetail=detail, reason=reason)
    done(session.api.call("UpdateConfig", request), output, f"config/{name} updated")


@click.command("config")
@click.argument("name")
@expected_version_option
@reason_option
@output_option
@pass_session
def delete_config(
    session: Session, name: str, expected_version: int | None, reason: str, output: str
) -> None:
    """Delete a config (remove it from its groups first); its history is kept."""
    request = expecting(expected_version, configName=name, reason=reason)
    done(session.api.call("DeleteConfig", request), output, f"config/{name} deleted")


def bind(session: Session, config: str, group: str, reason: str, output: str) -> None:
    """`apply CONFIG --group G`: the config reaches the group's agents."""
    request = {"configName": config, "groupName": group, "reason": reason}
    done(
        session.api.call("ApplyConfigToAgentGroup", request),
        output,
        f"config/{config} applied to group/{group}",
    )


@click.command("remove")
@click.argument("config")
@click.option("--group", required=True, metavar="GROUP", help="The group to take it from.")
@reason_option
@output_option
@pass_session
def remove(session: Session, config: str, group: str, reason: str, output: str) -> None:
    """Remove a config from an agent group: its agents drop it."""
    request = {"configName": config, "groupName": group, "reason": reason}
    answer = session.api.call("RemoveConfigFromAgentGroup", request)
    done(answer, output, f"config/{config} removed from group/{group}")
