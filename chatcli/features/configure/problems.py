"""What reading a config lets through but using it refuses, checked alike by ``config
validate`` (reports it) and ``config set`` (refuses to write it): one module both import, so
neither imports the other."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatcli.errors import ConfigError
from chatcli.settings import loading as cfgmod

if TYPE_CHECKING:
    from pathlib import Path


def use_problems(cfg: cfgmod.Config, path: Path, text: str) -> list[ConfigError]:
    """What reading the file lets through but using it refuses: an Azure ``api_version``,
    a ``[schemas.NAME]`` (checked as ``--schema @NAME`` would), a template (as ``--template
    NAME`` would). ``validate`` reports them, and ``config set`` refuses to write them."""
    from chatcli.features.configure.templates_check import template_problems
    from chatcli.features.schema.spec import config_problems

    return [
        *_api_version_problems(cfg, path, text),
        *config_problems(cfg),
        *template_problems(cfg),
    ]


def _api_version_problems(cfg: cfgmod.Config, path: Path, text: str) -> list[ConfigError]:
    """Azure profiles whose ``api_version`` Azure cannot take (``2024-10-21&foo=1``, ``1``):
    every command using one refuses it (exit 3, ``providers.azure``), and so does this."""
    from chatcli.settings.endpoint_types import API_VERSION_HINT, api_version_problem

    found = []
    for profile in cfg.profiles.values():  # only Azure's may set one
        problem = api_version_problem(profile.api_version or "")
        if profile.api_version is None or problem is None:
            continue
        source = profile.sources.get("api_version", "")
        where = source if profile.implicit else cfgmod.place(
            path, text, f"profiles.{profile.name}", "api_version"
        )  # fmt: skip
        found.append(ConfigError(f"{where}: api_version {problem}", hint=API_VERSION_HINT))
    return found
