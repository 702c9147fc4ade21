"""Where a profile's API key comes from, and the one rule for showing a key: its last 4 characters.

Key sources, first that is set wins: ``api_key`` in the profile, ``api_key_cmd`` (run; the
first line of its output, stripped, as ``pass show`` prints more), ``api_key_env``, then the
conventional variable of the type (an Azure profile with ``auth = "entra"``: the SDK's
``AZURE_OPENAI_AD_TOKEN``, as its "key" is an Entra ID token). A key that still holds
whitespace, control or non-ASCII characters is refused here: sent on, it would end up whole in
an HTTP library's error message.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from chatcli import safetext
from chatcli.errors import ConfigError
from chatcli.settings.endpoint_types import endpoint_type

if TYPE_CHECKING:
    from chatcli.settings.loading import Profile


def resolve_key(profile: Profile) -> str:
    """The API key of ``profile``: api_key > api_key_cmd > api_key_env > the type's variable."""
    return key_with_source(profile)[0]


def check_found(profile: Profile) -> None:
    """Refuse ``profile`` now when it has no key (exit 3), before a command creates anything:
    a first run without a key leaves no data dir behind. A key ``api_key_cmd`` prints is not
    fetched here (the command runs once, when connecting)."""
    if profile.api_key or not profile.api_key_cmd:
        _find_key(profile)


def key_with_source(profile: Profile) -> tuple[str, str]:
    """The key and where it came from (for ``config show`` and ``doctor``); from here on the
    key (and any password in the profile's URLs) is masked in every text chatcli shows."""
    proxies = [os.environ.get(v) for v in _PROXY_VARS]
    for url in (profile.base_url, profile.endpoint, profile.proxy, *proxies):
        safetext.add_url_secrets(url)
    key, where = _find_key(profile)
    safetext.add_secret(key)
    return key, where


_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def _find_key(profile: Profile) -> tuple[str, str]:
    if profile.api_key:
        where = f"api_key in [profiles.{profile.name}]"
        return check_key(profile.api_key.strip(), where), where
    if profile.api_key_cmd:
        where = f"api_key_cmd ({redact_cmd(profile.api_key_cmd)})"
        return check_key(_run_key_cmd(profile), where), where
    entra = profile.auth == "entra"
    conventional = ENTRA_ENV if entra else endpoint_type(profile).key_env
    for var in (profile.api_key_env, conventional):
        if var and os.environ.get(var):
            return check_key(os.environ[var].strip(), f"env {var}"), f"env {var}"
    var = profile.api_key_env or conventional
    if entra:
        raise ConfigError(
            f"no Entra ID token found for profile {profile.name!r}",
            hint=f"set api_key_cmd = {ENTRA_CMD!r} in [profiles.{profile.name}] "
            f"(fetched again when refused), or export {var}=...",
        )
    raise ConfigError(
        f"no API key found for profile {profile.name!r}",
        hint=f"export {var}=..., or set api_key_cmd / api_key_env in [profiles.{profile.name}]",
    )


ENTRA_ENV = "AZURE_OPENAI_AD_TOKEN"
ENTRA_CMD = (
    "az account get-access-token --resource https://cognitiveservices.azure.com "
    "--query accessToken -o tsv"
)
"""Where an Azure profile with ``auth = "entra"`` gets its token: the Azure CLI prints one."""


def fetch_again(profile: Profile) -> str | None:
    """The key of ``profile`` got anew, when it comes from ``api_key_cmd`` (an Entra token,
    which expires within the hour: the command gives a fresh one); None for any other
    source, which would give the same again."""
    if profile.api_key or not profile.api_key_cmd:
        return None
    key, _ = _find_key(profile)
    safetext.add_secret(key)
    return key


def check_key(key: str, where: str) -> str:
    """``key`` if it can go in an HTTP header; else a ConfigError showing its last 4 characters."""
    if key.isascii() and key.isprintable() and not any(c.isspace() for c in key):
        return key
    tail = "".join(c if c.isascii() and c.isprintable() and not c.isspace() else "?" for c in key)
    raise ConfigError(
        f"the API key from {where} contains spaces, line breaks, control or non-ASCII "
        f"characters (it ends in {redact_key(tail)})",
        hint="keys are one line of ASCII letters, digits and punctuation; check what was pasted",
    )


_SECRETISH = re.compile(r"[A-Za-z0-9_\-.+=]{16,}")


def redact_cmd(cmd: str) -> str:
    """A shell command with anything that looks like a key in it (a long run of letters and
    digits, such as ``echo sk-...``) redacted; paths and short words stay readable. Each
    character a terminal would not show is written ``⟨U+XXXX⟩`` (``safetext.visible``): this
    is how a command is shown, and an escape sequence must not hide part of what runs."""

    def hide(match: re.Match[str]) -> str:
        word = match.group(0)
        has_digit = any(c.isdigit() for c in word)
        has_alpha = any(c.isalpha() for c in word)
        return redact_key(word) if has_digit and has_alpha else word

    return safetext.visible(_SECRETISH.sub(hide, cmd), keep="")


def redact_url(url: str) -> str:
    """A URL with its password and anything in its path or query that looks like a key
    (``redact_cmd``) redacted; the scheme and host stay readable."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_cmd(safetext.redact(url))
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":****@", 1)
    path, query = redact_cmd(parts.path), redact_cmd(parts.query)
    return urlunsplit((parts.scheme, netloc, path, query, redact_cmd(parts.fragment)))


def redact_key(key: str) -> str:
    """The one way a key is shown (``safetext.mask``): ``****`` and its last 4 characters."""
    return safetext.mask(key)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with ``secrets`` and every key resolved so far masked (``safetext.redact``)."""
    return safetext.redact(text, secrets)


def _run_key_cmd(profile: Profile) -> str:
    from chatcli.settings import commands

    cmd = profile.api_key_cmd or ""
    proc = commands.run(cmd, f"api_key_cmd of profile {profile.name!r} ({redact_cmd(cmd)})")
    try:
        out = proc.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            f"api_key_cmd of profile {profile.name!r} printed bytes that are not UTF-8 text",
            hint="the command must print the key as text on its first line",
        ) from None
    lines = out.strip().splitlines()
    key = lines[0].strip() if lines else ""
    if proc.returncode != 0 or not key:
        named = f"api_key_cmd of profile {profile.name!r}"
        raise commands.failed(proc, named, redact_cmd(cmd), needed_by=named,
                              change=f"api_key_cmd in [profiles.{profile.name}]")  # fmt: skip
    return key
