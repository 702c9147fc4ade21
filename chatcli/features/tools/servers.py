"""``chatcli mcp list`` and ``chatcli mcp import``.

``list`` starts each server only to ask for its tools, then stops it. ``import`` reads the
``mcpServers`` object Claude Desktop, Cursor and others write (or VS Code's ``servers``) and
adds each server as ``[mcp.servers.NAME]``; ``${env:VAR}`` / ``${VAR}`` values become
``{ env = "VAR" }`` so no secret is copied into the config. The file is edited in place
(comments kept) and validated before it is written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatcli.environment import Environment
from chatcli.errors import ConfigError, UsageError
from chatcli.output import err, out
from chatcli.safetext import one_line

if TYPE_CHECKING:
    from chatcli.settings.loading import Config


def list_servers(environment: Environment, config: Config, names: list[str], as_json: bool) -> None:
    """Print each server and its tools; exit 3 when one could not start (after the rest)."""
    from chatcli.features.tools.mcp import Hub

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
    failed: ConfigError | None = None
    listed: list[dict[str, Any]] = []
    for name in names or list(servers):
        server = servers[name]
        hub = Hub()
        try:
            tools = hub.start(server)
            seconds = hub.startup_seconds(name)
        except ConfigError as exc:
            failed = failed or exc
            err(environment, f"chatcli: error: {exc.message}")
            listed.append({"name": name, "command": server.describe(), "error": exc.message})
            continue
        finally:
            hub.close()
        entry: dict[str, Any] = {
            "name": name,
            "command": server.describe(),
            "startup_s": round(seconds, 3),
            "tools": [
                {
                    "name": t.qualified,
                    "description": t.description,
                    "read_only": t.read_only,
                    "destructive": t.destructive,
                }
                for t in tools
            ],
        }
        listed.append(entry)
        if not as_json:
            plural = "s" if len(tools) != 1 else ""
            out(
                environment,
                f"{name}  {one_line(server.describe(), 100)}  ({len(tools)} tool{plural})\n",
            )
            for t in tools:
                hint = f"  [{t.hints()}]" if t.hints() else ""
                out(environment, f"  {t.qualified}{hint}  {one_line(t.description, 100)}\n")
    if as_json:
        out(environment, json.dumps(listed, ensure_ascii=False, indent=2) + "\n")
    if failed is not None:
        raise ConfigError("not every MCP server could start", hint=failed.hint)


_ENV = re.compile(r"^\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)\}$")


def _value(text: Any) -> Any:
    """A value as the config keeps it: ``${env:VAR}`` / ``${VAR}`` read from the environment."""
    text = str(text)
    match = _ENV.match(text)
    return {"env": match.group(1)} if match else text


def _entry(name: str, spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise ConfigError(f"server {name!r} in the file is not an object")
    out: dict[str, Any] = {}
    if isinstance(spec.get("command"), str):
        out["command"] = spec["command"]
        if spec.get("args"):
            out["args"] = [str(a) for a in spec["args"]]
        if spec.get("env"):
            out["env"] = {str(k): _value(v) for k, v in dict(spec["env"]).items()}
        if isinstance(spec.get("cwd"), str):
            out["cwd"] = spec["cwd"]
    elif isinstance(spec.get("url"), str):
        out["url"] = spec["url"]
        if spec.get("headers"):
            out["headers"] = {str(k): _value(v) for k, v in dict(spec["headers"]).items()}
    else:
        raise ConfigError(f"server {name!r} in the file has neither command nor url")
    return out


def import_servers(
    environment: Environment, path: Path, file: Path, *, force: bool = False
) -> None:
    """Add the servers of ``file`` to the config file at ``path``."""
    import tomlkit

    from chatcli import reading
    from chatcli.settings import loading, paths

    try:
        data = json.loads(reading.read_text_file(file, reading.CONFIG, "a JSON file"))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{file} is not JSON: {exc}") from None
    found = data.get("mcpServers", data.get("servers")) if isinstance(data, dict) else None
    if not isinstance(found, dict) or not found:
        raise UsageError(f"{file} has no mcpServers (or servers) object")
    text = loading.read_text(path) if path.exists() else ""
    doc = tomlkit.parse(text)
    mcp = doc.setdefault("mcp", tomlkit.table(is_super_table=True))
    table = mcp.setdefault("servers", tomlkit.table(is_super_table=True))
    added, skipped = [], []
    for raw_name, spec in found.items():
        name = re.sub(r"[^A-Za-z0-9_-]", "-", str(raw_name))[:32]
        if name in table and not force:
            skipped.append(name)
            continue
        entry = _entry(str(raw_name), spec)
        for key in ("env", "headers"):
            if key in entry:
                inline = tomlkit.inline_table()
                for k, v in entry[key].items():
                    if isinstance(v, dict):
                        value = tomlkit.inline_table()
                        value.update(v)
                        v = value
                    inline[k] = v
                entry[key] = inline
        table[name] = entry
        added.append(name)
    new_text = tomlkit.dumps(doc)
    cfg, problems = loading.analyse(path, loading.parse(path, new_text), new_text)
    if problems:
        raise ConfigError(f"not written: {problems[0].message}", hint=f"{path} was left as it was")
    if added:
        paths.write_private(path, new_text)
    for name in added:
        err(environment, f"added [mcp.servers.{name}]: {cfg.mcp_servers[name].describe()}")
    for name in skipped:
        err(environment, f"kept the existing [mcp.servers.{name}] (--force replaces it)")
    if added:
        err(environment, f"wrote {path}; turn a server on with -T NAME")
