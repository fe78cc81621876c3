"""How answers are shown: a table for people, the API's own JSON or YAML for scripts.

`-o json` prints the server's answer as it came (proto3 JSON: lowerCamelCase, int64 as strings), so that
a script written against the API reads the command's output unchanged. Tables are for reading, so they
convert: times to UTC, tags to `name=value`.
"""

import difflib
import json
import os
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import click
import yaml
from rich.console import Console, RenderableType
from rich.table import Table

from configserverctl.client import Answer
from configserverctl.options import Command

FORMATS = ("table", "json", "yaml")
WIDE = 200
"""Columns of a table written to a pipe without COLUMNS: wide, so that grep sees whole rows."""

DIFF_COLOURS = {"+": "green", "-": "red", "@": "cyan"}


def output_option(command: Command) -> Command:
    """The -o/--output option of every command that shows an answer."""
    option = click.option(
        "-o",
        "--output",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="table for people; json or yaml: the API's answer as it came.",
    )
    return option(command)


def emit(answer: Answer, output: str, view: Callable[[Answer], RenderableType]) -> None:
    """Print `answer` in the chosen format; `view` makes its table."""
    if output == "json":
        click.echo(json.dumps(answer, indent=2, ensure_ascii=False))
    elif output == "yaml":
        click.echo(dump_yaml(answer), nl=False)
    else:
        show(view(answer))


def show(renderable: RenderableType) -> None:
    """Print a table or text, without the padding rich leaves at the end of lines."""
    wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    out = Console(width=WIDE if wide else None, highlight=False)
    with out.capture() as captured:
        out.print(renderable)
    click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


def table(*headers: str, rows: Iterable[Iterable[Any]]) -> Table:
    """A borderless table, one line per row, every cell as text."""
    shown = Table(box=None, header_style="bold", pad_edge=False, show_edge=False)
    for header in headers:
        shown.add_column(header, overflow="fold")
    for row in rows:
        shown.add_row(*(str(cell) for cell in row))
    return shown


def fields(pairs: Iterable[tuple[str, Any]]) -> Table:
    """A two-column view of one object: its field names, then their values."""
    shown = Table.grid(padding=(0, 2))
    shown.add_column(style="bold")
    shown.add_column(overflow="fold")
    for name, value in pairs:
        shown.add_row(name, str(value))
    return shown


def when(seconds: str | int) -> str:
    """Unix seconds (int64 comes as a string) as UTC; '-' for 0, which the API uses for never."""
    value = int(seconds)
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


def tags(pairs: Iterable[Any]) -> str:
    """Group tags ([{name, value}]) or agent tags ({name: value}) as `name=value` pairs."""
    if isinstance(pairs, dict):
        pairs = [{"name": name, "value": value} for name, value in pairs.items()]
    return ",".join(f"{tag['name']}={tag['value']}" for tag in pairs)


class _Dumper(yaml.SafeDumper):
    """safe_dump that writes multi-line text (config content) as a literal block, readable and diffable."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    """Lines of printable text as a literal block; text with other characters double-quoted, with escapes
    (PyYAML's other styles mangle line breaks such as U+0085); the rest as PyYAML chooses."""
    printable = all(char == "\n" or char.isprintable() for char in value)
    style = ("|" if "\n" in value else None) if printable else '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump_yaml(data: Any) -> str:
    """YAML of plain data, keys in their order; PyYAML falls back to a quoted scalar where a block
    cannot hold the text exactly (trailing spaces, say)."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


def unified(old: str, new: str, old_label: str, new_label: str) -> list[str]:
    """The unified diff of two texts, line by line (without line ends)."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), old_label, new_label, lineterm="")
    return list(lines)


def echo_diff(lines: Iterable[str], indent: str = "") -> None:
    """Print diff lines, coloured on a terminal (click drops the colours elsewhere)."""
    for line in lines:
        colour = DIFF_COLOURS.get(line[:1]) if not line.startswith(("---", "+++")) else "bright_black"
        click.echo(indent + click.style(line, fg=colour))
