"""``chatcli sessions list | search | show | export | rm | rename``: stored
conversations.

Output is plain text (no Rich) so it pipes cleanly into grep, less and files.
"""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from chatcli.cli import completers
from chatcli.cli.common import global_options, group
from chatcli.environment import Environment
from chatcli.settings.options import Globals

app = group("List, search, show, export, rename and delete stored sessions.")


class ExportFormat(StrEnum):
    """``sessions export --format``: Markdown, or every message and field as JSON."""

    MD = "md"
    JSON = "json"


@app.command("list")
@global_options
def list_(
    search: Annotated[
        str | None, typer.Argument(help="Only sessions whose name or messages contain this.")
    ] = None,
    limit: Annotated[int, typer.Option("-n", "--limit", min=1, help="At most N sessions.")] = 50,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """List sessions, most recently used first ('ask' marks one-shot ones)."""
    from chatcli.features.sessions.views import list_sessions

    list_sessions(environment, search, limit, json_out)


@app.command("search")
@global_options
def search(
    text: Annotated[str, typer.Argument(help="Text to find in the messages.")],
    limit: Annotated[int, typer.Option("-n", "--limit", min=1, help="At most N messages.")] = 50,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Find messages containing TEXT, newest first."""
    from chatcli.features.sessions.views import search as run

    run(environment, text, limit, json_out)


@app.command("show")
@global_options
def show(
    name: Annotated[str, typer.Argument(help="Session name.", autocompletion=completers.sessions)],
    all_branches: Annotated[
        bool,
        typer.Option("--all-branches", help="Every branch (edited and regenerated turns too)."),
    ] = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Print a session's conversation (its current branch unless --all-branches)."""
    from chatcli.features.sessions.views import export

    export(environment, name, "md", None, all_branches)


@app.command("export")
@global_options
def export(
    name: Annotated[str, typer.Argument(help="Session name.", autocompletion=completers.sessions)],
    format: Annotated[
        ExportFormat,
        typer.Option("--format", help="md (Markdown) or json (every message and field)."),
    ] = ExportFormat.MD,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write to this file, not stdout ('-': stdout)."),
    ] = None,
    all_branches: Annotated[
        bool,
        typer.Option("--all-branches", help="Every branch (edited and regenerated turns too)."),
    ] = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Export a session as Markdown or JSON (its current branch unless --all-branches)."""
    from chatcli.features.sessions.views import export as run

    run(environment, name, str(format), output, all_branches)


@app.command("fork")
@global_options
def fork(
    source: Annotated[
        str, typer.Argument(help="The session to copy.", autocompletion=completers.sessions)
    ],
    at: Annotated[
        int | None, typer.Option("--at", help="Copy up to this turn (default: all).")
    ] = None,
    new: Annotated[
        str | None, typer.Option("--as", help="Name of the copy (default: a date name).")
    ] = None,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Copy a session (up to turn N) into a new one; prints the new name."""
    from chatcli.features.sessions.views import fork as run

    run(environment, source, at, new)


@app.command("rm")
@global_options
def rm(
    names: Annotated[
        list[str], typer.Argument(help="Session name(s).", autocompletion=completers.sessions)
    ],
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Delete sessions and their messages (the usage log keeps their cost)."""
    from chatcli.features.sessions.views import remove

    remove(environment, names)


@app.command("rename")
@global_options
def rename(
    old: Annotated[str, typer.Argument(help="Current name.", autocompletion=completers.sessions)],
    new: Annotated[str, typer.Argument(help="New name.")],
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Rename a session."""
    from chatcli.features.sessions.views import rename as run

    run(environment, old, new)
