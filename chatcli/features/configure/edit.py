"""``config set``: change one value of the config file in place, or refuse.

An existing file is edited with tomlkit, which keeps every comment, blank line and the order of
keys: only the line of the value set changes (or one is added). A new file is written with
tomli-w. The result is validated before anything is written; anything but an incomplete profile
(being built one ``set`` at a time) is refused with exit 3 and the file is left untouched.
Read, edit and write happen under the file's lock (``lock``): parallel ``set`` runs lose nothing.
"""

from __future__ import annotations

import itertools
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from chatcli.environment import Environment
from chatcli.errors import ConfigError, UsageError
from chatcli.output import err
from chatcli.settings import loading, paths


def split_key(key: str) -> list[str]:
    """``profiles."my relay".model`` -> ``["profiles", "my relay", "model"]``."""
    parts = [p.strip('"') for p in re.findall(r'"[^"]*"|[^.]+', key)]
    if not parts or any(not p for p in parts):
        raise UsageError(f"invalid key {key!r}", hint="use a dotted key, e.g. profiles.relay.model")
    return parts


def parse_value(raw: str) -> Any:
    """A TOML value when it parses as one (numbers, booleans, quoted strings), else the text."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return raw


def edited_text(path: Path, parts: list[str], value: Any) -> str:
    """The config file's text with ``parts`` set to ``value`` (a new file when absent)."""
    if not path.exists():
        import tomli_w

        data: dict[str, Any] = {}
        _assign(data, parts, value, key=".".join(parts))
        return tomli_w.dumps(data)
    import tomlkit
    from tomlkit.exceptions import ParseError

    text = loading.read_text(path)
    try:
        doc = tomlkit.parse(text)
    except ParseError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}", hint="fix it by hand first") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: values nested too deeply to read") from None
    node: Any = doc
    for i, part in enumerate(parts[:-1]):
        if part not in node:
            # a table nested in a new table is written as [a.b], not as an empty [a]
            node[part] = tomlkit.table(is_super_table=i < len(parts) - 2)
        node = node[part]
        if not isinstance(node, dict):
            raise UsageError(f"{'.'.join(parts)}: {part!r} is a value, not a table")
    node[parts[-1]] = value
    return _spaced(text, tomlkit.dumps(doc))


_HEADER = re.compile(r"^\s*\[")


def _spaced(before: str, after: str) -> str:
    """``after`` (tomlkit's edit of ``before``) with a blank line before each table header it
    glued to the line above (a new ``[profiles.r.headers]`` put between ``[profiles.r]``'s keys
    and the next table), as ``config set`` writes tables everywhere else. Headers the file
    itself wrote without a blank line keep their place; if the spacing would change what the
    file means (a line starting with ``[`` inside a multi-line string), ``after`` is kept."""
    old = before.splitlines()
    glued = {(a, b) for a, b in itertools.pairwise(old) if _HEADER.match(b) and a.strip()}
    lines: list[str] = []
    for line in after.splitlines():
        if _HEADER.match(line) and lines and lines[-1].strip() and (lines[-1], line) not in glued:
            lines.append("")
        lines.append(line)
    spaced = "\n".join(lines) + ("\n" if after.endswith("\n") else "")
    if spaced == after or tomllib.loads(spaced) != tomllib.loads(after):
        return after
    return spaced


def _assign(data: dict[str, Any], parts: list[str], value: Any, *, key: str) -> None:
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise UsageError(f"{key}: {part!r} is a value, not a table")
        node = child
    node[parts[-1]] = value


def set_value(environment: Environment, path: Path, key: str, raw: str) -> None:
    """Set ``key`` to ``raw`` in the file at ``path``; refuse (exit 3) an invalid result.

    The file is read, edited and replaced under its lock (``lock.held``), so parallel ``config
    set`` runs each keep their value. A value refused in a folder that does not exist yet is
    refused before the folder (and its lock file) is made."""
    from chatcli.features.configure import lock

    parts = split_key(key)
    value = parse_value(raw)
    real = Path(os.path.realpath(path))
    if not real.parent.is_dir():
        _checked(environment, path, parts, value, notes=False)  # refused: nothing made
        paths.ensure_private_dir(real.parent)
    with lock.held(path):
        text = _checked(environment, path, parts, value, notes=True)
        paths.write_private(path, text)
    from chatcli.settings import keys

    shown = raw
    if parts[-1] == "api_key":
        shown = keys.redact_key(raw)
    elif parts[-1] == "api_key_cmd":
        shown = keys.redact_cmd(raw)
    err(environment, f"set {key} = {shown} in {path}")


def _checked(
    environment: Environment, path: Path, parts: list[str], value: Any, *, notes: bool
) -> str:
    """The file's text with ``parts`` set to ``value``, validated; a ConfigError (each
    problem said) when the result is not a config chatcli can use. ``notes``: say what an
    incomplete profile still lacks."""
    text = edited_text(path, parts, value)
    data = loading.parse(path, text)
    cfg, problems = loading.analyse(path, data, text)
    unknown = loading.unknown_default(cfg)
    if unknown is not None:
        problems.append(unknown)
    if problems:
        for problem in problems[1:]:
            err(environment, f"chatcli: error: {problem.message}")
        first = problems[0]
        raise ConfigError(
            f"not written: {first.message}",
            hint=first.hint or f"{path} was left as it was",
        )
    if notes:
        for incomplete in cfg.incomplete.values():  # e.g. type set before base_url: finish it
            what = incomplete.message.split(": ", 1)[-1]
            err(environment, f"chatcli: note: {what}; set that next")
    return text
