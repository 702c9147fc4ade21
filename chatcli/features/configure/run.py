"""What the ``config`` commands do: show effective settings with sources, edit, and init."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from chatcli.environment import Environment
from chatcli.errors import ConfigError, UsageError
from chatcli.output import ask, err, out
from chatcli.settings import keys, paths
from chatcli.settings import loading as cfgmod
from chatcli.settings.endpoint_types import ENDPOINT_TYPES, listed
from chatcli.settings.resolve import Env

_SHOWN = (
    "type", "base_url", "endpoint", "api_version", "model", "system", "temperature",
    "max_tokens", "markdown", "timeout", "max_retries", "proxy", "requests_per_minute",
    "stream_usage", "daily_budget_usd", "monthly_budget_usd", "api_key_env", "api_key_cmd",
    "shell", "save_history", "tools", "auto_approve", "auto_approve_read_only", "tool_timeout",
    "tool_output_limit", "api", "store", "show_reasoning",
)  # fmt: skip
_ONLY_WHEN_SET = ("stream_usage", "save_history", "tools", "auto_approve",
                  "auto_approve_read_only", "tool_timeout", "tool_output_limit", "api", "store",
                  "show_reasoning")  # fmt: skip


def show_path(environment: Environment, path: Path) -> None:
    out(environment, f"{path}\n")
    if not path.exists():
        err(environment, "(does not exist yet: `chatcli config init` creates it)")


def _profile_source(env: Env) -> str:
    cfg = env.config
    if env.asked_profile:
        return "-p/--profile"
    if os.environ.get("CHATCLI_PROFILE"):
        return "env CHATCLI_PROFILE"
    return "default_profile" if cfg.default_source == "config" else "built-in"


def show(environment: Environment, env: Env, as_json: bool) -> None:
    cfg, profile = env.config, env.profile
    settings: dict[str, dict[str, Any]] = {}
    for key in _SHOWN:
        value = getattr(profile, key)
        if value is None or (key in _ONLY_WHEN_SET and key not in profile.sources):
            continue
        settings[key] = {"value": value, "source": profile.sources.get(key, "built-in")}
    from chatcli.providers import shown_url

    effective = shown_url(profile)
    if effective is not None:
        settings["base_url"] = {"value": effective[0], "source": effective[1]}
    if env.asked_model:
        settings["model"] = {"value": env.asked_model, "source": "-m/--model"}
    if profile.deployments:
        settings["deployments"] = {
            "value": profile.deployments,
            "source": f"[profiles.{profile.name}.deployments]",
        }
    try:
        key, source = keys.key_with_source(profile)
    except ConfigError as exc:
        settings["api_key"] = {"value": None, "source": exc.message}
    else:
        for item in settings.values():  # a key pasted into api_key_cmd must not leak either
            if isinstance(item["value"], str) and key in item["value"]:
                item["value"] = item["value"].replace(key, keys.redact_key(key))
            item["source"] = item["source"].replace(key, keys.redact_key(key))
        settings["api_key"] = {
            "value": keys.redact_key(key),
            "source": source.replace(key, keys.redact_key(key)),
        }
    info = {
        "config_file": str(cfg.path),
        "config_exists": cfg.exists,
        "data_dir": str(paths.data_dir()),
        "profile": profile.name,
        "profile_source": _profile_source(env),
        "implicit_profile": profile.implicit,
        "settings": settings,
        "profiles": sorted(cfg.profiles),
        "aliases": cfg.aliases,
        "roles": sorted(cfg.roles),
        "mcp_servers": {name: server.describe() for name, server in cfg.mcp_servers.items()},
    }
    if as_json:
        out(environment, json.dumps(info, ensure_ascii=False, indent=2) + "\n")
        return
    exists = "" if cfg.exists else "  (not found: zero-config from the environment)"
    lines = [
        f"config file   {cfg.path}{exists}",
        f"data dir      {info['data_dir']}",
        f"profile       {profile.name}  ({info['profile_source']}"
        + (", implicit from the environment)" if profile.implicit else ")"),
        "",
    ]
    width = max(len(k) for k in settings)
    for key, item in settings.items():
        value = item["value"]
        shown = (
            "(none)"
            if value is None
            else json.dumps(value, ensure_ascii=False)
            if not isinstance(value, str)
            else value
        )
        lines.append(f"  {key:<{width}}  {shown:<40}  {item['source']}")
    lines.append("")
    lines.append(f"profiles      {', '.join(sorted(cfg.profiles)) or '(none)'}")
    if cfg.aliases:
        lines.append("aliases       " + ", ".join(f"{k} = {v}" for k, v in cfg.aliases.items()))
    if cfg.roles:
        lines.append(f"roles         {', '.join(sorted(cfg.roles))}")
    if cfg.mcp_servers:  # commands and URLs only: env and header values may be secrets
        lines.append(f"mcp servers   {', '.join(cfg.mcp_servers)}  (chatcli mcp list shows tools)")
    out(environment, "\n".join(lines) + "\n")


def validate(environment: Environment, path: Path) -> None:
    """Report every problem of the file at once (exit 3), or say it is OK."""
    from chatcli.features.configure.edit import unknown_default

    if not path.exists():
        raise ConfigError(f"{path} does not exist", hint="`chatcli config init` creates it")
    text = cfgmod.read_text(path)
    cfg, problems = cfgmod.analyse(path, cfgmod.parse(path, text), text)
    problems.extend(cfg.incomplete.values())
    if cfg.default_profile and cfg.default_profile not in {*cfg.profiles, *cfg.incomplete}:
        problems.append(unknown_default(path, text, cfg.default_profile))
    if problems:
        for problem in problems:
            hint = f" ({problem.hint})" if problem.hint else ""
            err(environment, f"{problem.message}{hint}")
        n = len(problems)
        raise ConfigError(f"{path}: {n} problem{'s' if n != 1 else ''}")
    for profile in cfg.profiles.values():
        if profile.implicit:
            continue
        try:
            if not profile.api_key_cmd:  # don't run commands just to validate
                keys.resolve_key(profile)
        except ConfigError as exc:
            err(environment, f"warning: {exc.message}")
    exposed = cfgmod.exposed_key(path, cfgmod.parse(path, text))
    if exposed:
        err(environment, f"warning: {exposed}")
    n = len([p for p in cfg.profiles.values() if not p.implicit])
    out(environment, f"{path}: OK ({n} profile{'s' if n != 1 else ''})\n")


def set_value(environment: Environment, path: Path, key: str, raw: str) -> None:
    from chatcli.features.configure.edit import set_value as edit

    edit(environment, path, key, raw)


_TEMPLATE = """\
# chatcli configuration, written by `chatcli config init`.
# Every key is described in config.example.toml of the chatcli repository.
default_profile = {name}

[defaults]
model = {model}
markdown = "auto"          # auto (render only on a terminal) | always | never
timeout = 60               # connect timeout and the longest silence inside a stream, seconds
max_retries = 3            # 429 / 5xx / connection resets; Retry-After is honoured

[profiles.{name_key}]
{profile_lines}
"""


def _ask(
    environment: Environment, prompt: str, default: str | None = None, *, hidden: bool = False
) -> str:
    """One answer from the terminal on stdin; ``hidden``: not echoed (``output.ask``)."""
    shown = f"{prompt}" + (f" [{default}]" if default else "") + ": "
    line = ask(environment, shown, hidden=hidden)
    if not line:
        raise UsageError("config init was given no answer (end of input)")
    return line.strip() or (default or "")


def init(environment: Environment, path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise UsageError(f"{path} already exists", hint="edit it, use `config set`, or --force")
    if not environment.stdin_isatty:
        raise UsageError(
            "config init asks questions and needs a terminal",
            hint="run it in a terminal, or write the file with `chatcli config set KEY VALUE`",
        )
    first = next(iter(ENDPOINT_TYPES))
    kind = _ask(environment, f"Endpoint type ({', '.join(ENDPOINT_TYPES)})", first)
    if kind not in ENDPOINT_TYPES:
        raise UsageError(f"unknown endpoint type {kind!r}", hint=listed())
    name = _ask(environment, "Profile name", kind)
    lines = [f"type = {json.dumps(kind)}"]
    for need in ENDPOINT_TYPES[kind].needs:  # what a profile of this type must set
        question = need.question if need.default else f"{need.question} (e.g. {need.example})"
        lines.append(f"{need.key} = {json.dumps(_ask(environment, question, need.default))}")
    conventional = ENDPOINT_TYPES[kind].key_env
    source = _ask(
        environment,
        "Where is the key? env VAR, cmd COMMAND, or paste the key (not shown)",
        f"env {conventional}",
        hidden=True,
    )
    if source.startswith("env "):
        lines.append(f"api_key_env = {json.dumps(source[4:].strip())}")
        err(environment, f"key: from {source}")
    elif source.startswith("cmd "):
        lines.append(f"api_key_cmd = {json.dumps(source[4:].strip())}   # run; stdout is the key")
        err(environment, f"key: from the command {keys.redact_cmd(source[4:].strip())}")
    else:
        keys.check_key(source, "the pasted text")
        lines.append(f"api_key = {json.dumps(source)}   # this file is 0600; prefer api_key_cmd")
        err(environment, f"key: {keys.redact_key(source)} (pasted)")
    proxy = _ask(environment, "Proxy for this profile (empty for none)", "")
    if proxy:
        lines.append(f"proxy = {json.dumps(proxy)}")
    model = _ask(environment, "Default model", "gpt-4o-mini")
    text = _TEMPLATE.format(
        name=json.dumps(name),
        name_key=name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name),
        model=json.dumps(model),
        profile_lines="\n".join(lines),
    )
    cfgmod.validate_data(path, tomllib.loads(text))
    paths.write_private(path, text)
    err(environment, f"wrote {path}")
