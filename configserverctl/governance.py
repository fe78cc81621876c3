"""Config governance: every version of a config, what changed between two, going back to one, and who
changed what and why (the audit trail)."""

from typing import Any

import click
from rich.console import RenderableType

from configserverctl.client import Answer
from configserverctl.options import (
    Session,
    SinceParam,
    expected_version_option,
    expecting,
    limit_option,
    pass_session,
    reason_option,
)
from configserverctl.output import echo_diff, emit, output_option, table, unified, when

HISTORY_PAGE_SIZE = 100
AUDIT_PAGE_SIZE = 100


def history(session: Session, name: str) -> Answer:
    """Every kept revision of a config, newest first (at most --history-retention: every page)."""
    return session.api.pages("ListConfigHistory", {"configName": name}, "revisions", HISTORY_PAGE_SIZE)


def history_view(answer: Answer) -> RenderableType:
    rows = (
        (r["version"], r["action"], when(r["time"]), r["actor"], r["reason"]) for r in answer["revisions"]
    )
    return table("VERSION", "ACTION", "TIME", "ACTOR", "REASON", rows=rows)


def audit_view(answer: Answer) -> RenderableType:
    rows = (
        (when(e["time"]), e["actor"], e["peer"], e["rpc"], e["target"], e["code"], e["reason"])
        for e in answer["events"]
    )
    return table("TIME", "ACTOR", "PEER", "RPC", "TARGET", "CODE", "REASON", rows=rows)


def revision_content(revisions: list[dict[str, Any]], name: str, version: int) -> str:
    for revision in revisions:
        if int(revision["version"]) == version:
            content: str = revision["config"]["content"]
            return content
    kept = ", ".join(str(revision["version"]) for revision in reversed(revisions))
    raise click.ClickException(f"{name} has no revision {version} (kept: {kept})")


def diff_revisions(session: Session, name: str, old: int, new: int) -> None:
    """`diff NAME OLD NEW`: the unified diff of two revisions' content."""
    revisions = history(session, name)["revisions"]
    old_content, new_content = (revision_content(revisions, name, version) for version in (old, new))
    lines = unified(old_content, new_content, f"{name}@{old}", f"{name}@{new}")
    if not lines:
        click.echo(f"{name}@{old} and {name}@{new} hold the same content.")
    echo_diff(lines)


@click.command("history")
@click.argument("name")
@output_option
@pass_session
def history_command(session: Session, name: str, output: str) -> None:
    """Every kept version of a config, newest first: action, time, actor and reason."""
    emit(history(session, name), output, history_view)


@click.command("rollback")
@click.argument("name")
@click.option(
    "--to", "to_version", type=click.IntRange(min=0), required=True, metavar="N", help="The revision."
)
@expected_version_option
@reason_option
@output_option
@pass_session
def rollback(
    session: Session, name: str, to_version: int, expected_version: int | None, reason: str, output: str
) -> None:
    """Give a config a new version holding revision N's content (a deleted one comes back unbound)."""
    request = expecting(expected_version, configName=name, toVersion=str(to_version), reason=reason)
    answer = session.api.call("RollbackConfig", request)
    version = answer["configDetail"]["version"]
    emit(
        answer, output, lambda _: f"config/{name} rolled back to revision {to_version}, as version {version}"
    )


@click.command("audit")
@click.option("--actor", default="", help="Only this token name's writes.")
@click.option("--target", default="", help="Only writes naming this group, config or agent.")
@click.option("--since", type=SinceParam(), help="Only events from then on: unix seconds, ISO 8601, or 2h.")
@limit_option
@output_option
@pass_session
def audit(session: Session, actor: str, target: str, since: int | None, limit: int, output: str) -> None:
    """Who wrote what, when and why (refused writes too), newest first."""
    request = {"actor": actor, "target": target, "since": str(since or 0)}
    emit(session.api.pages("ListAuditEvents", request, "events", AUDIT_PAGE_SIZE, limit), output, audit_view)
