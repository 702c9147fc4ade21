"""``chatcli mcp list`` and ``chatcli mcp import``.

``list`` starts each server only to ask for its tools, then stops it. ``import`` reads the
``mcpServers`` object Claude Desktop, Cursor and others write (or VS Code's ``servers``) and
adds each server as ``[mcp.servers.NAME]``; ``${env:VAR}`` / ``${VAR}`` values become
``{ env = "VAR" }`` so no secret is copied into the config. The file is edited in place
(comments kept) and validated before it is written.

Server names: a name in the config holds only ``A-Z a-z 0-9 _ -`` (``settings.mcp.NAME``): it
is typed after ``-T``, prefixes its tools (``server.tool``, so no dot) and prefixes the function
names sent to the model, which allow only those characters. A name of the file with other
characters gets a derived name, said on stderr next to the original one (``_config_names``):
full-width letters read as the letters they are (NFKC), spaces and punctuation become ``-``, and
a name that still holds letters of another script is Punycode-encoded with the ``xn--`` prefix of
internationalised domain names (``时间`` -> ``xn--ehv518h``), which is distinct for every name and
the same on every import. Names that still meet (``my server`` and ``my-server``), or that are
over 32 characters, get a short hash of the original; a name that is valid as it is keeps it.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
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


def _hashed(name: str, raw: str) -> str:
    """``name`` shortened where needed and marked with a hash of the original ``raw`` name."""
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    head = name[:25].rstrip("-")
    return f"{head}-{digest}" if head else f"server-{digest}"


def _derived(raw: str) -> str:
    """A config name for ``raw``, a name that is not one as it is (see the module's notes)."""
    text = re.sub(r"[^\w-]+", "-", unicodedata.normalize("NFKC", raw)).strip("-")
    if not text.isascii():
        text = "xn--" + text.encode("punycode").decode("ascii")
    if not re.search(r"[A-Za-z0-9]", text) or len(text) > 32:
        return _hashed(text, raw)
    return text


def _config_names(raw_names: list[str]) -> dict[str, str]:
    """The config name of each server of an imported file, distinct from one another: names
    valid as they are keep them; the others are derived, hashed where two would meet."""
    from chatcli.settings.mcp import NAME

    chosen = {raw: raw for raw in raw_names if NAME.match(raw)}
    taken = set(chosen.values())
    for raw in raw_names:
        if raw in chosen:
            continue
        name = _derived(raw)
        base, n = name, 1
        while name in taken:  # met another: a hash of the original (and a count, rarely)
            name, n = _hashed(base, raw if n == 1 else f"{raw}\0{n}"), n + 1
        chosen[raw] = name
        taken.add(name)
    return chosen


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
    names = _config_names([str(n) for n in found])
    added, skipped = [], []
    for raw_name, spec in found.items():
        name = names[str(raw_name)]
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
    original = {name: raw for raw, name in names.items() if name != raw}
    for name in added:
        command = cfg.mcp_servers[name].describe()
        err(environment, f"added [mcp.servers.{name}]{_was(original, name)}: {command}")
    for name in skipped:
        err(
            environment,
            f"kept the existing [mcp.servers.{name}]{_was(original, name)} (--force replaces it)",
        )
    if original:
        err(
            environment,
            "server names hold only A-Z a-z 0-9 _ - (they name the tools sent to the model): "
            f"{len(original)} imported under the name shown with them",
        )
    if added:
        err(environment, f"wrote {path}; turn a server on with -T NAME")


def _was(original: dict[str, str], name: str) -> str:
    """`` for "时间"``: the name the file gave a server that was imported under another."""
    if name not in original:
        return ""
    return " for " + json.dumps(one_line(original[name], 100), ensure_ascii=False)
