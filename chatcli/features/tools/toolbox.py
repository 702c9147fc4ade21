"""The tools of one conversation: servers started on demand, what is on, and the limits.

``open_toolbox`` starts the servers the names need (``-T``, the profile's or role's ``tools``)
and turns those tools on; ``/tools`` turns more on or off later. The model is offered only
the tools that are on. A server none of whose tools is on any more is stopped, and forgotten
(a server that died, even after its one automatic restart, comes back when it is turned off
and on again). ``check_approve_servers`` checks the servers ``--approve`` names without
starting anything (``ask`` and ``chat`` call it before they open a toolbox, or when they open
none).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chatcli.errors import UsageError
from chatcli.features.tools.approval import Approval, TerminalAsk
from chatcli.features.tools.mcp import Hub
from chatcli.features.tools.registry import Registry, Tool, split_name
from chatcli.settings.mcp import McpServer

if TYPE_CHECKING:
    from chatcli.settings.resolve import ChatSettings

MAX_TOOL_ROUNDS = 8


@dataclass
class CallRecord:
    """One call of the last turn, for ``--json``."""

    name: str
    arguments: str
    result: str
    seconds: float | None
    approved: bool
    how: str
    error: bool = False


@dataclass
class Toolbox:
    """Servers, registry, the tools that are on, the approval policy and the limits."""

    servers: dict[str, McpServer]
    approval: Approval
    timeout: float = 60.0
    output_limit: int = 8000
    max_rounds: int = MAX_TOOL_ROUNDS
    encoding: str | None = None
    hub: Hub = field(default_factory=Hub)
    registry: Registry = field(default_factory=Registry)
    enabled: dict[str, Tool] = field(default_factory=dict)
    calls: list[CallRecord] = field(default_factory=list)  # of the last turn

    def specs(self) -> list[dict[str, Any]]:
        """The function specs of the tools that are on."""
        return [self.registry.spec(t) for t in self.enabled.values()]

    def _tools(self, name: str) -> list[Tool]:
        server, _ = split_name(name)
        if server in self.servers:
            self.registry.add(self.hub.start(self.servers[server]))
        return self.registry.resolve(name, self.servers)

    def enable(self, names: Iterable[str]) -> list[Tool]:
        """Turn on ``names`` (``server`` or ``server.tool``), starting their servers."""
        added = []
        for name in names:
            for tool in self._tools(name):
                if tool.qualified not in self.enabled:
                    self.enabled[tool.qualified] = tool
                    added.append(tool)
        return added

    def check_approvals(self, names: Iterable[str]) -> None:
        """UsageError (exit 2) for an approval naming no configured server, or no tool of a
        started one, as ``-T`` refuses it: a typo must not leave the user thinking a tool is
        approved. A server not started yet is only checked by name (starting it would cost)."""
        for name in names:
            server, _ = split_name(name)
            try:
                if server in self.servers and not self.hub.running(server):
                    continue
                self.registry.resolve(name, self.servers)
            except UsageError as exc:
                raise UsageError(f"cannot approve {name!r}: {exc.message}", hint=exc.hint) from None

    def disable(self, name: str) -> list[Tool]:
        """Turn off ``name`` (``server``, ``server.tool`` or ``all``); a server left with no
        tool on is stopped and forgotten (the next ``enable`` starts it afresh)."""
        if name == "all":
            removed = list(self.enabled.values())
        else:
            server, tool = split_name(name)
            removed = [
                t
                for t in self.enabled.values()
                if t.server == server and (not tool or t.name == tool)
            ]
            if not removed:
                raise UsageError(f"{name} is not on (on: {', '.join(self.enabled) or 'none'})")
        for t in removed:
            del self.enabled[t.qualified]
        still = {t.server for t in self.enabled.values()}
        for server in dict.fromkeys(t.server for t in removed):
            if server not in still:
                self.hub.stop(server)
        return removed

    def close(self) -> None:
        self.hub.close()


def check_approve_servers(settings: ChatSettings, servers: Iterable[str]) -> None:
    """UsageError (exit 2) for an approval (``--approve``, ``auto_approve``) whose server is
    not one of ``servers``, as ``-T`` refuses it, without starting anything: with or without
    tools on, a typo must not pass (and later keep ``/tools on`` from working)."""
    known = tuple(servers)
    for name in settings.approve:
        server, _ = split_name(name)
        if server in known:
            continue
        with settings.from_config("auto_approve", name):
            try:
                Registry().resolve(name, known)
            except UsageError as exc:
                raise UsageError(f"cannot approve {name!r}: {exc.message}", hint=exc.hint) from None


def open_toolbox(
    servers: dict[str, McpServer],
    names: Iterable[str],
    *,
    approve: Iterable[str] = (),
    read_only: bool = False,
    timeout: float = 60.0,
    output_limit: int = 8000,
    max_rounds: int = MAX_TOOL_ROUNDS,
    encoding: str | None = None,
    terminal: TerminalAsk | None = None,
) -> Toolbox:
    """A toolbox with ``names`` on (their servers started: ConfigError, exit 3, if one
    cannot start). ``approve`` are tools or servers approved in advance."""
    approve = tuple(approve)
    box = Toolbox(
        servers,
        Approval(frozenset(approve), read_only, terminal),
        timeout=timeout,
        output_limit=output_limit,
        max_rounds=max_rounds,
        encoding=encoding,
    )
    try:
        box.enable(names)
        box.check_approvals(approve)
    except BaseException:
        box.close()
        raise
    return box
