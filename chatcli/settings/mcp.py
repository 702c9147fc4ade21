"""``[mcp.servers.NAME]``: the MCP servers a user may turn on, validated like the rest.

A server is started with ``command``/``args``/``env`` (stdio) or reached at ``url`` with
``headers`` (streamable HTTP). Values in ``env`` and ``headers`` are text, or, like keys, come
from elsewhere when they are needed (never at load time): ``{ env = "NAME" }`` reads a variable,
``{ cmd = "pass show token" }`` runs a command. Nothing here starts a server.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chatcli.errors import ConfigError

NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
"""A server's name: it prefixes its tools' names (``time.get_current_time``), and function
names on the wire allow only these characters."""

STARTUP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Secret:
    """A value of ``env`` or ``headers``: literal text, an environment variable or a command."""

    text: str | None = None
    env: str | None = None
    cmd: str | None = None
    setting: str = field(default="", compare=False)  # mcp.servers.NAME.env.KEY, for errors

    def value(self, timeout: float | None = None) -> str:
        """The value now (a variable that is not set, or a failing command, is a ConfigError);
        a command gets at most ``timeout`` seconds (default ``commands.TIMEOUT``)."""
        if self.text is not None:
            return self.text
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise ConfigError(f"environment variable {self.env} is not set")
            return value
        assert self.cmd is not None
        return _run(self.cmd, self.setting, timeout)


@dataclass(frozen=True)
class McpServer:
    """One configured server: stdio when ``command`` is set, else streamable HTTP at ``url``."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, Secret] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, Secret] = field(default_factory=dict)
    startup_timeout: float = STARTUP_TIMEOUT

    def describe(self) -> str:
        """The command line or URL, for listings and errors (values of env/headers left out),
        on one line, with every character a terminal would not show written ``⟨U+XXXX⟩``
        (``safetext.visible``): an escape sequence in an argument must not vanish from the
        line that says what runs, taking the command it wraps with it."""
        from chatcli.safetext import visible

        if self.command is not None:
            import shlex

            return visible(shlex.join([self.command, *self.args]), keep="")
        return visible(self.url or "?", keep="")


_KEYS = ("command", "args", "env", "cwd", "url", "headers", "startup_timeout")


def parse_servers(
    raw: Any, fail: Callable[[str, str | None, str], ConfigError]
) -> tuple[dict[str, McpServer], list[ConfigError]]:
    """The servers of the ``[mcp]`` table and the problems found (``fail(table, key, problem)``
    makes a positioned ConfigError)."""
    servers: dict[str, McpServer] = {}
    problems: list[ConfigError] = []
    if not isinstance(raw, dict):
        return servers, [fail("", "mcp", "mcp must be a table holding [mcp.servers.NAME] tables")]
    for key in raw:
        if key != "servers":
            problems.append(fail("mcp", key, f"unknown key {key!r} in [mcp] (allowed: servers)"))
    table = raw.get("servers", {})
    if not isinstance(table, dict):
        return servers, [*problems, fail("mcp", "servers", "mcp.servers must be a table")]
    for name, spec in table.items():
        try:
            servers[name] = _server(name, spec, fail)
        except ConfigError as exc:
            problems.append(exc)
    return servers, problems


def _server(name: str, spec: Any, fail: Callable[[str, str | None, str], ConfigError]) -> McpServer:
    where = f"mcp.servers.{name}"
    if not NAME.match(name):
        raise fail(where, None, f"server name {name!r} may hold only letters, digits, _ and -")
    if not isinstance(spec, dict):
        raise fail(where, None, f"[{where}] must be a table")
    for key in spec:
        if key not in _KEYS:
            raise fail(
                where, key, f"unknown key {key!r} in [{where}] (allowed: {', '.join(_KEYS)})"
            )
    command, url = spec.get("command"), spec.get("url")
    if (command is None) == (url is None):
        raise fail(where, None, f"[{where}] needs either command (stdio) or url (HTTP)")
    for key in ("command", "url", "cwd"):
        if key in spec and not isinstance(spec[key], str):
            raise fail(where, key, f"{where}.{key} must be a string")
    if url is not None:
        from chatcli.safetext import url_characters

        odd = url_characters(url)  # before the scheme: a leading U+200B is named as such
        if odd is not None:
            raise fail(where, "url", f"{where}.url {url!r} {odd}")
        if not re.match(r"^https?://", url):
            raise fail(where, "url", f"{where}.url {url!r} is not an http(s) URL")
    args = spec.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise fail(where, "args", f"{where}.args must be an array of strings")
    timeout = spec.get("startup_timeout", STARTUP_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 600:
        raise fail(where, "startup_timeout", f"{where}.startup_timeout must be 0-600 seconds")
    return McpServer(
        name,
        command=command,
        args=tuple(args),
        env=_secrets(spec.get("env", {}), where, "env", fail),
        cwd=spec.get("cwd"),
        url=url,
        headers=_secrets(spec.get("headers", {}), where, "headers", fail),
        startup_timeout=float(timeout),
    )


def _secrets(
    raw: Any, where: str, key: str, fail: Callable[[str, str | None, str], ConfigError]
) -> dict[str, Secret]:
    if not isinstance(raw, dict):
        raise fail(where, key, f"{where}.{key} must be a table of NAME = value")
    out: dict[str, Secret] = {}
    for name, value in raw.items():
        if isinstance(value, str):
            out[name] = Secret(text=value)
        elif isinstance(value, dict) and len(value) == 1 and "env" in value:
            out[name] = Secret(env=str(value["env"]))
        elif isinstance(value, dict) and len(value) == 1 and "cmd" in value:
            out[name] = Secret(cmd=str(value["cmd"]), setting=f"{where}.{key}.{name}")
        else:
            raise fail(
                where,
                key,
                f'{where}.{key}.{name} must be a string, {{ env = "VAR" }} or {{ cmd = "..." }}',
            )
    return out


def _run(cmd: str, setting: str, timeout: float | None) -> str:
    """The first line a value's command prints (like ``api_key_cmd``). One that fails names
    the variable its shell said is unset (``mcp import`` writes ``"${VAR:?}"``), and is shown
    as ``api_key_cmd`` is, what looks like a key redacted, so it can be run by hand."""
    from chatcli.safetext import one_line
    from chatcli.settings import commands
    from chatcli.settings.keys import redact_cmd

    shown = one_line(redact_cmd(cmd), 200)
    named = f"the command of {setting} ({shown})" if setting else f"the command {shown}"
    limit = commands.TIMEOUT if timeout is None else min(timeout, commands.TIMEOUT)
    proc = commands.run(cmd, named, timeout=limit)
    lines = proc.stdout.decode("utf-8", "replace").strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise commands.failed(proc, named, shown, needed_by=setting)
    return lines[0].strip()
