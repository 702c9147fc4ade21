"""``chatcli mcp list | import``: the configured MCP servers, their tools, and importing them.

Only typer and the stdlib are imported at module level (``chatcli --help`` loads this module).
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chatcli.cli import completers
from chatcli.cli.common import global_options, group
from chatcli.environment import Environment
from chatcli.settings.options import Globals

if TYPE_CHECKING:
    from chatcli.settings.loading import Config

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
    from chatcli.settings.resolve import load_config

    _list_servers(environment, load_config(g), names or [], json_out)


def _list_servers(
    environment: Environment, config: "Config", names: list[str], as_json: bool
) -> None:
    """Print each server, how long its start took and its tools. The servers start at once,
    so those that do not answer cost one ``startup_timeout`` in all. A server that could not
    start is one error line and its hint, after the rest are listed; the exit is 3, or 6 when
    every failure was an HTTP server that could not be reached or did not answer in time."""
    import json

    from chatcli.errors import ChatcliError, ConfigError, UsageError
    from chatcli.features.tools.mcp import Hub
    from chatcli.output import err, out
    from chatcli.safetext import one_line

    servers = config.mcp_servers
    unknown = [n for n in names if n not in servers]
    if unknown:
        raise UsageError(
            f"no MCP server named {unknown[0]!r} (servers: {', '.join(servers) or 'none'})"
        )
    if not servers:
        err(
            environment,
            "chatcli: no MCP servers configured: add [mcp.servers.NAME] to "
            f"{config.path} or run `chatcli mcp import FILE`",
        )
        return
    chosen = [servers[name] for name in names or list(servers)]
    hub = Hub()
    try:
        started = hub.start_each(chosen)
        seconds = {s.name: hub.startup_seconds(s.name) for s in chosen if hub.running(s.name)}
    finally:
        hub.close()
    failed: list[ChatcliError] = []
    listed: list[dict[str, Any]] = []
    for server, tools in zip(chosen, started, strict=True):
        if isinstance(tools, ChatcliError):
            failed.append(tools)
            listed.append(
                {"name": server.name, "command": server.describe(), "error": tools.message}
            )
            continue
        took = seconds[server.name]
        listed.append({
            "name": server.name,
            "command": server.describe(),
            "startup_s": round(took, 3),
            "tools": [
                {"name": t.qualified, "description": t.description, "read_only": t.read_only,
                 "destructive": t.destructive}
                for t in tools
            ],
        })  # fmt: skip
        if not as_json:
            plural = "s" if len(tools) != 1 else ""
            said = f"started in {took:.2f} s  ({len(tools)} tool{plural})"
            out(environment, f"{server.name}  {one_line(server.describe(), 100)}  {said}\n")
            for t in tools:
                hint = f"  [{t.hints()}]" if t.hints() else ""
                out(environment, f"  {t.qualified}{hint}  {one_line(t.description, 100)}\n")
    if as_json:
        out(environment, json.dumps(listed, ensure_ascii=False, indent=2) + "\n")
    if not failed:
        return
    # the error raised (and its exit code) is a configuration one when there is one to fix
    last = next((e for e in reversed(failed) if isinstance(e, ConfigError)), failed[-1])
    for problem in failed:
        if problem is not last:
            err(environment, f"chatcli: error: {problem.message}")
    raise last


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
