"""``/tools``: what the model may call in this chat, turned on and off as you go.

``/tools`` lists the configured MCP servers and the tools of those started (on ones marked);
``/tools on NAME...`` turns on a server's tools or one ``server.tool`` (starting the server);
``/tools off NAME`` (or ``all``) turns them off. Tools stay off until named, and cannot be
turned on while ``/schema`` (or ``chat --schema``) is set: a schema turn sends no tools.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from chatcli.errors import UsageError
from chatcli.safetext import one_line

if TYPE_CHECKING:
    from chatcli.features.tools.toolbox import Toolbox
    from chatcli.repl.loop import Repl


def toolbox(repl: Repl) -> Toolbox:
    """The REPL's toolbox, opened (empty) on first use."""
    if repl.tools is None:
        from chatcli.features.tools.use import open_for

        repl.tools = open_for(
            repl.settings, repl.ctx.config, names=(), environment=repl.environment
        )
    return repl.tools


def run(repl: Repl, arg: str) -> None:
    verb, _, rest = arg.partition(" ")
    names = rest.split()
    if verb == "":
        show(repl)
    elif verb == "on" and names:
        if repl.schema is not None or repl.standing_schema is not None:  # see ``structured``
            raise UsageError(
                "/tools on cannot be used while a schema is set yet: /schema off clears it"
            )
        added = toolbox(repl).enable(names)
        on = ", ".join(t.qualified for t in added) or "nothing new"
        repl.say(f"on: {on}", dim=True)
    elif verb == "off" and names:
        box = toolbox(repl)
        removed = [t.qualified for name in names for t in box.disable(name)]
        repl.say(f"off: {', '.join(removed)}", dim=True)
    else:
        raise UsageError("usage: /tools, /tools on NAME..., /tools off NAME|all")


def show(repl: Repl) -> None:
    servers = repl.ctx.config.mcp_servers
    if not servers:
        repl.say("no MCP servers configured: add [mcp.servers.NAME] or `chatcli mcp import`")
        return
    box = repl.tools
    for name, server in servers.items():
        started = box is not None and box.hub.running(name)
        state = "" if started else "  (not started: /tools on " + name + ")"
        repl.say(f"{name}: {one_line(server.describe(), 80)}{state}")
        if box is None or not started:
            continue
        for tool in box.registry.of_server(name):
            mark = "on " if tool.qualified in box.enabled else "off"
            hint = f" [{tool.hints()}]" if tool.hints() else ""
            repl.say(f"  {mark} {tool.qualified}{hint}  {one_line(tool.description, 60)}", dim=True)


def values(repl: Repl) -> Iterable[str]:
    """Completions: ``on``/``off`` with server and tool names."""
    names = list(repl.ctx.config.mcp_servers)
    if repl.tools is not None:
        names += list(repl.tools.registry.tools)
    return [f"{verb} {name}" for verb in ("on", "off") for name in names]
