"""The names shell completion offers for option values, read as cheaply as possible.

Completion runs on every Tab, so this reads the config file (found by the caller) with tomllib
alone (a config that does
not validate still completes what it names) and the session names with one query, and imports
nothing heavy. Any failure completes nothing rather than printing an error into the shell.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from chatcli.settings import paths


def _raw_config(config: Path | None) -> dict[str, Any]:
    if config is None:
        return {}
    try:
        return tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # TOMLDecodeError is a ValueError
        return {}


def _table(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    return [str(k) for k in value] if isinstance(value, dict) else []


def profiles(config: Path | None = None) -> list[str]:
    """Profiles of the config, and the implicit ones the environment makes."""
    from chatcli.settings.endpoint_types import implicit_profiles

    names = _table(_raw_config(config), "profiles") + list(implicit_profiles())
    return sorted(set(names))


def models(config: Path | None = None) -> list[str]:
    """Aliases, the config's ``[models]``, the profiles' models and the built-in table."""
    from chatcli.pricing import CHAT_MODELS

    data = _raw_config(config)
    names = _table(data, "aliases") + _table(data, "models")
    raw_profiles = data.get("profiles")
    for section in [data.get("defaults"), *(raw_profiles or {}).values()]:
        if isinstance(section, dict) and isinstance(section.get("model"), str):
            names.append(section["model"])
    seen = dict.fromkeys([*names, *CHAT_MODELS])
    return list(seen)


def roles(config: Path | None = None) -> list[str]:
    """The ``[roles]`` of the config."""
    return sorted(_table(_raw_config(config), "roles"))


def schemas(config: Path | None = None) -> list[str]:
    """``--schema @NAME`` for each ``[schemas.NAME]`` of the config."""
    return [f"@{name}" for name in sorted(_table(_raw_config(config), "schemas"))]


def tools(config: Path | None = None) -> list[str]:
    """``-T``/``--approve``/``mcp list``: the ``[mcp.servers]`` of the config (a server's own
    tools are known only once it runs, and Tab never starts one)."""
    mcp = _raw_config(config).get("mcp")
    return sorted(_table(mcp, "servers")) if isinstance(mcp, dict) else []


def sessions() -> list[str]:
    """Stored session names, most recently used first; nothing when there is no database."""
    from chatcli.errors import ChatcliError
    from chatcli.store import DB_NAME, Store

    data_dir = paths.data_dir()
    if not (data_dir / DB_NAME).exists():
        return []
    try:
        with Store.open(data_dir, replay=False) as store:  # quiet: a Tab press
            return store.session_names()
    except ChatcliError:
        return []


def _template_folder(config: Path | None) -> Path | None:
    return None if config is None else config.parent / "templates"


def templates(config: Path | None = None) -> list[str]:
    """Template names: ``[templates]`` of the config and files in the templates folder."""
    names = set(_table(_raw_config(config), "templates"))
    folder = _template_folder(config)
    if folder is not None and folder.is_dir():
        names.update(p.stem for p in folder.iterdir() if p.suffix in (".md", ".toml"))
    return sorted(names)


def template_variables(name: str | None, config: Path | None = None) -> list[str]:
    """``VAR=`` for each variable of template ``name`` (``input`` left out: it is the prompt)."""
    from chatcli.features.templates.library import VARIABLE

    if not name:
        return []
    texts: list[str] = []
    table = _raw_config(config).get("templates", {})
    if isinstance(table, dict) and isinstance(table.get(name), dict):
        texts = [str(v) for k, v in table[name].items() if k in ("system", "prompt")]
    else:
        folder = _template_folder(config)
        for suffix in (".toml", ".md"):
            path = folder / f"{name}{suffix}" if folder is not None else None
            if path is not None and path.is_file():
                try:
                    texts = [path.read_text(encoding="utf-8", errors="replace")]
                except OSError:
                    return []
                break
    found = dict.fromkeys(m.group(1) for t in texts for m in VARIABLE.finditer(t))
    return [f"{v}=" for v in found if v != "input"]


def image_sizes() -> list[str]:
    """The WIDTHxHEIGHT sizes the known image models take, most common first."""
    from chatcli.providers.images import IMAGE_MODELS

    sizes = (s for model in IMAGE_MODELS.values() for s in model.sizes if "x" in s)
    return sorted(set(sizes), key=lambda s: (s != "1024x1024", s))
