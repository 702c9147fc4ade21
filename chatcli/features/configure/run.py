"""What the ``config`` commands do: show effective settings with sources, edit, and init."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from chatcli.environment import Environment
from chatcli.errors import ConfigError
from chatcli.features.configure.problems import use_problems
from chatcli.output import err, json_text, out
from chatcli.safetext import visible
from chatcli.settings import keys, paths
from chatcli.settings import loading as cfgmod
from chatcli.settings.mcp import McpServer
from chatcli.settings.resolve import Env

_SHOWN = (
    "type", "base_url", "endpoint", "api_version", "model", "system", "temperature",
    "max_tokens", "markdown", "timeout", "max_retries", "proxy", "requests_per_minute",
    "stream_usage", "daily_budget_usd", "monthly_budget_usd", "api_key_env", "api_key_cmd",
    "shell", "save_history", "tools", "auto_approve", "auto_approve_read_only", "tool_timeout",
    "tool_output_limit", "api", "store", "show_reasoning", "auth",
)  # fmt: skip
_ONLY_WHEN_SET = ("stream_usage", "save_history", "tools", "auto_approve",
                  "auto_approve_read_only", "tool_timeout", "tool_output_limit", "api", "store",
                  "show_reasoning", "auth")  # fmt: skip


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
    if cfg.default_source == "only":
        return "the file's only profile"
    return "default_profile" if cfg.default_source == "config" else "built-in"


def show(environment: Environment, env: Env, as_json: bool) -> None:
    cfg, profile = env.config, env.profile
    settings: dict[str, dict[str, Any]] = {}
    for key in _SHOWN:
        value = getattr(profile, key)
        if value is None or (key in _ONLY_WHEN_SET and key not in profile.sources):
            continue
        settings[key] = {"value": _plain(value), "source": profile.sources.get(key, "built-in")}
    from chatcli.providers import shown_url

    effective = shown_url(profile)
    if effective is not None:
        settings["base_url"] = {"value": effective[0], "source": effective[1]}
    if env.asked_model:
        settings["model"] = {"value": env.asked_model, "source": "-m/--model"}
    for table in ("deployments", "batch_deployments"):
        if getattr(profile, table):
            settings[table] = {
                "value": getattr(profile, table),
                "source": f"[profiles.{profile.name}.{table}]",
            }
    if profile.headers:
        settings["headers"] = {
            "value": {name: _shown_secret(value) for name, value in profile.headers.items()},
            "source": profile.sources.get("headers", f"[profiles.{profile.name}]"),
        }
    if "api_key_cmd" in settings:  # whatever running it gave: a key pasted into it stays hidden
        settings["api_key_cmd"]["value"] = keys.redact_cmd(settings["api_key_cmd"]["value"])
    _hide_literal_secrets(cfg)
    found: tuple[str, ...] = ()
    try:
        key, source = keys.key_with_source(profile)  # from here on ``out`` masks the key
    except ConfigError as exc:
        settings["api_key"] = {"value": None, "source": exc.message}
    else:
        found = (key,)  # masked below however short it is
        settings["api_key"] = {"value": keys.redact_key(key), "source": source}
    settings = _redacted(settings, found)  # the key itself, however short, where it is set
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
        "mcp_servers": {name: _shown_server(server) for name, server in cfg.mcp_servers.items()},
    }
    info = _redacted(info, ())  # every key registered so far, before JSON escapes any
    settings = info["settings"]
    if as_json:
        out(environment, json_text(info, indent=2) + "\n")
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
        if key == "headers":  # one per line, the source on the first
            pairs = [
                f"{visible(name, keep='')}: {visible(text, keep='')}"
                for name, text in value.items()
            ]
            lines.append(f"  {key:<{width}}  {pairs[0]:<40}  {item['source']}")
            lines.extend(f"  {'':<{width}}  {pair}" for pair in pairs[1:])
            continue
        shown = (
            "(none)"
            if value is None
            else json.dumps(value, ensure_ascii=False)
            if not isinstance(value, str)
            else visible(value, keep="")  # a command or URL as it runs: nothing unseen
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


def _plain(value: Any) -> Any:
    """A number as the config writes it: ``timeout = 60`` shows ``60``, not the ``60.0`` the
    settings hold it as (``temperature = 1.0`` shows ``1`` alike)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _shown_secret(value: Any) -> str:
    """A header value as ``config show`` prints it: literal text by its last 4 characters (header
    values are treated as secrets), ``env VAR``, or ``cmd COMMAND`` with any key in it redacted."""
    if isinstance(value, str):
        return keys.redact_key(value)
    kind, arg = next(iter(value.items()))
    return f"env {arg}" if kind == "env" else f"cmd {keys.redact_cmd(arg)}"


def _shown_server(server: McpServer) -> str:
    """An MCP server's command line or URL with anything that looks like a key redacted (a
    token passed as an argument or in the URL's path or query)."""
    if server.command is not None:
        return keys.redact_cmd(server.describe())
    return keys.redact_url(server.describe())


def _redacted(value: Any, secrets: tuple[str, ...]) -> Any:
    """``value`` (strings, lists and dicts of them) with ``secrets`` and every registered key
    masked."""
    if isinstance(value, str):
        return keys.redact(value, secrets)
    if isinstance(value, list):
        return [_redacted(item, secrets) for item in value]
    if isinstance(value, dict):
        return {key: _redacted(item, secrets) for key, item in value.items()}
    return value


def _hide_literal_secrets(cfg: cfgmod.Config) -> None:
    """Register every key written literally in the config (``api_key`` of any profile, text
    values of ``headers`` and of MCP servers' ``env``/``headers``) so ``out`` masks them
    wherever they would appear, whichever profile is shown and whatever its key resolution
    did."""
    from chatcli import safetext

    for profile in cfg.profiles.values():
        safetext.add_secret(profile.api_key)
        for value in profile.headers.values():
            if isinstance(value, str):
                safetext.add_secret(value)
    for server in cfg.mcp_servers.values():
        for secret in (*server.env.values(), *server.headers.values()):
            safetext.add_secret(secret.text)


def validate(environment: Environment, path: Path, profile: str | None = None) -> None:
    """Report every problem of the file at once (exit 3), or say it is OK. A profile chosen
    by ``-p`` (``profile``) or ``CHATCLI_PROFILE`` is checked as the commands resolve it: an
    unknown one, or one without a key, is their error (exit 3), not a warning."""
    chosen = profile or os.environ.get("CHATCLI_PROFILE") or None
    if not path.exists():  # not an error (``--config`` naming no file is refused before)
        _validate_zero_config(environment, path)
        bad_urls = _environment_url_problems(cfgmod.analyse(path, {}, "")[0])
        for problem in bad_urls[:-1]:
            err(environment, f"chatcli: error: {problem.message}")
        if bad_urls:
            raise bad_urls[-1]
        if chosen:  # the zero-config profiles, as an empty file makes them
            _check_chosen(cfgmod.analyse(path, {}, "")[0], profile)
        return
    text = cfgmod.read_text(path)
    cfg, problems = cfgmod.analyse(path, cfgmod.parse(path, text), text)
    problems.extend(cfg.incomplete.values())
    problems.extend(_environment_url_problems(cfg))
    problems.extend(use_problems(cfg, path, text))
    unknown = cfgmod.unknown_default(cfg)
    if unknown is not None:
        problems.append(unknown)
    if problems:
        for problem in problems:
            hint = f" ({problem.hint})" if problem.hint else ""
            err(environment, f"{problem.message}{hint}")
        n = len(problems)
        raise ConfigError(f"{path}: {n} problem{'s' if n != 1 else ''}")
    exposed = cfgmod.exposed_key(path, cfgmod.parse(path, text))
    if exposed:
        err(environment, f"warning: {exposed}")
    used = _check_chosen(cfg, profile) if chosen else None
    for each in cfg.profiles.values():
        if each.implicit or each.name == used:
            continue
        try:
            if not each.api_key_cmd:  # don't run commands just to validate
                keys.resolve_key(each)
        except ConfigError as exc:
            err(environment, f"warning: {exc.message}")
    _warn_tokenizers(environment, cfg)
    n = len([p for p in cfg.profiles.values() if not p.implicit])
    out(environment, f"{path}: OK ({_uses(cfg, n)})\n")


def _environment_url_problems(cfg: cfgmod.Config) -> list[ConfigError]:
    """The URLs the environment gives zero-config profiles (``OPENAI_BASE_URL``,
    ``AZURE_OPENAI_ENDPOINT``) that the commands would refuse (exit 3): refused here too."""
    found = []
    for profile in cfg.profiles.values():
        for key in ("base_url", "endpoint"):
            url, source = getattr(profile, key, None), profile.sources.get(key, "")
            if profile.implicit and url and source.startswith("env "):
                problem = cfgmod.url_problem(url, padded=key == "base_url")
                if problem is not None:
                    found.append(ConfigError(f"{source}: {url!r} {problem}"))
    return found


def _uses(cfg: cfgmod.Config, n: int) -> str:
    """``3 profiles``, and which one commands use when the environment makes it (the file
    defines none: never a bare ``0 profiles``), or that they need ``-p`` (several, and no
    ``default_profile``)."""
    counted = f"{n} profile{'s' if n != 1 else ''}" if n else "no profiles of its own"
    name = os.environ.get("CHATCLI_PROFILE") or cfg.default_profile
    if name is None and cfg.default_source == "several":
        return f"{counted}; no default_profile, so commands need -p NAME"
    used = cfg.profiles.get(name) if name else None
    if used is not None and used.implicit:
        return f"{counted}; commands use {used.name}, made from {used.api_key_env}"
    if used is None and not n:
        return f"{counted}, and none from the environment: export OPENAI_API_KEY=... first"
    return counted


def _warn_tokenizers(environment: Environment, cfg: cfgmod.Config) -> None:
    """A ``tokenizer`` the config names that cannot be built on this machine (a tiktoken table
    not on disk, tiktoken not installed): counts for that model are estimates here."""
    from chatcli import tokens

    for name, info in cfg.models.items():
        if info.tokenizer and not tokens.exact_available(info.tokenizer):
            reason = tokens.unavailable_reason(info.tokenizer, name)
            err(environment, f'warning: models."{name}".tokenizer: {reason}; counts are estimates')


def _check_chosen(cfg: cfgmod.Config, flag: str | None) -> str:
    """The name of the profile ``-p`` (``flag``) or ``CHATCLI_PROFILE`` chose, resolved as a
    command resolves it (unknown: the commands' ConfigError); its key is looked up as they do
    (a missing one is their error), except that an ``api_key_cmd`` is not run."""
    from chatcli.settings.resolve import Invocation

    env = Invocation(cfg, flag, named_by="-p/--profile").env()
    if not env.profile.api_key_cmd:
        keys.resolve_key(env.profile)
    return env.profile.name


def _validate_zero_config(environment: Environment, path: Path) -> None:
    """``validate`` where the config file does not exist yet: the zero-config rules apply;
    say which profiles the environment makes (or what it lacks for one)."""
    from chatcli.settings.endpoint_types import implicit_profiles, unfinished_profiles

    out(
        environment,
        f"{path}: no config file there yet; the zero-config rules apply "
        "(`chatcli config init` or `chatcli config set` writes it)\n",
    )
    found = sorted(implicit_profiles())
    if found:
        err(environment, f"profiles from the environment: {', '.join(found)}")
    for problem, hint in unfinished_profiles().values():
        err(environment, f"warning: {problem} ({hint})")
    if not found and not unfinished_profiles():
        err(environment, "no profile from the environment yet: export OPENAI_API_KEY=...")


def set_value(environment: Environment, path: Path, key: str, raw: str) -> None:
    from chatcli.features.configure.edit import set_value as edit

    edit(environment, path, key, raw)


def init(environment: Environment, path: Path, force: bool) -> None:
    from chatcli.features.configure.init import run

    run(environment, path, force)
