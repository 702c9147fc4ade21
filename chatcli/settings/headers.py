"""Extra HTTP headers of a profile: ``headers`` (checked by ``loading.header_problem``,
resolved here; ``organization`` and ``project`` become OpenAI's headers in
``providers/openai_compat.py``, the type that has them).

Company gateways want their own headers. They go on every request of the profile: chat, model
lists, batches, and the SDK's uploads (audio, speech, images).
A header value is a string, or ``{ env = "VAR" }`` / ``{ cmd = "pass show x" }`` like keys
(read when a request is made, never at start-up); values are treated as secrets: ``--debug``
shows only their last four characters.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

from chatcli.errors import ConfigError

if TYPE_CHECKING:
    from chatcli.settings.loading import Profile


def extra_headers(profile: Profile) -> dict[str, str]:
    """The extra headers of ``profile``, values read from the environment and commands (each
    command run once per process, however many clients are made)."""
    out: dict[str, str] = {}
    profile_name = profile.name
    for name, value in profile.headers.items():
        out[name] = _value(profile_name, name, value)
    return out


def _value(profile: str, name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    kind, arg = next(iter(value.items()))
    if kind == "env":
        found = os.environ.get(arg)
        if not found:
            raise ConfigError(
                f"header {name} of profile {profile!r} reads ${arg}, which is not set",
                hint=f"export {arg}=..., or change headers in [profiles.{profile}]",
            )
        read = found.strip()
    else:
        read = _run(profile, name, arg)
    from chatcli import safetext

    safetext.add_secret(read)  # kept out of every output, log and error, like keys
    return read


@cache
def _run(profile: str, name: str, cmd: str) -> str:
    from chatcli.settings import commands
    from chatcli.settings.keys import redact_cmd

    proc = commands.run(
        cmd, f"the command for header {name} of profile {profile!r} ({redact_cmd(cmd)})"
    )
    lines = proc.stdout.decode("utf-8", "replace").strip().splitlines()
    if proc.returncode != 0 or not lines or not lines[0].strip():
        named = f"the command for header {name} of profile {profile!r}"
        raise commands.failed(proc, named, redact_cmd(cmd),
                              needed_by=f"header {name} of profile {profile!r}",
                              change=f"headers in [profiles.{profile}]")  # fmt: skip
    return lines[0].strip()
