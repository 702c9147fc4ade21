"""Where a profile's API key comes from, and the one rule for showing a key: its last 4 characters.

Key sources, first that is set wins: ``api_key`` in the profile, ``api_key_cmd`` (run, stdout
stripped), ``api_key_env``, then the conventional variable of the type.
"""

from __future__ import annotations

import os

from chatcli.errors import ConfigError
from chatcli.settings.loading import Profile


def resolve_key(profile: Profile) -> str:
    """The API key of ``profile``: api_key > api_key_cmd > api_key_env > the type's variable."""
    return key_with_source(profile)[0]


def key_with_source(profile: Profile) -> tuple[str, str]:
    """The key and where it came from (for ``config show`` and ``doctor``)."""
    if profile.api_key:
        return profile.api_key, f"api_key in [profiles.{profile.name}]"
    if profile.api_key_cmd:
        return _run_key_cmd(profile), f"api_key_cmd ({profile.api_key_cmd})"
    conventional = "AZURE_OPENAI_API_KEY" if profile.type == "azure" else "OPENAI_API_KEY"
    for var in (profile.api_key_env, conventional):
        if var and os.environ.get(var):
            return os.environ[var].strip(), f"env {var}"
    var = profile.api_key_env or conventional
    raise ConfigError(
        f"no API key found for profile {profile.name!r}",
        hint=f"export {var}=..., or set api_key_cmd / api_key_env in [profiles.{profile.name}]",
    )


def redact_key(key: str) -> str:
    """The one way a key is shown: ``****`` and its last 4 characters, or ``****`` alone for a
    key shorter than 12 characters (whose last 4 would be a third of it)."""
    return "****" + key[-4:] if len(key) >= 12 else "****"


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret in it shown as ``redact_key`` shows it (longest first, so a
    key that contains another is replaced whole)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, redact_key(secret))
    return text


def _run_key_cmd(profile: Profile) -> str:
    import subprocess

    cmd = profile.api_key_cmd or ""
    try:
        proc = subprocess.run(
            cmd, shell=True, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise ConfigError(
            f"api_key_cmd of profile {profile.name!r} took longer than 30 s"
        ) from None
    key = proc.stdout.strip()
    if proc.returncode != 0 or not key:
        why = f"exited with {proc.returncode}" if proc.returncode else "printed nothing"
        raise ConfigError(
            f"api_key_cmd of profile {profile.name!r} {why}",
            hint=f"run it yourself to check: {cmd}",
        )
    return key
