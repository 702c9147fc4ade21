"""The registry of endpoint types: the one place a profile's ``type`` is declared.

Each entry names the module under ``providers/`` that owns the type (its URLs, headers, auth
and quirks for every route) and what the settings need to know of it without importing that
code: the conventional variable of its key, the keys a profile of the type must set (with the
example ``config init`` asks for and the hint of a config that lacks it), and, for the types
that have one, the zero-config profile the environment alone makes (named after the type). A
new endpoint type is its module in ``providers/`` plus one line here (docs/architecture.md
shows the steps).
Only the stdlib is imported: ``chatcli --help`` and every config read load this module.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chatcli.settings.loading import Profile


@dataclass(frozen=True)
class Needed:
    """A key a profile of one type must set: what it is (asked by ``config init``), an
    example value (in the hint of a config that lacks it), and ``config init``'s default."""

    key: str
    question: str
    example: str
    default: str | None = None

    @property
    def hint(self) -> str:
        return f'add {self.key} = "{self.example}"'


@dataclass(frozen=True)
class EndpointType:
    """One endpoint type: ``providers/<module>.py`` owns it."""

    module: str
    key_env: str = "OPENAI_API_KEY"  # where its key is conventionally found
    needs: tuple[Needed, ...] = ()
    implicit: bool = False  # the environment alone makes a profile of this type
    from_env: dict[str, str] = field(default_factory=dict)  # its keys' variables, for that
    own_retirements: bool = False  # retires models on its own dates, not OpenAI's (Azure)
    keys: tuple[str, ...] = ()  # profile keys of its own besides ``needs`` (others' refused)
    deployments: bool = False  # routes by deployment name: ``config init`` asks for one

    def from_environment(self, environ: Mapping[str, str]) -> dict[str, str] | None:
        """The settings of the zero-config profile ``environ`` makes (key -> value), or None
        when it makes none: the key variable and every needed key's variable must be set."""
        if not self.implicit or not environ.get(self.key_env):
            return None
        found = {key: environ.get(var, "") for key, var in self.from_env.items()}
        if any(not found.get(need.key) for need in self.needs):
            return None
        return {key: value for key, value in found.items() if value}

    @property
    def own_keys(self) -> tuple[str, ...]:
        """The profile keys only some types read that this one does: ``keys`` and ``needs``."""
        return tuple(dict.fromkeys((*(n.key for n in self.needs), *self.keys)))

    def variables(self) -> tuple[str, ...]:
        """The variables its zero-config profile needs: the key's and every needed key's."""
        if not self.implicit:
            return ()
        needed = (self.from_env[n.key] for n in self.needs if n.key in self.from_env)
        return (self.key_env, *needed)

    def missing_from_environment(self, environ: Mapping[str, str]) -> tuple[str, ...]:
        """The variables its zero-config profile still needs when ``environ`` sets some of
        them but not all (Azure's key and endpoint without ``OPENAI_API_VERSION``); empty when
        it sets all or none."""
        needed = self.variables()
        missing = tuple(var for var in needed if not environ.get(var))
        return missing if len(missing) < len(needed) else ()


ENDPOINT_TYPES: dict[str, EndpointType] = {
    "openai": EndpointType("openai_compat", implicit=True,
                           from_env={"base_url": "OPENAI_BASE_URL"},
                           keys=("base_url", "organization", "project")),
    "azure": EndpointType("azure", "AZURE_OPENAI_API_KEY", (
        Needed("endpoint", "Azure endpoint (or the portal's target URI)",
               "https://<resource>.openai.azure.com"),
        Needed("api_version", "API version", "2024-10-21", default="2024-10-21"),
    ), implicit=True, from_env={"endpoint": "AZURE_OPENAI_ENDPOINT",
                                "api_version": "OPENAI_API_VERSION"}, own_retirements=True,
        keys=("deployments", "batch_deployments", "auth"),
        deployments=True),
    "relay": EndpointType("openai_compat", needs=(
        Needed("base_url", "Base URL", "https://relay.example.com/v1"),
    )),
}  # fmt: skip
"""Profile type -> its endpoint type. The first is the default of ``config init``, and the
first implicit one present is the default profile of a config that defines no profile."""


def foreign_key(ptype: str, key: str) -> tuple[str, str] | None:
    """(problem, hint) when ``key`` belongs to other endpoint types than ``ptype`` (an
    ``azure`` profile's ``base_url``: nothing would read it), else None."""
    kind = ENDPOINT_TYPES.get(ptype)
    owners = [name for name, k in ENDPOINT_TYPES.items() if key in k.own_keys]
    if kind is None or not owners or key in kind.own_keys:
        return None
    own = ", ".join(kind.own_keys) or "none"
    return (
        f"does not apply to type {ptype} (it is a setting of {_and(owners)} profiles)",
        f"remove it: type {ptype} takes {own} instead",
    )


AZURE_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(?:-preview)?|v1|latest|preview")
"""What Azure takes as ``api-version``: a date (``2024-10-21``, ``2025-04-01-preview``), or
the v1 API's ``v1``, ``latest``, ``preview``."""


def api_version_problem(value: str) -> str | None:
    """Why ``value`` cannot be an Azure ``api_version`` (``2024-10-21&foo=1``, ``1``), or None."""
    if AZURE_VERSION.fullmatch(value):
        return None
    return f"{value!r} is not an Azure API version"


API_VERSION_HINT = (
    "write a date such as 2024-10-21 or 2025-04-01-preview: the portal's target URI shows "
    "one after api-version="
)


def implicit_profiles(environ: Mapping[str, str] | None = None) -> dict[str, dict[str, str]]:
    """The zero-config profiles the environment makes: type name -> its settings."""
    env = os.environ if environ is None else environ
    found = {name: kind.from_environment(env) for name, kind in ENDPOINT_TYPES.items()}
    return {name: settings for name, settings in found.items() if settings is not None}


def unfinished_profiles(environ: Mapping[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """The zero-config profiles the environment starts but does not finish: type name ->
    (the problem, naming the variables missing, and the hint)."""
    env = os.environ if environ is None else environ
    found: dict[str, tuple[str, str]] = {}
    for name, kind in ENDPOINT_TYPES.items():
        missing = kind.missing_from_environment(env)
        if not missing:
            continue
        present = [var for var in kind.variables() if var not in missing]
        examples = {kind.from_env[n.key]: n.example for n in kind.needs if n.key in kind.from_env}
        problem = (
            f"the zero-config {name} profile needs {_and(missing)} too "
            f"({_and(present)} {'is' if len(present) == 1 else 'are'} set)"
        )
        hint = "export " + " ".join(f"{var}={examples.get(var, '...')}" for var in missing)
        found[name] = (problem, f"{hint}, or run `chatcli config init` to write a config")
    return found


def _and(names: list[str] | tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def endpoint_type(profile: Profile) -> EndpointType:
    """The registered endpoint type of ``profile`` (validated when the config was read)."""
    return ENDPOINT_TYPES[profile.type]


def listed(last: str = "or", *, quoted: bool = False) -> str:
    """The type names for messages: ``openai, azure or relay`` (``"openai", ...`` quoted)."""
    names = [f'"{n}"' if quoted else n for n in ENDPOINT_TYPES]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {last} {names[-1]}"
