"""``chatcli mcp list | import``: the configured MCP servers, their tools, and importing them.

Only typer and the stdlib are imported at module level (``chatcli --help`` loads this module).
"""

from pathlib import Path
from typing import Annotated

import typer

from chatcli.cli import completers
from chatcli.cli.common import global_options, group
from chatcli.environment import Environment
from chatcli.settings.options import Globals

app = group("MCP servers: list them and their tools, import them from another client.")


@app.command("list")
@global_options
def list_(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Only these servers (default: all).", autocompletion=completers.tools),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Start the servers (all at once; then stop them) and list their tools with their hints."""
    from chatcli.features.tools.servers import list_servers
    from chatcli.settings.resolve import load_config

    list_servers(environment, load_config(g), names or [], json_out)


@app.command("import")
@global_options
def import_(
    file: Annotated[
        Path, typer.Argument(help="A JSON file with mcpServers (Claude Desktop) or servers.")
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Replace servers of the same name.")
    ] = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Add the servers of a Claude Desktop / VS Code style JSON file to the config."""
    from chatcli.features.tools.servers import import_servers
    from chatcli.settings.resolve import config_file, load_config

    path = config_file(g)
    if path.exists():
        load_config(g)  # a config with a problem is refused before anything goes into it
    import_servers(environment, path, file, force=force)
