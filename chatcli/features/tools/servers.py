"""``chatcli mcp list`` and ``chatcli mcp import``.

``list`` starts each server only to ask for its tools, then stops it. ``import`` reads the
``mcpServers`` object Claude Desktop, Cursor and others write (or VS Code's ``servers``) and
adds each server as ``[mcp.servers.NAME]``; ``${env:VAR}`` / ``${VAR}`` values become
``{ env = "VAR" }`` (inside other text, ``{ cmd = ... }`` printing the text with the variable)
so no secret is copied into the config. What cannot work as written is not imported, said
against the file: another shape than these clients write, an SSE server (chatcli speaks stdio
and streamable HTTP), a ``${...}`` that cannot be filled in. The config file must be valid
first; it is edited in place (comments kept) and validated before it is written.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatcli.environment import Environment
from chatcli.errors import ConfigError, UsageError
from chatcli.output import err, json_text, out
from chatcli.safetext import hidden_in, one_line, url_characters, visible

if TYPE_CHECKING:
    from chatcli.settings.loading import Config


def list_servers(environment: Environment, config: Config, names: list[str], as_json: bool) -> None:
    """Print each server, how long its start took and its tools. The servers start at once,
    so those that do not answer cost one ``startup_timeout`` in all. A server that could not
    start is one error line and its hint, after the rest are listed; the exit is 3, or 6 when
    every failure was an HTTP server that could not be reached or did not answer in time."""
    from chatcli.errors import ChatcliError
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
        if as_json:  # a script's parser gets the empty list every other --json list gives
            out(environment, "[]\n")
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
        out(environment, json_text(listed, indent=2) + "\n")
    if not failed:
        return
    # the error raised (and its exit code) is a configuration one when there is one to fix
    last = next((e for e in reversed(failed) if isinstance(e, ConfigError)), failed[-1])
    for problem in failed:
        if problem is not last:
            err(environment, f"chatcli: error: {problem.message}")
    raise last


_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_VARIABLE = re.compile(r"^(?:env:)?([A-Za-z_][A-Za-z0-9_]*)$")
_EDITOR_VARIABLES = {"userHome": "HOME"}  # VS Code's and Cursor's ${userHome}
_EDITOR_ONLY = re.compile(r"^(?:workspaceFolder\w*|workspaceRoot|cwd|pathSeparator|file\w*)$")
"""The editor's own ``${...}`` (not environment variables) that have no value here."""


class _Refused(UsageError):
    """A server of the imported file that is not imported: what is wrong, and where."""


@dataclass
class _Reading:
    """One server of the imported file as it is read: where it is (for messages) and the
    notes said about what was changed on the way."""

    file: Path
    raw: str
    notes: list[str] = field(default_factory=list)

    def where(self, key: str = "") -> str:
        name = json.dumps(one_line(visible(self.raw, keep=""), 100), ensure_ascii=False)
        return f"{self.file}: server {name}" + (f": {key}" if key else "")

    def refuse(self, key: str, problem: str, hint: str | None = None) -> _Refused:
        return _Refused(f"{self.where(key)} {problem}; not imported", hint=hint)

    def note(self, key: str, said: str) -> None:
        self.notes.append(f"{self.where(key)} {said}")


def _kind(value: Any) -> str:
    """What a JSON value is, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "an array" if isinstance(value, list) else "an object"


def _shown_as_is(reading: _Reading, key: str, text: str) -> str:
    """``text`` (a command, an argument, a name) when a terminal shows it as it is (tabs and
    newlines do); a refusal naming what it holds otherwise. An escape sequence in a command
    is no part of any real server's: a file made to hide one (``ESC ] ... BEL`` around
    ``; touch ...``) would run what a terminal does not show."""
    found = hidden_in(text)
    if not found:
        return text
    named = ", ".join(found[:4]) + (", …" if len(found) > 4 else "")
    shown = json.dumps(one_line(visible(text, keep=""), 200), ensure_ascii=False)
    raise reading.refuse(
        key,
        f"holds characters a terminal would not show ({named}): {shown}",
        hint="they can hide part of what the server runs; if they are meant, add the server "
        "by hand as [mcp.servers.NAME]",
    )


def _literal(reading: _Reading, key: str, text: str) -> str:
    """Text that the config keeps as it is: a ``${...}`` in it could not be filled in, and
    it is shown as it is (``_shown_as_is``)."""
    _shown_as_is(reading, key, text)
    match = _PLACEHOLDER.search(text)
    if match is not None:
        raise reading.refuse(
            key,
            f"holds {one_line(match.group(0), 60)}, which chatcli cannot fill in there",
            hint="write the value in, then add the server as [mcp.servers.NAME] by hand",
        )
    return text


def _value(reading: _Reading, key: str, value: Any) -> Any:
    """A value of ``env`` or ``headers`` as the config keeps it (None: left out).

    ``${env:VAR}`` / ``${VAR}`` as the whole value is ``{ env = "VAR" }``; inside other text
    (``Bearer ${env:TOKEN}``) the value is printed by a command, ``{ cmd = ... }``, which fails
    when the variable is not set; other ``${...}`` (VS Code's ``${input:...}``) cannot be
    filled in. Numbers and booleans are their JSON text; null is left out."""
    if value is None:
        reading.note(key, "is null: left out")
        return None
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    if not isinstance(value, str):
        raise reading.refuse(key, f"must be text, not {_kind(value)}")
    matches = list(_PLACEHOLDER.finditer(value))
    if not matches:
        return value
    names = []
    for match in matches:
        inside = match.group(1).strip()
        variable = _VARIABLE.match(inside)
        if _EDITOR_ONLY.match(inside):
            raise reading.refuse(
                key,
                f"holds {one_line(match.group(0), 60)}, the editor's own variable, which "
                "chatcli cannot fill in",
                hint="write the path in, then add the server as [mcp.servers.NAME] by hand",
            )
        if variable is None:
            raise reading.refuse(
                key,
                f"holds {one_line(match.group(0), 60)}, which chatcli cannot fill in "
                '(only ${env:VAR} and ${VAR} are read, as { env = "VAR" })',
                hint="put the value, or a variable that holds it, there by hand",
            )
        names.append(_EDITOR_VARIABLES.get(inside, variable.group(1)))
    if len(matches) == 1 and matches[0].span() == (0, len(value)):
        return {"env": names[0]}
    import shlex

    pieces, at = [], 0
    for match, name in zip(matches, names, strict=True):
        if match.start() > at:
            pieces.append(shlex.quote(value[at : match.start()]))
        pieces.append(f'"${{{name}:?}}"')
        at = match.end()
    if at < len(value):
        pieces.append(shlex.quote(value[at:]))
    command = "printf '%s\\n' " + "".join(pieces)
    unset = " or ".join(dict.fromkeys(names))
    said = f"mixes text and variables: it is printed by a command (failing when {unset} is unset)"
    reading.note(key, f"{said}: {command}")
    return {"cmd": command}


def _table(reading: _Reading, key: str, raw: Any) -> dict[str, Any]:
    """``env`` or ``headers``: an object of NAME: value."""
    if not isinstance(raw, dict):
        raise reading.refuse(key, f"must be an object of NAME: value, not {_kind(raw)}")
    out: dict[str, Any] = {}
    for name, value in raw.items():
        _shown_as_is(reading, f"{key}.{visible(str(name), keep='')}", str(name))
        converted = _value(reading, f"{key}.{name}", value)
        if converted is not None:
            out[str(name)] = converted
    return out


def _args(reading: _Reading, raw: Any) -> list[str]:
    """``args``: an array of text (numbers and booleans as their JSON text); one string is
    split as a shell would, with a note."""
    if isinstance(raw, str):
        import shlex

        try:
            split = shlex.split(raw)
        except ValueError as exc:
            raise reading.refuse("args", f"is one string that cannot be split ({exc})") from None
        reading.note("args", f"is one string: split as a shell would, into {json.dumps(split)}")
        raw = split
    if not isinstance(raw, list):
        raise reading.refuse("args", f"must be an array of text, not {_kind(raw)}")
    args = []
    for i, item in enumerate(raw):
        if isinstance(item, bool | int | float):
            item = json.dumps(item)
        if not isinstance(item, str):
            raise reading.refuse(f"args[{i}]", f"must be text, not {_kind(item)}")
        args.append(_literal(reading, f"args[{i}]", item))
    return args


_STDIO = {"stdio"}
_HTTP = {"http", "streamable-http", "streamable_http", "streamablehttp"}


def _entry(reading: _Reading, spec: Any) -> dict[str, Any]:
    """One server of the file as ``[mcp.servers.NAME]`` holds it; ``_Refused`` (said against
    the file) for one that cannot be imported as it is."""
    if not isinstance(spec, dict):
        raise reading.refuse("", f"must be an object, not {_kind(spec)}")
    kind = spec.get("type", spec.get("transport"))
    if kind is not None:
        if not isinstance(kind, str):
            raise reading.refuse("type", f"must be text, not {_kind(kind)}")
        if kind.lower() == "sse":
            raise reading.refuse(
                "type",
                'is "sse" (HTTP with Server-Sent Events), which chatcli does not speak: it '
                "speaks stdio and streamable HTTP",
                hint="if the server also serves streamable HTTP (often at /mcp), add that URL "
                "by hand as url in [mcp.servers.NAME]",
            )
        if kind.lower() not in _STDIO | _HTTP:
            raise reading.refuse(
                "type", f"is {json.dumps(one_line(kind, 40))}: chatcli speaks stdio and http"
            )
    out: dict[str, Any] = {}
    command, url = spec.get("command"), spec.get("url")
    if command is not None:
        if not isinstance(command, str) or not command.strip():
            raise reading.refuse("command", f"must be a program's name, not {_kind(command)}")
        out["command"] = _literal(reading, "command", command)
        if spec.get("args") is not None:
            out["args"] = _args(reading, spec["args"])
        if spec.get("env") is not None:
            out["env"] = _table(reading, "env", spec["env"])
        if spec.get("cwd") is not None:
            cwd = spec["cwd"]
            if not isinstance(cwd, str):
                raise reading.refuse("cwd", f"must be text, not {_kind(cwd)}")
            out["cwd"] = _literal(reading, "cwd", cwd)
    elif url is not None:
        if not isinstance(url, str):
            raise reading.refuse("url", f"must be text, not {_kind(url)}")
        odd = url_characters(url)  # as [mcp.servers.NAME] checks it
        if odd is not None:
            shown = json.dumps(one_line(visible(url, keep=""), 200), ensure_ascii=False)
            raise reading.refuse("url", f"{shown} {odd}")
        if not re.match(r"^https?://", url):
            raise reading.refuse("url", f"{json.dumps(one_line(url, 100))} is not an http(s) URL")
        out["url"] = _literal(reading, "url", url)
        if spec.get("headers") is not None:
            out["headers"] = _table(reading, "headers", spec["headers"])
    else:
        raise reading.refuse("", "has neither command nor url")
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
    """Add the servers of ``file`` to the config file at ``path``. A server that cannot be
    imported as it is (its shape, an SSE server, a ``${...}`` that cannot be filled in) is
    said against the file and left out, the others are written, and the exit is 2. The config
    at ``path`` has been loaded by the caller: one with a problem never gets here (exit 3)."""
    import tomlkit
    from tomlkit.exceptions import ParseError

    from chatcli import reading
    from chatcli.features.tools import jsonc
    from chatcli.settings import loading, paths

    try:  # VS Code's files are JSONC: comments and trailing commas are allowed
        data = jsonc.loads(reading.read_text_file(file, reading.CONFIG, "a JSON file"))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{file} is not JSON: {exc}") from None
    except RecursionError:
        raise UsageError(f"{file} is not JSON: values nested too deeply to read") from None
    if isinstance(data, dict) and not {"mcpServers", "servers"} & data.keys():
        data = data.get("mcp")  # VS Code's settings.json holds them in "mcp"
    found = data.get("mcpServers", data.get("servers")) if isinstance(data, dict) else None
    if not isinstance(found, dict) or not found:
        raise UsageError(f"{file} has no mcpServers (or servers) object")
    text = ""
    if path.exists():  # the command's edge has refused a config with a problem (exit 3)
        text = loading.read_text(path)
    try:
        doc = tomlkit.parse(text)
    except (ParseError, RecursionError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}", hint="fix it by hand first") from None
    mcp = doc.setdefault("mcp", tomlkit.table(is_super_table=True))
    table = mcp.setdefault("servers", tomlkit.table(is_super_table=True))
    names = _config_names([str(n) for n in found])
    added, skipped, notes = [], [], []
    refused: list[_Refused] = []
    for raw_name, spec in found.items():
        name = names[str(raw_name)]
        if name in table and not force:
            skipped.append(name)
            continue
        read = _Reading(file, str(raw_name))
        try:
            entry = _entry(read, spec)
        except _Refused as exc:
            refused.append(exc)
            continue
        notes += read.notes
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
    for note in notes:
        err(environment, f"chatcli: note: {note}")
    for name in added:
        command = cfg.mcp_servers[name].describe()
        err(environment, f"added [mcp.servers.{name}]{_was(original, name)}: {command}")
    for name in skipped:
        err(
            environment,
            f"kept the existing [mcp.servers.{name}]{_was(original, name)} (--force replaces it)",
        )
    # what this run did, counted apart: a second import adds nothing and must not say it did
    imported, kept = (sum(n in names for n in original) for names in (added, skipped))
    counts = [f"{k} {what}" for k, what in ((imported, "imported"), (kept, "already there")) if k]
    if counts:
        err(
            environment,
            "server names hold only A-Z a-z 0-9 _ - (they name the tools sent to the model): "
            f"{', '.join(counts)} under the name shown with them",
        )
    if added:
        err(environment, f"wrote {path}; turn a server on with -T NAME")
    if refused:
        for problem in refused[:-1]:
            err(environment, f"chatcli: error: {problem.message}")
        raise refused[-1]


def _was(original: dict[str, str], name: str) -> str:
    """`` for "时间"``: the name the file gave a server that was imported under another."""
    if name not in original:
        return ""
    shown = one_line(visible(original[name], keep=""), 100)
    return " for " + json.dumps(shown, ensure_ascii=False)
