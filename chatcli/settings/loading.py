"""Read the TOML config, validate it, and resolve the effective profile.

The file is parsed with tomllib and turned into frozen dataclasses; every problem becomes a
``ConfigError`` (exit 3) naming the file, the line and column where we can find them, and the fix.
Environment variables make implicit ``openai`` / ``azure`` profiles so that ``chatcli ask hi``
works with nothing but ``OPENAI_API_KEY`` set. Keys are resolved lazily (``resolve_key``) so a
command that needs no key never runs an ``api_key_cmd``.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import stat
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from chatcli.errors import ConfigError, ConfigProblems, IncompleteProfile, UsageError
from chatcli.pricing import CONFIG_SOURCE, ModelInfo
from chatcli.pricing import lookup as lookup_model
from chatcli.settings.choices import MarkdownMode
from chatcli.settings.endpoint_types import (
    ENDPOINT_TYPES,
    foreign_key,
    implicit_profiles,
    listed,
    unfinished_profiles,
)
from chatcli.settings.mcp import McpServer, parse_servers

MARKDOWN_MODES = tuple(MarkdownMode)
AUTH_CHOICES = ("key", "entra")
"""``auth`` of an Azure profile: its key goes in ``api-key``, or is an Entra ID token."""
API_CHOICES = ("auto", "chat", "responses")
"""``api``: the wire protocol of a profile's chat requests (``auto``: Responses on ``openai``
profiles, Chat Completions on relays and Azure; see ``providers/wire.py``)."""
OPENAI_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-6-luna"
"""OpenAI's named replacement for gpt-4o-mini (which it retires on 2027-01-14)."""

# key -> (accepted python types, human name). Bools are excluded from numbers explicitly below.
_SETTINGS: dict[str, tuple[tuple[type, ...], str]] = {
    "model": ((str,), "a string"),
    "system": ((str,), "a string"),
    "temperature": ((int, float), "a number"),
    "max_tokens": ((int,), "an integer"),
    "markdown": ((str,), "one of auto, always, never"),
    "timeout": ((int, float), "a number of seconds"),
    "max_retries": ((int,), "an integer"),
    "max_retry_wait": ((int, float), "a number of seconds"),
    "daily_budget_usd": ((int, float), "a number"),
    "monthly_budget_usd": ((int, float), "a number"),
    "confirm_above_usd": ((int, float), "a number"),
    "log": ((bool,), "true or false"),
    "tools": ((list,), "an array of server or server.tool names"),
    "auto_approve": ((list,), "an array of server.tool names"),
    "auto_approve_read_only": ((bool,), "true or false"),
    "tool_timeout": ((int, float), "a number of seconds"),
    "tool_output_limit": ((int,), "an integer (tokens)"),
    "shell": ((str,), "a shell name or path: bash, zsh, fish or sh"),
    "save_history": ((bool, str), "true, false or the path of a history file"),
    "show_reasoning": ((bool,), "true or false"),
}
_LIST_KEYS = ("tools", "auto_approve")
_PROFILE_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "type": ((str,), f"one of {', '.join(ENDPOINT_TYPES)}"),
    "base_url": ((str,), "a URL string"),
    "endpoint": ((str,), "a URL string"),
    "api_version": ((str,), "a string"),
    "api_key": ((str,), "a string"),
    "api_key_cmd": ((str,), "a shell command string"),
    "api_key_env": ((str,), "an environment variable name"),
    "deployments": ((dict,), "a table of model = deployment"),
    "batch_deployments": ((dict,), "a table of model = Global-Batch deployment"),
    "auth": ((str,), "one of key, entra"),
    "proxy": ((str,), "a proxy URL string"),
    "requests_per_minute": ((int, float), "a number"),
    "stream_usage": ((bool,), "true or false"),
    "headers": ((dict,), 'a table of header = "value" (or { env = "VAR" } / { cmd = "..." })'),
    "organization": ((str,), "an OpenAI organization id string"),
    "project": ((str,), "an OpenAI project id string"),
    "api": ((str,), "one of auto, chat, responses"),
    "store": ((bool,), "true or false"),
    **_SETTINGS,
}
_MODEL_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "context_window": ((int,), "an integer"),
    "input_price": ((int, float), "a number (USD per 1M tokens)"),
    "output_price": ((int, float), "a number (USD per 1M tokens)"),
    "cached_input_price": ((int, float), "a number (USD per 1M cached input tokens)"),
    "tokenizer": ((str,), "a tiktoken encoding name"),
    "reasoning": ((bool,), "true or false"),
    "image_price": ((int, float), "a number (USD per image, any size and quality)"),
    "minute_price": ((int, float), "a number (USD per minute of audio)"),
}
_TOP_KEYS = (
    "default_profile", "defaults", "profiles", "models", "aliases", "roles", "schemas", "templates",
    "mcp",
)  # fmt: skip
TEMPLATE_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "system": ((str,), "a string"),
    "prompt": ((str,), "a string"),
    "model": ((str,), "a model name"),
    "temperature": ((int, float), "a number from 0 to 2"),
    "schema": ((str, dict), "a schema (a string or a table)"),
    "tools": ((list,), "a list of tool names"),
}
"""The keys of ``[templates.NAME]`` and of a template file."""
_BUILTIN_DEFAULTS: dict[str, Any] = {
    "model": DEFAULT_MODEL,
    "markdown": "auto",
    "timeout": 60,
    "max_retries": 3,
    "max_retry_wait": 60,
}


@dataclass(frozen=True)
class Profile:
    """One endpoint with its effective settings (built-ins < [defaults] < profile)."""

    name: str
    type: str
    base_url: str | None = None
    endpoint: str | None = None
    api_version: str | None = None
    api_key: str | None = field(default=None, repr=False)
    api_key_cmd: str | None = None
    api_key_env: str | None = None
    deployments: dict[str, str] = field(default_factory=dict)
    batch_deployments: dict[str, str] = field(default_factory=dict)  # Azure: batch submit's
    auth: str = "key"  # Azure: ``api-key`` (key) or ``Authorization: Bearer`` (entra, Entra ID)
    proxy: str | None = None
    requests_per_minute: float | None = None
    stream_usage: bool = True
    headers: dict[str, Any] = field(default_factory=dict)  # extra headers (settings/headers.py)
    organization: str | None = None  # OpenAI-Organization (also OPENAI_ORG_ID)
    project: str | None = None  # OpenAI-Project (also OPENAI_PROJECT_ID)
    api: str = "auto"  # auto, chat or responses: the wire protocol of chat requests
    store: bool = False  # Responses API: let the provider keep responses (30 days at OpenAI)
    model: str = DEFAULT_MODEL
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    markdown: str = "auto"
    timeout: float = 60.0
    max_retries: int = 3
    max_retry_wait: float = 60.0
    daily_budget_usd: float | None = None
    monthly_budget_usd: float | None = None
    confirm_above_usd: float = 1.0  # bulk commands ask before spending more than this
    log: bool = True  # record conversations (``log = false``: ``ask`` stores no text)
    tools: tuple[str, ...] = ()  # tools on by default: server or server.tool names
    auto_approve: tuple[str, ...] = ()  # server.tool names run without asking
    auto_approve_read_only: bool = False  # tools their server marks read-only run without asking
    tool_timeout: float = 60.0  # seconds one tool call may take
    tool_output_limit: int = 8000  # tokens of one tool result sent to the model; the rest is cut
    shell: str | None = None  # ``chatcli cmd`` writes for this shell (default: detected)
    save_history: bool | str = False  # ``cmd`` appends what it runs to the shell's history
    show_reasoning: bool = True  # show reasoning summaries (dim above the answer / on stderr)
    implicit: bool = False
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    def deployment(self, model: str) -> str:
        """Azure deployment for ``model``; unmapped models use their own name."""
        return self.deployments.get(model, model)

    def batch_deployment(self, model: str) -> str:
        """Azure's Global-Batch deployment for ``model`` (a deployment type of its own, which
        real-time requests cannot use): ``batch_deployments``, else ``deployment``."""
        return self.batch_deployments.get(model) or self.deployment(model)


class SchemaTable(dict[str, dict[str, Any]]):
    """``[schemas]``: each ``[schemas.NAME]`` entry by name, knowing where the file writes it,
    so that an entry found broken when ``--schema @NAME`` uses it (its content is checked
    then, by ``features.schema``) is reported at its line and column, exit 3."""

    def __init__(
        self, entries: dict[str, dict[str, Any]] | None = None, file: _Validator | None = None
    ) -> None:
        super().__init__(entries or {})
        self._file = file

    def where(self, parts: list[str]) -> str | None:
        """``path:line:col`` of the dotted key ``parts`` (``["schemas", "s", "fields"]``), or
        of the nearest table above it the file writes out; None without a file."""
        return None if self._file is None else self._file.place(parts)


@dataclass(frozen=True)
class Config:
    """The whole validated configuration; ``path`` may not exist (zero-config)."""

    path: Path
    exists: bool
    default_profile: str | None
    profiles: dict[str, Profile]
    models: dict[str, ModelInfo]
    aliases: dict[str, str]
    roles: dict[str, str]
    default_source: str = "built-in"  # config, only (the file's one profile), several, built-in
    incomplete: dict[str, ConfigError] = field(default_factory=dict)  # only fatal when used
    mcp_servers: dict[str, McpServer] = field(default_factory=dict)
    role_tools: dict[str, tuple[str, ...]] = field(default_factory=dict)  # [roles.X] tools
    warnings: tuple[str, ...] = ()  # said on stderr by whoever loads it for a command
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)  # for --schema @NAME
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)  # [templates.NAME]
    default_where: str | None = None  # ``path:line:col`` of the file's default_profile
    defined: frozenset[str] = frozenset()  # every [profiles.NAME] of the file, broken or not
    tool_keys: dict[str, str] = field(default_factory=dict)  # ``profiles.p.tools`` -> its place

    def tool_key(self, table: str, key: str) -> str:
        """``path:line:col: profiles.p.tools``: where a tool name of the config came from."""
        path = f"{table}.{key}"
        return f"{self.tool_keys.get(path, self.path)}: {path}"

    def profile(self, name: str | None = None, *, named_by: str | None = None) -> Profile:
        """The profile to use: ``name`` (flag) > ``CHATCLI_PROFILE`` > ``default_profile``
        (without one: the file's only profile, or the environment's when the file has none;
        ``_default_of``). ``named_by`` says where ``name`` came from (``-p/--profile``), for the
        error when no such profile exists; the other two sources are named without being told."""
        chosen = name or os.environ.get("CHATCLI_PROFILE") or self.default_profile
        if chosen is None and self.default_source == "several":
            from shlex import quote

            names = sorted(self.defined)
            raise ConfigError(
                f"{self.path} has {len(names)} profiles ({', '.join(names)}) and no "
                "default_profile: which one to use?",
                hint=f"pick one with -p {quote(names[0])}, or make it the default: "
                f"chatcli config set default_profile {quote(names[0])}",
            )
        if chosen is None:
            unfinished = unfinished_profiles()
            if unfinished:  # Azure's key and endpoint, but no OPENAI_API_VERSION
                problem, hint = next(iter(unfinished.values()))
                raise ConfigError(problem, hint=hint)
            raise ConfigError(
                "no profile configured and no API key in the environment",
                hint="set OPENAI_API_KEY, or run `chatcli config init` to write a config",
            )
        if chosen in self.incomplete:
            raise self.incomplete[chosen]
        if chosen not in self.profiles:
            origin = named_by if name else None
            if not name:
                from_env = os.environ.get("CHATCLI_PROFILE")
                origin = "CHATCLI_PROFILE" if from_env else "default_profile"
            raise self._unknown(chosen, origin)
        return self.profiles[chosen]

    def _unknown(self, chosen: str, origin: str | None) -> ConfigError:
        """No profile ``chosen``: say who named it (``origin``: a flag, ``CHATCLI_PROFILE``,
        or ``default_profile``, then at its line and column in the file) and which there are."""
        unfinished = unfinished_profiles().get(chosen)
        if unfinished is not None:  # ``-p azure`` with only part of Azure's variables
            problem, hint = unfinished
            return ConfigError(problem, hint=hint)
        known = ", ".join(sorted(self.profiles)) or "none"
        if origin == "default_profile":
            error = unknown_default(self)
            if error is not None:
                return ConfigError(f"{error.message} (known: {known})", hint=error.hint)
        fix = "set CHATCLI_PROFILE to" if origin == "CHATCLI_PROFILE" else "pick with -p"
        return ConfigError(
            f"unknown profile {chosen!r}{f' from {origin}' if origin else ''} (known: {known})",
            hint=f"add [profiles.{chosen}] to {self.path}, or {fix} one of those",
        )

    def resolve_model(self, name: str) -> str:
        """Expand an alias (``-m fast``) to a model name, through aliases naming aliases
        (``deep = "think"``, ``think = "o3"``: ``o3``; a loop is refused when the config is
        read); an empty name is a UsageError."""
        resolved = alias_chain(self.aliases, name)[-1]
        if not resolved.strip():
            raise UsageError("the model name is empty", hint="give one with -m NAME")
        return resolved

    def model_info(self, name: str) -> ModelInfo:
        """Built-in facts about ``name`` with ``[models."name"]`` overrides applied."""
        return lookup_model(name, self.models)

    def role(self, name: str) -> str:
        """The system prompt of ``[roles.NAME]``."""
        if name not in self.roles:
            known = ", ".join(sorted(self.roles)) or "none defined"
            raise ConfigError(
                f"unknown role {name!r} (known: {known})",
                hint=f'add [roles.{name}] with a system = "..." line to {self.path}',
            )
        return self.roles[name]


def load(path: Path, *, must_exist: bool = False) -> Config:
    """Read and validate ``path``; a missing file means zero-config unless ``must_exist``."""
    from chatcli.settings.paths import exists

    if not exists(path):
        if must_exist:
            raise ConfigError(f"config file {path} does not exist", hint="check the --config path")
        return _build(path, {}, "", exists=False)
    text = read_text(path)
    data = parse(path, text)
    cfg = _build(path, data, text, exists=True)
    warning = exposed_key(path, data)
    return cfg if warning is None else _with_warning(cfg, warning)


def read_text(path: Path) -> str:
    """The config file's text, or a ConfigError saying why it cannot be read."""
    from chatcli import reading

    return reading.read_text_file(
        path, reading.CONFIG, "a config file", lead="config file", error=ConfigError
    )


def parse(path: Path, text: str) -> dict[str, Any]:
    """The TOML of ``text``, or a ConfigError naming the line and column."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: invalid TOML: {exc}", hint="fix the syntax at that line and column"
        ) from None
    except RecursionError:  # arrays or inline tables nested thousands deep
        raise ConfigError(
            f"{path}: invalid TOML: values nested too deeply to read",
            hint="a config needs a few levels of nesting at most; fix the file",
        ) from None


def exposed_key(path: Path, data: dict[str, Any]) -> str | None:
    """A warning when a file others can read holds an inline ``api_key``."""
    profiles = data.get("profiles")
    if not isinstance(profiles, dict) or not any(
        isinstance(p, dict) and "api_key" in p for p in profiles.values()
    ):
        return None
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if not mode & (stat.S_IRGRP | stat.S_IROTH):
        return None
    return (
        f"{path} holds an api_key and other users can read it (mode {stat.S_IMODE(mode):o}); "
        f"run: chmod 600 '{path}'"
    )


def _with_warning(cfg: Config, warning: str) -> Config:

    return replace(cfg, warnings=(*cfg.warnings, warning))


def _suggest(key: str, allowed: Iterator[str] | list[str] | tuple[str, ...]) -> str:
    """``did you mean `model`?`` for a misspelt key, else the list of allowed keys."""
    names = list(allowed)
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    return f"allowed keys: {', '.join(names)}"


class _Validator:
    """Type-checks tables and reports problems with the file position of the offending key."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.problems: list[ConfigError] = []

    @contextmanager
    def collect(self) -> Iterator[None]:
        """Record a problem raised inside and go on, so one pass reports every problem."""
        try:
            yield
        except IncompleteProfile:
            raise
        except ConfigError as exc:
            self.problems.append(exc)

    def where(self, table: str, key: str | None = None) -> str:
        """``path:line:col`` of ``key`` inside ``[table]`` (or of the table), best effort: as a
        ``[header]``, a dotted key (``headers.X-A = 1``) or inside an inline table
        (``headers = { "X-A" = 1 }``) of the nearest table above it that is written out."""
        return self.place(_parts(table) + ([key] if key is not None else []))

    def place(self, parts: list[str]) -> str:
        """``where`` for a dotted key given as its parts (which may hold dots themselves)."""
        found = self._locate(parts)
        return f"{self.path}:{found[0]}:{found[1]}" if found else str(self.path)

    def _locate(self, parts: list[str]) -> tuple[int, int] | None:
        """(line, column), 1-based, of the key or table ``parts`` names, or of the nearest
        table holding it; None when the file shows neither."""
        fallback: tuple[int, int] | None = None
        for n in range(len(parts), -1, -1):
            head, rest = parts[:n], parts[n:]
            start = self._header(head)
            if start is None:
                continue
            if not rest:
                return (start + 1, 1) if start >= 0 else None
            found = self._in_body(start, rest)
            if found is not None:
                return found
            if fallback is None and start >= 0:
                fallback = (start + 1, 1)
        return fallback

    def _header(self, head: list[str]) -> int | None:
        """The 0-based line of ``[head]`` (-1 for the top level), or None."""
        if not head:
            return -1
        header = re.compile(r"^\s*\[\s*" + _key_pattern(head) + r"\s*\]")
        return next((i for i, ln in enumerate(self.lines) if header.match(ln)), None)

    def _in_body(self, start: int, rest: list[str]) -> tuple[int, int] | None:
        """Where the dotted key ``rest`` is set in the body of the table whose header is at
        line ``start`` (-1: the top level): written out, or inside an inline table."""
        for i in range(start + 1, len(self.lines)):
            line = self.lines[i]
            if re.match(r"^\s*\[", line):
                break
            for k in range(len(rest), 0, -1):
                m = re.match(r"^(\s*)" + _key_pattern(rest[:k]) + r"\s*=", line)
                if m is None:
                    continue
                column = len(m.group(1)) + 1
                for inner in rest[k:]:  # { "X-A" = 5 } or { a = { b = 1 } }
                    found = re.compile(r"[{,]\s*(" + _key_pattern([inner]) + r")\s*[=.]").search(
                        line, m.end()
                    )
                    if found is None:
                        break
                    column = found.start(1) + 1
                return i + 1, column
        return None

    def fail(
        self, table: str, key: str | None, problem: str, hint: str | None = None
    ) -> ConfigError:
        return ConfigError(f"{self.where(table, key)}: {problem}", hint=hint)

    def check(
        self, table: str, data: Any, allowed: dict[str, tuple[tuple[type, ...], str]]
    ) -> dict[str, Any]:
        """The entries of ``data`` that passed, each problem recorded: what is built from a
        table (``float(...)`` of a price) only ever sees values of the type it expects."""
        if not isinstance(data, dict):
            raise self.fail(table, None, f"{table} must be a table, not {_toml_type(data)}")
        good: dict[str, Any] = {}
        for key, value in data.items():
            with self.collect():
                self._check_key(table, key, value, allowed)
                good[key] = value
        return good

    def _check_key(
        self,
        table: str,
        key: str,
        value: Any,
        allowed: dict[str, tuple[tuple[type, ...], str]],
    ) -> None:
        path = _dotted(table, key)
        if key not in allowed:
            raise self.fail(table, key, f"{path}: unknown key", hint=_suggest(key, list(allowed)))
        types, human = allowed[key]
        bad_bool = isinstance(value, bool) and bool not in types
        if bad_bool or not isinstance(value, types):
            raise self.fail(table, key, f"{path} must be {human}, not {_toml_type(value)}")
        if key == "model" and isinstance(value, str) and not value.strip():
            raise self.fail(table, key, f"{path} must not be empty")
        problem = _out_of_range(key, value)
        if problem is not None:
            raise self.fail(table, key, f"{path} {problem}")
        if isinstance(value, list) and not all(isinstance(x, str) for x in value):
            raise self.fail(table, key, f"{path} must be an array of strings")
        if key == "markdown" and value not in MARKDOWN_MODES:
            raise self.fail(table, key, f"{path} must be one of auto, always, never, not {value!r}")
        if key == "auth" and value not in AUTH_CHOICES:
            raise self.fail(table, key, f"{path} must be one of key, entra, not {value!r}")
        if key == "api" and value not in API_CHOICES:
            raise self.fail(
                table, key, f"{path} must be one of auto, chat, responses, not {value!r}"
            )
        if key == "tokenizer" and table.startswith("models."):
            from chatcli.settings.encodings import encoding_problem

            unknown = encoding_problem(str(value))
            if unknown is not None:
                raise self.fail(table, key, f"{path} {unknown[0]}", hint=unknown[1])
        if key == "type" and value not in ENDPOINT_TYPES:
            raise self.fail(
                table,
                key,
                f"{path}: unknown profile type {value!r}",
                hint=f"type must be one of {', '.join(ENDPOINT_TYPES)}",
            )


def _has_type(value: Any, types: tuple[type, ...]) -> bool:
    """isinstance, except that a boolean is no number."""
    return isinstance(value, types) and not (isinstance(value, bool) and bool not in types)


# key -> (lowest, highest) allowed; NaN and infinities are refused for every number.
_RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0, 2),
    "max_tokens": (1, 10_000_000),
    "timeout": (0.1, 86_400),
    "max_retries": (0, 100),
    "max_retry_wait": (0, 86_400),
    "requests_per_minute": (0.001, 1_000_000),
    "daily_budget_usd": (0, 1e9),
    "monthly_budget_usd": (0, 1e9),
    "context_window": (1, 100_000_000),
    "input_price": (0, 1e6),
    "output_price": (0, 1e6),
    "cached_input_price": (0, 1e6),
    "tool_timeout": (0.1, 86_400),
    "tool_output_limit": (100, 10_000_000),
    "image_price": (0, 1e6),
    "minute_price": (0, 1e6),
    "confirm_above_usd": (0, 1e9),
}


def _out_of_range(key: str, value: Any) -> str | None:
    """Why a number is unusable (``must be between 0 and 2, not 99``), or None."""
    bounds = _RANGES.get(key)
    if bounds is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    low, high = bounds
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, not {value}"
    if not low <= value <= high:
        return f"must be between {_number(low)} and {_number(high)}, not {_number(value)}"
    return None


def _number(x: float) -> str:
    """``x`` as a person writes it: ``10,000,000``, ``0.001``, ``-1.5`` (never ``1e+07``)."""
    from decimal import Decimal

    if isinstance(x, int) or x.is_integer():
        return f"{int(x):,}"
    return format(Decimal(repr(x)), ",f")


API_SCHEMES = ("http", "https")
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def _url_problem(
    url: str, schemes: tuple[str, ...] = API_SCHEMES, *, padded: bool = False
) -> str | None:
    """Why ``url`` cannot be called (a character no URL holds, no scheme, one chatcli cannot
    speak, unbalanced brackets, a bad port), or None: said when the config is read, so every
    command gives exit 3 alike. ``padded``: whitespace around it is forgiven (its user strips
    it, as ``base_url``'s does)."""
    from urllib.parse import urlsplit

    from chatcli.safetext import url_characters

    url = url.strip() if padded else url
    odd = url_characters(url)
    if odd is not None:
        return odd
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", url)
    if not scheme:
        return "is not a URL"
    if scheme.group(1).lower() not in schemes:
        return f"is not {' or '.join(schemes)}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if not parts.hostname:
        return "has no host name"
    if parts.query or parts.fragment or url.rstrip().endswith(("?", "#")):
        return "has a query string or fragment (chatcli adds each route's path to it)"
    return None


def url_problem(url: str, *, padded: bool = False) -> str | None:
    """Why an API root or proxy URL cannot be used, or None (for URLs from the environment;
    ``padded`` as in ``_url_problem``)."""
    return _url_problem(url, padded=padded)


def proxy_problem(url: str) -> str | None:
    """Why a proxy URL cannot be used, or None (``config init`` checks its answer so)."""
    return _url_problem(url, PROXY_SCHEMES)


def place(path: Path, text: str, table: str, key: str | None = None) -> str:
    """``path:line:col`` of ``key`` in ``[table]`` of the config ``text`` (best effort)."""
    return _Validator(path, text).where(table, key)


def _parts(table: str) -> list[str]:
    """The names of a dotted table name (``models.""`` keeps its empty name, quoted)."""
    return [p for p in table.split(".") if p] if table else []


def _key_pattern(parts: list[str]) -> str:
    """A regex for a dotted key whose parts may be quoted."""
    return r"\s*\.\s*".join(r"[\"']?" + re.escape(p) + r"[\"']?" for p in parts)


def _dotted(table: str, key: str) -> str:
    """The full dotted path of ``key`` in ``[table]`` (``profiles.bad.api``)."""
    return f"{table}.{key}" if table else key


def _toml_type(value: Any) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        dict: "a table",
        list: "an array",
    }
    return names.get(type(value), type(value).__name__)


def _build(path: Path, data: dict[str, Any], text: str, *, exists: bool) -> Config:
    """The Config of ``data``; every problem found is raised at once (``ConfigProblems``),
    except incomplete profiles, which only fail the commands that use them."""
    cfg, problems = analyse(path, data, text, exists=exists)
    if problems:
        raise problems[0] if len(problems) == 1 else ConfigProblems(problems)
    return cfg


def analyse(
    path: Path, data: dict[str, Any], text: str, *, exists: bool = True
) -> tuple[Config, list[ConfigError]]:
    """The Config of ``data`` (leaving out what is broken) and every problem found in it."""
    v = _Validator(path, text)
    for key in data:
        if key not in _TOP_KEYS:
            v.problems.append(
                v.fail("", key, f"unknown top-level key {key!r}", hint=_suggest(key, _TOP_KEYS))
            )
    default_profile = data.get("default_profile")
    if default_profile is not None and not isinstance(default_profile, str):
        v.problems.append(v.fail("", "default_profile", "default_profile must be a string"))
        default_profile = None
    default_where = v.where("", "default_profile") if default_profile is not None else None
    defaults: dict[str, Any] = {}
    with v.collect():
        raw_defaults = data.get("defaults", {})
        v.check("defaults", raw_defaults, _SETTINGS)
        defaults = {
            k: x
            for k, x in raw_defaults.items()
            if k in _SETTINGS and _has_type(x, _SETTINGS[k][0])
        }

    profiles: dict[str, Profile] = {}
    incomplete: dict[str, ConfigError] = {}
    raw_profiles = data.get("profiles", {})
    if not isinstance(raw_profiles, dict):
        v.problems.append(
            v.fail("", "profiles", "profiles must be a table of [profiles.NAME] tables")
        )
        raw_profiles = {}
    for name, raw in raw_profiles.items():
        try:
            with v.collect():
                profile = _profile(v, name, raw, defaults)
                if profile is not None:
                    profiles[name] = profile
        except IncompleteProfile as exc:
            incomplete[name] = exc
    for name, implicit in _implicit_profiles(defaults).items():
        if name not in incomplete:
            profiles.setdefault(name, implicit)

    models: dict[str, ModelInfo] = {}
    raw_models = data.get("models", {})
    if not isinstance(raw_models, dict):
        v.problems.append(v.fail("", "models", 'models must be a table of [models."NAME"] tables'))
        raw_models = {}
    for name, raw in raw_models.items():
        with v.collect():
            if not name.strip():
                raise v.fail(f'models."{name}"', None, f'models."{name}" needs a model name')
            models[name] = _model_override(name, v.check(f"models.{name}", raw, _MODEL_KEYS))

    aliases = data.get("aliases", {})
    if not isinstance(aliases, dict):
        v.problems.append(v.fail("", "aliases", "aliases must be a table of name = model"))
        aliases = {}
    for alias, target in list(aliases.items()):
        if not isinstance(target, str):
            v.problems.append(v.fail("aliases", alias, f"aliases.{alias} must be a model name "
                                     f"string, not {_toml_type(target)}"))  # fmt: skip
            del aliases[alias]
        elif not target.strip() or not alias.strip():
            v.problems.append(v.fail("aliases", alias, f"aliases.{alias} needs a model name"))
            del aliases[alias]
    for alias in _alias_loops(aliases):
        chain = alias_chain(aliases, alias)
        v.problems.append(v.fail(
            "aliases", alias, f"aliases.{alias} never reaches a model: "
            f"{' -> '.join([*chain, chain[0]])} is a loop",
            hint="point one of these aliases at a model name",
        ))  # fmt: skip
        for name in chain:
            aliases.pop(name, None)

    roles: dict[str, str] = {}
    role_tools: dict[str, tuple[str, ...]] = {}
    raw_roles = data.get("roles", {})
    if not isinstance(raw_roles, dict):
        v.problems.append(v.fail("", "roles", "roles must be a table of [roles.NAME] tables"))
        raw_roles = {}
    for name, raw in raw_roles.items():
        with v.collect():
            good = v.check(f"roles.{name}", raw, _ROLE_KEYS)
            if "system" not in raw:
                raise v.fail(
                    f"roles.{name}", None, f"roles.{name}.system is missing",
                    hint=f'add a system = "..." line to [roles.{name}]',
                )  # fmt: skip
            if "system" in good:
                roles[name] = good["system"]
            if "tools" in good:
                role_tools[name] = tuple(good["tools"])

    mcp_servers, mcp_problems = parse_servers(data.get("mcp", {}), v.fail)
    v.problems.extend(mcp_problems)
    tool_keys = _tool_servers(v, data, {"defaults": raw_defaults, **{
        f"{kind}.{name}": raw
        for kind, tables in (("profiles", raw_profiles), ("roles", raw_roles))
        for name, raw in tables.items()
    }})  # fmt: skip

    templates: dict[str, dict[str, Any]] = {}
    raw_templates = data.get("templates", {})
    if not isinstance(raw_templates, dict):
        v.problems.append(v.fail("", "templates", "templates must be a table of [templates.NAME]"))
        raw_templates = {}
    for name, raw in raw_templates.items():
        with v.collect():
            templates[name] = v.check(f"templates.{name}", raw, TEMPLATE_KEYS)

    schemas = _schemas(v, data.get("schemas", {}))
    source = "config" if default_profile else "built-in"
    if default_profile is None:
        default_profile, source = _default_of(list(raw_profiles), profiles)
    cfg = Config(
        path, exists, default_profile, profiles, models, dict(aliases), roles, source, incomplete,
        schemas=schemas, templates=templates, mcp_servers=mcp_servers, role_tools=role_tools,
        default_where=default_where, defined=frozenset(raw_profiles), tool_keys=tool_keys,
    )  # fmt: skip
    return cfg, v.problems


def _default_of(defined: list[str], profiles: dict[str, Profile]) -> tuple[str | None, str]:
    """The profile commands use when the file names no ``default_profile``, and why: the
    file's only profile (``only``), whatever the environment holds, since that profile is what
    the user set up (an ``OPENAI_API_KEY`` must not send its requests, or the profile's key,
    elsewhere); with no profile of its own, the first zero-config one the environment makes
    (``built-in``); with several, none (``several``: ``Config.profile`` asks for one)."""
    if len(defined) == 1:
        return defined[0], "only"
    if defined:
        return None, "several"
    usual = (name for name, kind in ENDPOINT_TYPES.items() if kind.implicit)
    return next((name for name in usual if name in profiles), None), "built-in"


def alias_chain(aliases: dict[str, str], name: str) -> list[str]:
    """``name`` and the names its aliases lead to, in order, ending at a model name (``deep``
    -> ``["deep", "think", "o3"]``); stops before a name would repeat (a loop, or an alias
    naming itself, which is the model of that name)."""
    chain = [name]
    while (target := aliases.get(chain[-1])) is not None and target not in chain:
        chain.append(target)
    return chain


def _alias_loops(aliases: dict[str, Any]) -> list[str]:
    """One alias of each loop of aliases naming each other (``a = "b"``, ``b = "a"``), in
    the file's order; an alias naming itself is not a loop."""
    found: list[str] = []
    seen: set[str] = set()
    for alias in aliases:
        chain = alias_chain(aliases, alias)
        end = aliases.get(chain[-1])
        if end is not None and end != chain[-1] and end not in seen:
            start = chain.index(end)
            found.append(end)
            seen.update(chain[start:])
    return found


def _tool_servers(v: _Validator, data: dict[str, Any], tables: dict[str, Any]) -> dict[str, str]:
    """Check that every ``tools`` / ``auto_approve`` name of ``tables`` names a server some
    ``[mcp.servers.NAME]`` of the file defines (whether a server has a tool can only be known
    by starting it: the toolbox checks that when it does); returns where each such key is."""
    mcp = data.get("mcp")
    servers = mcp.get("servers") if isinstance(mcp, dict) else None
    defined = sorted(servers) if isinstance(servers, dict) else []
    known = ", ".join(defined) or "none configured"
    places: dict[str, str] = {}
    for table, raw in tables.items():
        for key in _LIST_KEYS:
            names = raw.get(key) if isinstance(raw, dict) else None
            if not isinstance(names, list):
                continue
            places[f"{table}.{key}"] = v.where(table, key)
            for name in names:
                server = name.partition(".")[0] if isinstance(name, str) else None
                if server is None or server in defined:
                    continue
                named = f" (in {name!r})" if name != server else ""
                v.problems.append(v.fail(
                    table, key, f"{table}.{key}: no MCP server named {server!r}{named} "
                    f"(servers: {known})",
                    hint=f"add [mcp.servers.{server}] to the config (or `chatcli mcp import "
                    "FILE`), or fix the name",
                ))  # fmt: skip
    return places


_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_OWN_HEADERS = frozenset({"host", "content-length", "content-type", "transfer-encoding"})


def header_problem(name: str, value: Any) -> str | None:
    """Why ``name = value`` cannot be an entry of a profile's ``headers``, or None."""
    if not _HEADER_NAME.match(name):
        return f"is not a valid HTTP header name ({name!r})"
    if name.lower() in _OWN_HEADERS:
        return "is set by chatcli itself"
    if isinstance(value, str):
        return None if "\n" not in value and "\r" not in value else "has a line break"
    if isinstance(value, dict) and len(value) == 1:
        ((kind, arg),) = value.items()
        if kind in ("env", "cmd") and isinstance(arg, str) and arg:
            return None
    return 'must be a string, { env = "VAR" } or { cmd = "command" }'


def _model_override(name: str, raw: dict[str, Any]) -> ModelInfo:
    """``[models."NAME"]`` (its checked entries) over what the dataset knows; a token price set
    here replaces the dataset's rates for that model (source ``config``), other fields keep
    them. Cached input without its own price costs the configured input price: the dataset's
    cached rate belongs to the dataset's input rate, not to the one set here."""
    from dataclasses import replace

    base = lookup_model(name)
    info = replace(
        base,
        context_window=raw.get("context_window", base.context_window),
        tokenizer=raw.get("tokenizer", base.tokenizer),
        reasoning=raw.get("reasoning", base.reasoning),
        image_prices=(("*", float(raw["image_price"])),)
        if "image_price" in raw
        else base.image_prices,
        minute_price=_float(raw.get("minute_price", base.minute_price)),
    )
    if any(k in raw for k in ("input_price", "output_price", "cached_input_price")):
        input_price = _float(raw.get("input_price", base.input_price))
        cached = raw.get("cached_input_price")
        if cached is None:
            cached = input_price if "input_price" in raw else base.cached_input_price
        info = replace(
            info,
            input_price=input_price,
            output_price=_float(raw.get("output_price", base.output_price)),
            cached_input_price=_float(cached),
            price_source=CONFIG_SOURCE,
            price_date=None,
            catalog=None,
        )
    return info


_ROLE_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "system": ((str,), "a string"),
    "tools": ((list,), "an array of server or server.tool names"),
}


def _schemas(v: _Validator, raw: Any) -> SchemaTable:
    """``[schemas.NAME]`` tables: ``fields``, ``file`` or ``json`` (a string), or a JSON Schema
    written as TOML; their content is checked when ``--schema @NAME`` uses them (a problem is
    exit 3 at its place in the file) and by ``config validate``, not by every command (that
    needs ``jsonschema``, and reads schema files)."""
    out = SchemaTable(file=v)
    if not isinstance(raw, dict):
        v.problems.append(v.fail("", "schemas", "schemas must be a table of [schemas.NAME] tables"))
        return out
    for name, entry in raw.items():
        with v.collect():
            if not isinstance(entry, dict):
                raise v.fail(
                    "schemas", name, f"schemas.{name} must be a table, not {_toml_type(entry)}"
                )
            for key in ("fields", "file", "json"):
                if key in entry and not isinstance(entry[key], str):
                    raise v.fail(f"schemas.{name}", key, f"schemas.{name}.{key} must be a string")
            out[name] = entry
    return out


def _float(x: Any) -> float | None:
    return None if x is None else float(x)


def _missing(ptype: str | None, raw: dict[str, Any]) -> tuple[str, str] | None:
    """What a profile of type ``ptype`` still needs (its registered ``needs``), as (problem,
    hint), or None."""
    if ptype is None:
        return "has no type", f"add type = {listed(quoted=True)}"
    kind = ENDPOINT_TYPES.get(ptype)
    for need in kind.needs if kind is not None else ():
        if not raw.get(need.key):
            return f"is type {ptype} but has no {need.key}", need.hint
    return None


def _profile(v: _Validator, name: str, raw: Any, defaults: dict[str, Any]) -> Profile | None:
    """The profile of ``[profiles.NAME]``; None when it has problems (recorded in ``v``)."""
    table = f"profiles.{name}"
    before = len(v.problems)
    good = v.check(table, raw, _PROFILE_KEYS)  # only these are looked into below
    broken = len(v.problems) > before
    if "type" in raw and "type" not in good:  # a wrong type, recorded: nothing more to say
        return None
    ptype: str | None = good.get("type")
    headers = good.get("headers", {})
    for header, value in headers.items():
        bad = header_problem(str(header), value)
        if bad is not None:
            raise v.fail(f"{table}.headers", str(header), f"{table}.headers.{header} {bad}")
    for key in ("deployments", "batch_deployments"):
        for model, dep in good.get(key, {}).items():
            if not isinstance(dep, str):
                raise v.fail(
                    f"{table}.{key}",
                    model,
                    f"{table}.{key}.{model} must be a string, not {_toml_type(dep)}",
                )
            if not dep.strip() or not model.strip():  # a half-filled ``config set``
                raise v.fail(
                    f"{table}.{key}", model, f'{table}.{key}."{model}" needs a model name and '
                    "a deployment name", hint="write the name the Azure portal shows",
                )  # fmt: skip
    for key in good:
        foreign = foreign_key(ptype or "", key)
        if foreign is not None:
            raise v.fail(table, key, f"{table}.{key} {foreign[0]}", hint=foreign[1])
    missing = _missing(ptype, raw)  # after the checks above: a profile being built is checked
    if missing is not None:
        problem, hint = missing
        raise IncompleteProfile(f"{v.where(table, None)}: [{table}] {problem}", hint=hint)
    if broken:
        return None
    for key in ("base_url", "endpoint", "proxy"):
        schemes = PROXY_SCHEMES if key == "proxy" else API_SCHEMES
        bad_url = _url_problem(raw[key], schemes, padded=key == "base_url") if key in raw else None
        if bad_url is not None:
            hint = "write it with its scheme, e.g. https://..."
            if bad_url.startswith("holds"):
                hint = "type it again: a character that does not show came with it"
            if "query" in bad_url:
                hint = "drop the ?... part" + (
                    "; the API version goes in api_version" if key == "endpoint" else ""
                )
            raise v.fail(table, key, f"{table}.{key} {raw[key]!r} {bad_url}", hint=hint)
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for layer, label in (
        (_BUILTIN_DEFAULTS, "built-in"),
        (defaults, "[defaults]"),
        (raw, f"[{table}]"),
    ):
        for key, value in layer.items():
            merged[key] = value
            sources[key] = label
    kwargs = {k: merged[k] for k in merged if k not in ("type",)}
    for k in _LIST_KEYS:
        if k in kwargs:
            kwargs[k] = tuple(kwargs[k])
    for k in (
        "temperature",
        "timeout",
        "max_retry_wait",
        "requests_per_minute",
        "daily_budget_usd",
        "monthly_budget_usd",
        "confirm_above_usd",
        "tool_timeout",
    ):
        if k in kwargs:
            kwargs[k] = float(kwargs[k])
    assert ptype is not None  # _missing said so otherwise
    return Profile(name=name, type=ptype, sources=sources, **kwargs)


def _implicit_profiles(defaults: dict[str, Any]) -> dict[str, Profile]:
    """Profiles made from the environment alone (the zero-config start)."""
    out: dict[str, Profile] = {}
    base = {**_BUILTIN_DEFAULTS, **defaults}
    sources = {k: ("[defaults]" if k in defaults else "built-in") for k in base}
    common: dict[str, Any] = {
        k: (
            float(v)
            if k
            in (
                "temperature",
                "timeout",
                "max_retry_wait",
                "daily_budget_usd",
                "monthly_budget_usd",
                "confirm_above_usd",
                "tool_timeout",
            )
            else v
        )
        for k, v in base.items()
    }
    for k in _LIST_KEYS:
        if k in common:
            common[k] = tuple(common[k])
    for name, found in implicit_profiles().items():  # the registry says which and how
        kind = ENDPOINT_TYPES[name]
        src = dict(sources, api_key_env=f"env {kind.key_env}")
        src.update({key: f"env {kind.from_env[key]}" for key in found})
        settings: dict[str, Any] = {**common, **found}
        out[name] = Profile(
            name=name, type=name, api_key_env=kind.key_env, implicit=True, sources=src, **settings
        )
    return out


def unknown_default(cfg: Config) -> ConfigError | None:
    """The problem of a file whose ``default_profile`` names no profile (every command would
    fail), at its line and column, or None (``config validate`` and ``config set``)."""
    name = cfg.default_profile
    known = {*cfg.profiles, *cfg.incomplete, *cfg.defined}  # a broken one is reported as such
    if cfg.default_source != "config" or not name or name in known:
        return None
    return ConfigError(
        f"{cfg.default_where or cfg.path}: default_profile {name!r} is not a profile",
        hint=f"add [profiles.{name}] first, or set default_profile to one of the profiles "
        "defined; -p picks another for one command",
    )


def validate_data(path: Path, data: dict[str, Any], text: str = "") -> Config:
    """Validate an in-memory config (``config init`` checks what it writes)."""
    return _build(path, data, text, exists=True)
