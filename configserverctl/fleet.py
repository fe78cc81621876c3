"""The fleet as it runs: agents, their alarms, how far a config has reached them, and who is asking.

Listings follow the server's pages, so that `get agents` shows every agent of a large fleet, and
`alarms` the newest ones up to --limit.
"""

from typing import Any

import click
from rich.console import Group as Stack
from rich.console import RenderableType

from configserverctl.client import Answer
from configserverctl.options import (
    Session,
    SinceParam,
    limit_option,
    pass_session,
    reason_option,
    tag_option,
)
from configserverctl.output import emit, fields, output_option, table, tags, when

AGENT_PAGE_SIZE = 500
ALARM_PAGE_SIZE = 100


def agents_view(answer: Answer) -> RenderableType:
    rows = (
        (
            a["agentId"],
            a["status"],
            a.get("protocol", ""),
            a["ip"],
            a.get("hostname", ""),
            a["version"],
            when(a["latestHeartbeatTime"]),
            tags(a["tags"]),
        )
        for a in answer["agents"]
    )
    return table("ID", "STATUS", "PROTOCOL", "IP", "HOSTNAME", "VERSION", "LAST HEARTBEAT", "TAGS", rows=rows)


def status_view(answer: Answer) -> RenderableType:
    names = ("targeted", "online", "current", "outdated", "pending", "applying", "applied", "failed")
    counts = [(f"agents {name}", answer[f"agents{name.title()}"]) for name in names]
    lagging = ", ".join(answer["laggingAgentIds"]) or "-"
    return fields([("config version", answer["configVersion"]), *counts, ("lagging", lagging)])


def alarms_view(answer: Answer) -> RenderableType:
    rows = ((when(a["time"]), a["agentId"], a["type"], a["detail"]) for a in answer["alarms"])
    return table("TIME", "AGENT", "TYPE", "DETAIL", rows=rows)


def summary_view(answer: Answer) -> RenderableType:
    def counts(scope: str, name: str, count: dict[str, str]) -> tuple[str, str, str, str]:
        return scope, name, count["online"], count["offline"]

    rows = [
        counts("all", "", answer["agents"]),
        *(counts("protocol", name, c) for name, c in sorted(answer["agentsByProtocol"].items())),
        *(counts("group", name, c) for name, c in sorted(answer["agentsByGroup"].items())),
    ]
    alarms = fields([("alarms in the last hour", answer["alarmsLastHour"])])
    return Stack(table("AGENTS", "NAME", "ONLINE", "OFFLINE", rows=rows), "", alarms)


def preview_view(answer: Answer) -> RenderableType:
    return fields(
        [
            ("agents matched", answer["agentsMatched"]),
            ("agents now", answer["agentsNow"]),
            ("agents added", answer["agentsAdded"]),
            ("agents removed", answer["agentsRemoved"]),
            ("added", ", ".join(answer["addedAgentIds"]) or "-"),
            ("removed", ", ".join(answer["removedAgentIds"]) or "-"),
        ]
    )


@click.command("agents")
@click.option("--group", default="default", show_default=True, help="The agents of this group.")
@click.option("--online/--offline", default=None, help="Only the agents online (or offline).")
@click.option(
    "--protocol", type=click.Choice(["alpha", "v2", "v1"]), default=None, help="Only the agents speaking it."
)
@click.option(
    "--page-size",
    type=click.IntRange(1, 10_000),
    default=AGENT_PAGE_SIZE,
    show_default=True,
    help="Agents per request; every page is followed.",
)
@output_option
@pass_session
def get_agents(
    session: Session, group: str, online: bool | None, protocol: str | None, page_size: int, output: str
) -> None:
    """List the agents of a group (every agent by default), following every page."""
    request: dict[str, Any] = {"groupName": group}
    if online is not None:
        request["status"] = "ONLINE" if online else "OFFLINE"
    if protocol is not None:
        request["protocol"] = protocol
    emit(session.api.pages("ListAgents", request, "agents", page_size), output, agents_view)


@click.command("agent")
@click.argument("agent_id", metavar="ID")
@reason_option
@output_option
@pass_session
def delete_agent(session: Session, agent_id: str, reason: str, output: str) -> None:
    """Forget an agent now (a decommissioned host); it registers anew if it sends a heartbeat."""
    answer = session.api.call("DeleteAgent", {"agentId": agent_id, "reason": reason})
    emit(answer, output, lambda _: f"agent/{agent_id} deleted")


@click.command("status")
@click.argument("config")
@output_option
@pass_session
def status(session: Session, config: str, output: str) -> None:
    """How far a config's current version has reached its agents, and which ones lag."""
    emit(session.api.call("GetConfigStatus", {"configName": config}), output, status_view)


@click.command("alarms")
@click.option("--agent", default="", metavar="ID", help="Only this agent's alarms.")
@click.option("--type", "alarm_type", default="", metavar="TYPE", help="Only alarms of this type.")
@click.option("--since", type=SinceParam(), help="Only alarms from then on: unix seconds, ISO 8601, or 2h.")
@limit_option
@output_option
@pass_session
def alarms(session: Session, agent: str, alarm_type: str, since: int | None, limit: int, output: str) -> None:
    """The alarms agents sent, newest first."""
    request: dict[str, Any] = {"agentId": agent, "type": alarm_type, "since": str(since or 0)}
    emit(session.api.pages("ListAlarms", request, "alarms", ALARM_PAGE_SIZE, limit), output, alarms_view)


@click.command("summary")
@output_option
@pass_session
def summary(session: Session, output: str) -> None:
    """The fleet at a glance: agents online and offline, per protocol and group; recent alarms."""
    emit(session.api.call("GetFleetSummary"), output, summary_view)


@click.command("whoami")
@output_option
@pass_session
def whoami(session: Session, output: str) -> None:
    """Who the token says you are, and your role (editor or viewer)."""
    emit(session.api.call("WhoAmI"), output, lambda a: fields([("actor", a["actor"]), ("role", a["role"])]))


@click.command("group")
@click.argument("name")
@tag_option
@output_option
@pass_session
def preview_group(session: Session, name: str, tags: tuple[dict[str, str], ...], output: str) -> None:
    """Which agents a group with these tags would hold, against what it holds now; nothing changes."""
    request = {"agentGroup": {"groupName": name, "tags": list(tags)}}
    emit(session.api.call("PreviewAgentGroup", request), output, preview_view)
