"""The `configserverctl` command: where each command lives, and the two that have two forms.

`apply` applies one config to one group, or a whole directory (`-f DIR`); `diff` compares two revisions
of a config, or the server with a directory. Both forms are what a user guesses first, so both answer to
the same name.
"""

from pathlib import Path

import click

from configserverctl import ascode, catalog, fleet, governance
from configserverctl.options import DEFAULT_SERVER, TOKEN_VARIABLE, Session, pass_session, reason_option
from configserverctl.output import output_option

HELP = f"""Drive a ConfigServer through its User API (HTTP JSON).

The server is --server or CONFIGSERVER_URL; the bearer token is in the file --token-file (or
CONFIGSERVER_TOKEN_FILE names it), or in {TOKEN_VARIABLE} itself.

Exit codes: 0 done; 1 refused by the server (its code and message on stderr); 2 bad usage or a bad
directory (nothing sent); 3 no ConfigServer answered.
"""

Directory = click.Path(file_okay=False, exists=True, path_type=Path)


@click.group(help=HELP, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option(
    "--server",
    envvar="CONFIGSERVER_URL",
    default=DEFAULT_SERVER,
    show_default=True,
    metavar="URL",
    help="The server's HTTP address (CONFIGSERVER_URL).",
)
@click.option(
    "--token-file",
    envvar="CONFIGSERVER_TOKEN_FILE",
    metavar="PATH",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"A file holding the token (else {TOKEN_VARIABLE}).",
)
@click.version_option(package_name="configserver", message="%(prog)s %(version)s")
@click.pass_context
def main(context: click.Context, server: str, token_file: Path | None) -> None:
    context.obj = Session(server, token_file)


@main.group()
def get() -> None:
    """Show groups, configs and agents."""


@main.group()
def create() -> None:
    """Create a group or a config."""


@main.group()
def update() -> None:
    """Update a group or a config."""


@main.group()
def delete() -> None:
    """Delete a group, a config or an agent."""


@main.group()
def preview() -> None:
    """What a change would do, without making it."""


@main.command()
@click.argument("config", required=False)
@click.option("--group", metavar="GROUP", help="apply CONFIG --group GROUP: the group to apply it to.")
@click.option(
    "-f",
    "--filename",
    "directory",
    type=Directory,
    metavar="DIR",
    help="Make the server match DIR (see export).",
)
@click.option("--prune", is_flag=True, help="With -f: also delete what DIR does not hold (never `default`).")
@click.option("-y", "--yes", is_flag=True, help="With -f: apply without asking.")
@reason_option
@output_option
@pass_session
def apply(
    session: Session,
    config: str | None,
    group: str | None,
    directory: Path | None,
    prune: bool,
    yes: bool,
    reason: str,
    output: str,
) -> None:
    """Apply CONFIG to --group GROUP; or, with -f DIR, make the server match DIR.

    With -f, the plan is shown (as `diff -f DIR` shows it) and applied once confirmed (--yes: at once).
    Config updates are sent with the version the plan read: a config someone changed since is refused
    (ConfigVersionConflict), not overwritten, and the changes after it are not sent.
    """
    if directory is None:
        if config is None or group is None or prune or yes:
            raise click.UsageError("give CONFIG --group GROUP, or -f DIR [--prune] [--yes]")
        catalog.bind(session, config, group, reason, output)
        return
    if config is not None or group is not None or output != "table":
        raise click.UsageError("-f DIR takes no CONFIG, --group nor -o")
    apply_directory(session, directory, prune, yes, reason)


def apply_directory(session: Session, directory: Path, prune: bool, yes: bool, reason: str) -> None:
    api = session.api
    changes = ascode.plan(ascode.read_server(api), ascode.read_directory(directory), prune)
    ascode.echo_plan(changes, api.url)
    if not changes:
        return
    if not yes:
        click.confirm(f"Apply {ascode.plural(len(changes), 'change')} to {api.url}?", abort=True)
    ascode.execute(api, changes, reason, lambda change: click.echo(f"{change.summary}: done"))


@main.command()
@click.argument("name", required=False)
@click.argument("old", type=click.IntRange(min=0), required=False)
@click.argument("new", type=click.IntRange(min=0), required=False)
@click.option(
    "-f", "--filename", "directory", type=Directory, metavar="DIR", help="Compare the server with DIR."
)
@click.option("--prune", is_flag=True, help="With -f: show what --prune would delete too.")
@pass_session
def diff(
    session: Session, name: str | None, old: int | None, new: int | None, directory: Path | None, prune: bool
) -> None:
    """The unified diff of revisions OLD and NEW of config NAME; or, with -f DIR, what `apply -f DIR`
    would change: create, update, delete, bind, unbind."""
    if directory is None:
        if name is None or old is None or new is None or prune:
            raise click.UsageError("give NAME OLD NEW, or -f DIR [--prune]")
        governance.diff_revisions(session, name, old, new)
        return
    if name is not None:
        raise click.UsageError("-f DIR takes no NAME")
    api = session.api
    ascode.echo_plan(ascode.plan(ascode.read_server(api), ascode.read_directory(directory), prune), api.url)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@pass_session
def export(session: Session, directory: Path) -> None:
    """Write the server's groups, configs and bindings as YAML files under DIRECTORY.

    DIRECTORY/groups/<name>.yaml and DIRECTORY/configs/<name>.yaml; YAML files there that name nothing on
    the server are removed.
    """
    written = ascode.export(session.api, directory)
    click.echo(f"{ascode.plural(len(written), 'file')} written under {directory}")


for command in (
    catalog.get_configs,
    catalog.get_config,
    catalog.get_groups,
    catalog.get_group,
    fleet.get_agents,
):
    get.add_command(command)
create.add_command(catalog.create_group)
create.add_command(catalog.create_config)
update.add_command(catalog.update_group)
update.add_command(catalog.update_config)
delete.add_command(catalog.delete_group)
delete.add_command(catalog.delete_config)
delete.add_command(fleet.delete_agent)
preview.add_command(fleet.preview_group)
for command in (
    catalog.remove,
    fleet.status,
    fleet.alarms,
    fleet.summary,
    fleet.whoami,
    governance.history_command,
    governance.rollback,
    governance.audit,
):
    main.add_command(command)
