"""Tools as chatcli names them (``server.tool``) and as the model sees them.

Function names on the wire allow only ``[A-Za-z0-9_-]`` and 64 characters, so a tool is sent
as ``server__tool`` (other characters become ``_``, clashes get a number) and mapped back.
A user names a whole server (``-T time``) or one tool (``-T time.get_current_time``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from chatcli.errors import UsageError

_WIRE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class Tool:
    """One tool of one server, with the hints its server gives (None: not said)."""

    server: str
    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    read_only: bool | None = None
    destructive: bool | None = None

    @property
    def qualified(self) -> str:
        """``server.tool``: how the user names it."""
        return f"{self.server}.{self.name}"

    def hints(self) -> str:
        """``read-only``, ``destructive`` or ``""`` for listings."""
        if self.read_only:
            return "read-only"
        if self.destructive:
            return "destructive"
        return ""


class Registry:
    """The tools of the servers started so far, by qualified name and by wire name."""

    def __init__(self) -> None:
        self.tools: dict[str, Tool] = {}
        self._wire: dict[str, str] = {}  # wire name -> qualified
        self._wire_of: dict[str, str] = {}  # qualified -> wire name

    def add(self, tools: Iterable[Tool]) -> None:
        for tool in tools:
            self.tools[tool.qualified] = tool
            if tool.qualified in self._wire_of:
                continue
            base = _WIRE.sub("_", f"{tool.server}__{tool.name}")[:60]
            wire, n = base, 2
            while wire in self._wire:
                wire, n = f"{base[:57]}_{n}", n + 1
            self._wire[wire] = tool.qualified
            self._wire_of[tool.qualified] = wire

    def of_server(self, server: str) -> list[Tool]:
        return [t for t in self.tools.values() if t.server == server]

    def wire_name(self, tool: Tool) -> str:
        return self._wire_of[tool.qualified]

    def by_wire(self, name: str) -> Tool | None:
        """The tool a call names (None: the model made one up)."""
        qualified = self._wire.get(name) or name  # some models echo the dotted name
        return self.tools.get(qualified)

    def spec(self, tool: Tool) -> dict[str, Any]:
        """The function spec of ``tool`` for a request."""
        parameters = tool.parameters or {"type": "object", "properties": {}}
        return {
            "name": self.wire_name(tool),
            "description": tool.description[:1024],
            "parameters": parameters,
        }

    def resolve(self, name: str, servers: Iterable[str]) -> list[Tool]:
        """The tools ``name`` (``server`` or ``server.tool``) means; UsageError if none."""
        server, _, tool = name.partition(".")
        if server not in set(servers):
            known = ", ".join(sorted(servers)) or "none configured"
            raise UsageError(
                f"no MCP server named {server!r} (servers: {known})",
                hint="add [mcp.servers.NAME] to the config, or `chatcli mcp import FILE`",
            )
        if not tool:
            return self.of_server(server)
        found = self.tools.get(name)
        if found is None:
            names = ", ".join(t.name for t in self.of_server(server)) or "none"
            raise UsageError(f"server {server} has no tool {tool!r} (its tools: {names})")
        return [found]


def split_name(name: str) -> tuple[str, str]:
    """``server.tool`` -> (server, tool); ``server`` (or ``server.``) -> (server, "")."""
    server, _, tool = name.partition(".")
    return server, tool


def covers(name: str, tool: Tool) -> bool:
    """Whether ``name`` means ``tool``, read as ``-T`` reads it (``resolve``): ``server`` and
    ``server.`` mean all of its tools. ``--approve`` and ``auto_approve`` go by this too."""
    server, part = split_name(name)
    return server == tool.server and (not part or part == tool.name)
