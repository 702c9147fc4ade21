"""``chatcli config init``: a few questions, then a commented config.

Each answer is checked when it is typed and, when it cannot be used, asked for again with the
reason, so nothing typed before is lost (the whole file is still validated before it is
written); only a URL typed as the profile name ends it at once (exit 2), as the answers that
follow are then one question ahead. The key is read without echo, as it may be pasted; an
answer naming its source (``env VAR``, ``$VAR``, ``cmd COMMAND``) is said back, one naming
nothing (``env`` alone) is asked again. An Azure endpoint may be the portal's target URI: it
is reduced to the resource, and the deployment and api-version it names become the defaults
of their questions; Azure profiles are asked for the deployment, which every request names.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path

from chatcli.environment import Environment
from chatcli.errors import ConfigError, UsageError
from chatcli.output import ask, err
from chatcli.settings import keys, paths
from chatcli.settings import loading as cfgmod
from chatcli.settings.endpoint_types import ENDPOINT_TYPES, EndpointType, api_version_problem

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

Check = Callable[[str], "tuple[str, str] | None"]
"""An answer -> (why it cannot be used, what to type instead), or None."""


def _toml_string(text: str) -> str:
    """``text`` as a TOML basic string, its characters written as themselves (``"中转"``, not
    ``"\\u4e2d\\u8f6c"``); only what TOML requires is escaped (quotes, backslashes, control
    characters: JSON escapes them alike, except DEL)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _ask(
    environment: Environment, prompt: str, default: str | None = None, *, hidden: bool = False
) -> str:
    """One answer from the terminal on stdin; ``hidden``: not echoed (``output.ask``)."""
    shown = f"{prompt}" + (f" [{default}]" if default else "") + ": "
    line = ask(environment, shown, hidden=hidden)
    if not line:
        if not hidden:  # the error goes below the question, not after it (hidden ends it)
            err(environment, "")
        raise UsageError("config init was given no answer (end of input)")
    return line.strip() or (default or "")


def _checked(
    environment: Environment,
    prompt: str,
    default: str | None,
    check: Check,
    *,
    hidden: bool = False,
) -> str:
    """``_ask`` until ``check`` takes the answer; each refusal says why, and what to type."""
    while True:
        answer = _ask(environment, prompt, default, hidden=hidden)
        problem = check(answer)
        if problem is None:
            return answer
        err(environment, f"chatcli: {problem[0]} ({problem[1]}); answer again")


def _name(name: str) -> tuple[str, str] | None:
    """Why ``name`` cannot be a profile's name (asked again); a URL typed here is refused at
    once (exit 2): it answered the next question, and so would every line typed after it."""
    if re.fullmatch(r"[\w-]+", name):
        return None
    problem = f"profile name {name!r} is not a plain name"
    hint = "use letters, digits, - and _ (e.g. relay, work-azure, 中转): it is what -p takes"
    if "://" in name:
        raise UsageError(problem, hint=hint)
    return problem, hint


def _url(url: str) -> tuple[str, str] | None:
    problem = cfgmod.url_problem(url)
    if problem is None:
        return None
    if "query" in problem:
        return f"{url!r} {problem}", "drop the ?... part"
    return f"{url!r} {problem}", "write it with its scheme, e.g. https://..."


def _resource(url: str) -> tuple[str, str] | None:
    """An Azure endpoint: the resource URL, or the portal's target URI (query and all)."""
    from chatcli.providers.azure import portal_url

    if not url:
        return "the endpoint is empty", "e.g. https://<resource>.openai.azure.com"
    return _url(portal_url(url)[0])


def _version(value: str) -> tuple[str, str] | None:
    from chatcli.settings.endpoint_types import API_VERSION_HINT

    problem = api_version_problem(value)
    return None if problem is None else (f"api_version {problem}", API_VERSION_HINT)


def _deployment(name: str) -> tuple[str, str] | None:
    if name and name.isprintable():
        return None
    return "a deployment name is needed", "the name the Azure portal shows under Deployments"


def _proxy(url: str) -> tuple[str, str] | None:
    problem = cfgmod.proxy_problem(url) if url else None
    if problem is None:
        return None
    return f"proxy {url!r} {problem}", "e.g. http://127.0.0.1:7890 or socks5://host:1080"


_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
_SOURCES = "env VAR, cmd COMMAND, or paste the key"


def _source(answer: str) -> str:
    """The key question's answer as a source: ``$VAR`` / ``${VAR}`` (a shell's way of naming
    a variable) is ``env VAR``; anything else as typed."""
    found = _VARIABLE.fullmatch(answer)
    if found:
        return f"env {found.group(1)}"
    word, _, rest = answer.partition(" ")
    return f"{word.lower()} {rest.strip()}" if word.lower() in ("env", "cmd") else answer


def _key_source(answer: str) -> tuple[str, str] | None:
    """Why ``answer`` cannot be the key's source: ``env`` or ``cmd`` without what follows
    (Enter pressed early), ``env:VAR``, a variable name that is none; a pasted key with
    spaces or characters no key has."""
    source = _source(answer)
    word, _, rest = source.partition(" ")
    if word in ("env", "cmd") and rest.strip():
        if word == "env" and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rest.strip()):
            return f"{rest.strip()!r} is not an environment variable name", "e.g. env MY_KEY"
        return None
    # the answer is not quoted back below: it was typed unseen, and may hold a key
    if re.fullmatch(r"(?i)(env|cmd)\b.*", source):
        return "env and cmd need what follows them", f"answer {_SOURCES}"
    if source.startswith("$"):
        return "after $ comes a variable's name", "e.g. $MY_KEY, env MY_KEY or cmd pass show relay"
    try:
        keys.check_key(source, "the pasted text")
    except ConfigError as exc:
        return exc.message, exc.hint or "paste the key again"
    return None


def run(environment: Environment, path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise UsageError(f"{path} already exists", hint="edit it, use `config set`, or --force")
    if not environment.stdin_isatty:
        raise UsageError(
            "config init asks questions and needs a terminal",
            hint="run it in a terminal, or write the file with `chatcli config set KEY VALUE`",
        )
    first = next(iter(ENDPOINT_TYPES))
    kind_name = _checked(
        environment,
        f"Endpoint type ({', '.join(ENDPOINT_TYPES)})",
        first,
        lambda k: None if k in ENDPOINT_TYPES else (f"unknown endpoint type {k!r}", "one of "
                                                     + ", ".join(ENDPOINT_TYPES)),
    )  # fmt: skip
    kind = ENDPOINT_TYPES[kind_name]
    name = _checked(environment, "Profile name", kind_name, _name)
    lines = [f"type = {_toml_string(kind_name)}"]
    deployment = _needs(environment, kind, lines)
    conventional = kind.key_env
    source = _source(_checked(
        environment,
        f"Where is the key? {_SOURCES} (nothing typed is shown)",
        f"env {conventional}",
        _key_source,
        hidden=True,
    ))  # fmt: skip
    if source.startswith("env "):
        lines.append(f"api_key_env = {_toml_string(source[4:].strip())}")
        err(environment, f"key: from {source}")
    elif source.startswith("cmd "):
        lines.append(f"api_key_cmd = {_toml_string(source[4:].strip())}   # run; stdout is the key")
        err(environment, f"key: from the command {keys.redact_cmd(source[4:].strip())}")
    else:
        lines.append(f"api_key = {_toml_string(source)}   # this file is 0600; prefer api_key_cmd")
        err(environment, f"key: {keys.redact_key(source)} (pasted)")
    proxy = _checked(environment, "Proxy for this profile (empty for none)", "", _proxy)
    if proxy:
        lines.append(f"proxy = {_toml_string(proxy)}")
    model = _model(environment, deployment)
    name_key = name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _toml_string(name)
    if deployment is not None:  # every request names it: the model's, by this map
        lines.append(
            f"\n[profiles.{name_key}.deployments]   # model -> the deployment serving it\n"
            f"{_toml_string(model)} = {_toml_string(deployment)}"
        )
    text = _TEMPLATE.format(
        name=_toml_string(name),
        name_key=name_key,
        model=_toml_string(model),
        profile_lines="\n".join(lines),
    )
    cfgmod.validate_data(path, tomllib.loads(text))
    paths.write_private(path, text)
    err(environment, f"wrote {path}")


def _needs(environment: Environment, kind: EndpointType, lines: list[str]) -> str | None:
    """Ask for the keys a profile of ``kind`` must set (into ``lines``); for a type that
    routes by deployment, the deployment too (returned; None for the other types)."""
    found: tuple[str, str | None, str | None] = ("", None, None)
    for need in kind.needs:  # what a profile of this type must set
        question = need.question if need.default else f"{need.question} (e.g. {need.example})"
        default = need.default
        check: Check = _url
        if need.key == "endpoint" and kind.deployments:
            check = _resource
        elif need.key == "api_version":
            check, default = _version, found[2] or default
        answer = _checked(environment, question, default, check)
        if check is _resource:
            from chatcli.providers.azure import portal_url

            found = portal_url(answer)
            if found[0] != answer:
                err(environment, f"endpoint: {found[0]} (the resource the URL names)")
            answer = found[0]
        lines.append(f"{need.key} = {_toml_string(answer)}")
    if not kind.deployments:
        return None
    return _checked(
        environment, "Deployment name (as the Azure portal shows it)", found[1], _deployment
    )


def _model(environment: Environment, deployment: str | None) -> str:
    """The default model; on Azure, what the deployment runs (it prices and counts tokens),
    offered as the deployment's own name when that is a model chatcli knows."""
    if deployment is None:
        return _ask(environment, "Default model", cfgmod.DEFAULT_MODEL)
    from chatcli.pricing import lookup

    default = deployment if lookup(deployment).known else cfgmod.DEFAULT_MODEL
    question = f"Model that deployment {deployment!r} runs (for prices and token counts)"
    return _ask(environment, question, default)
