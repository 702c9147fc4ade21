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
from chatcli.errors import ChatcliError, ConfigError, UsageError
from chatcli.output import err
from chatcli.settings import loading, paths


def split_key(key: str) -> list[str]:
    """``profiles."my relay".model`` -> ``["profiles", "my relay", "model"]``."""
    parts = [p.strip('"') for p in re.findall(r'"[^"]*"|[^.]+', key)]
    if not parts or any(not p for p in parts):
        raise UsageError(f"invalid key {key!r}", hint="use a dotted key, e.g. profiles.relay.model")
    return parts


def parse_value(raw: str) -> Any:
    """A TOML value when it parses as one (numbers, booleans, quoted strings), else the text;
    a date or time stays text (no key takes one: ``api_version 2024-10-21`` is a string)."""
    import datetime

    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return raw
    return raw if isinstance(value, (datetime.date, datetime.time)) else value


def edited_text(path: Path, parts: list[str], value: Any) -> str:
    """The config file's text with ``parts`` set to ``value`` (a new file when absent)."""
    if not path.exists():
        import tomli_w

        data: dict[str, Any] = {}
        _assign(data, parts, value, key=".".join(parts))
        return tomli_w.dumps(data)
    return _edited(path, loading.read_text(path), parts, value)


def _edited(path: Path, text: str, parts: list[str], value: Any) -> str:
    """``text`` (the file at ``path``) with ``parts`` set to ``value``, all else kept."""
    import tomlkit
    from tomlkit.exceptions import ParseError

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
        _checked(environment, path, key, parts, value)  # refused: nothing made
        paths.ensure_private_dir(real.parent)
    with lock.held(path):
        text, notes = _checked(environment, path, key, parts, value)
        paths.write_private(path, text)
    from chatcli.settings import keys

    shown = raw
    if parts[-1] == "api_key":
        shown = keys.redact_key(raw)
    elif parts[-1] == "api_key_cmd":
        shown = keys.redact_cmd(raw)
    from chatcli.safetext import visible  # a command set is echoed as it will run

    err(environment, f"set {visible(key, keep='')} = {visible(shown, keep='')} in {path}")
    for note in notes:
        err(environment, f"chatcli: note: {note}")


def _checked(
    environment: Environment, path: Path, key: str, parts: list[str], value: Any
) -> tuple[str, list[str]]:
    """The file's text with ``parts`` set to ``value``, checked as ``config validate`` checks
    it, and what to tell the user about it (what an incomplete profile still lacks, the
    ``default_profile`` set with it); a ConfigError (each problem said) when the result is not
    a config chatcli can use."""
    before = loading.read_text(path) if path.exists() else None
    try:
        text = edited_text(path, parts, value)
        cfg, problems = _problems(path, text, before, parts)
    except UsageError as exc:  # ``models.gpt-4.1.x``: ``gpt-4`` taken as a table of its own
        hint = _quote_hint(path, key, parts, value, before)
        raise UsageError(exc.message, hint=hint or exc.hint) from None
    if problems:
        for problem in problems[1:]:
            err(environment, f"chatcli: error: {problem.message}")
        first = problems[0]
        hint = _quote_hint(path, key, parts, value, before)
        raise ConfigError(
            f"not written: {first.message}",
            hint=hint or first.hint or f"{path} was left as it was",
        )
    notes = [  # e.g. type set before base_url: finish it
        f"{incomplete.message.split(': ', 1)[-1]}; set that next"
        for incomplete in cfg.incomplete.values()
    ]
    text, default = _with_default(path, text, before, parts, cfg)
    return text, [*notes, *([default] if default else [])]


def _problems(
    path: Path, text: str, before: str | None, parts: list[str]
) -> tuple[loading.Config, list[ConfigError]]:
    """The problems ``config validate`` would report in ``text`` that this edit is to blame
    for: any the file cannot be read with, and of those only using it finds (a schema, a
    template, an Azure ``api_version``) the ones it did not have ``before`` or that are in the
    table set (``schemas.s``): an old problem elsewhere does not stop every ``set``."""
    from chatcli.features.configure.problems import use_problems

    cfg, problems = loading.analyse(path, loading.parse(path, text), text)
    unknown = loading.unknown_default(cfg)
    if unknown is not None:
        problems.append(unknown)
    if problems:
        return cfg, problems
    old = set()
    if before is not None:
        try:
            was = loading.analyse(path, loading.parse(path, before), before)[0]
            old = {_gist(problem) for problem in use_problems(was, path, before)}
        except ChatcliError:  # broken before: every problem left is this edit's to fix
            pass
    table = ".".join(parts[:2])
    return cfg, [
        problem
        for problem in use_problems(cfg, path, text)
        if _gist(problem) not in old or table in problem.message
    ]


def _gist(problem: ConfigError) -> str:
    """A problem's message without its line and column, which an edit above it moves."""
    return re.sub(r":\d+:\d+: ", ": ", problem.message, count=1)


_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _quote_hint(
    path: Path, key: str, parts: list[str], value: Any, before: str | None
) -> str | None:
    """For a key refused because a name in it holds dots (``models.gpt-4.1.input_price``:
    ``split_key`` splits on every unquoted dot), the same key with that name quoted, when
    that one would be written; else None."""
    if '"' in key or len(parts) < 3:
        return None
    for start in range(1, len(parts) - 1):
        for end in range(len(parts), start + 1, -1):
            merged = [*parts[:start], ".".join(parts[start:end]), *parts[end:]]
            try:
                if _problems(path, edited_text(path, merged, value), before, merged)[1]:
                    continue
            except ChatcliError:
                continue
            written = ".".join(p if _BARE.fullmatch(p) else f'"{p}"' for p in merged)
            return f"quote a name that holds dots: config set '{written}'"
    return None


def _with_default(
    path: Path, text: str, before: str | None, parts: list[str], cfg: loading.Config
) -> tuple[str, str | None]:
    """``text`` with ``default_profile`` set when this edit adds a profile to a file that
    names none: the new one when it is the first, the one commands used until now when there
    was one; with several already, a note that commands need ``-p``. So adding a profile never
    changes silently which endpoint commands call."""
    if parts[0] != "profiles" or len(parts) < 2 or cfg.default_source == "config":
        return text, None
    name = parts[1]
    had = _profile_names(before)
    if name in had:
        return text, None
    import shlex

    if len(had) > 1:
        return text, (
            f"no default_profile: commands need -p NAME (or: chatcli config set "
            f"default_profile {shlex.quote(name)})"
        )
    chosen = had[0] if had else name
    text = _edited(path, text, ["default_profile"], chosen)
    if had:
        return text, (
            f"default_profile = {chosen} set too, so commands keep using it "
            f"(-p {shlex.quote(name)} picks the new one)"
        )
    return text, f"default_profile = {chosen} set too: commands use it unless -p names another"


def _profile_names(text: str | None) -> list[str]:
    """The ``[profiles.NAME]`` of a config text, in order (none when it cannot be read)."""
    if text is None:
        return []
    try:
        profiles = tomllib.loads(text).get("profiles")
    except (tomllib.TOMLDecodeError, RecursionError):
        return []
    return list(profiles) if isinstance(profiles, dict) else []
