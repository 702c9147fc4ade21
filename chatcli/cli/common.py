"""Options every command takes (SPEC §3: -p, -m, --config, --debug) and what they resolve to.

Kept free of heavy imports: this module is loaded for ``chatcli --help``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from chatcli.config import Config, Profile

ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "-p",
        "--profile",
        help="Profile from the config (default: default_profile).",
        show_default=False,
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option("-m", "--model", help="Model name or alias.", show_default=False),
]
ConfigOpt = Annotated[
    str | None,
    typer.Option("--config", help="Config file to use (must exist).", show_default=False),
]
DebugOpt = Annotated[
    bool,
    typer.Option("--debug", help="Tracebacks and HTTP details on stderr (keys redacted)."),
]


@dataclass(frozen=True)
class Globals:
    """The global options as given on the command line."""

    profile: str | None = None
    model: str | None = None
    config: str | None = None
    debug: bool = False


@dataclass(frozen=True)
class Env:
    """The resolved configuration a command runs with."""

    config: Config
    profile: Profile
    model: str
    debug: bool


def load_config(g: Globals) -> Config:
    """Read the config named by --config, CHATCLI_CONFIG or the platform default."""
    from chatcli import config, paths

    path, must_exist = paths.config_path(g.config)
    return config.load(path, must_exist=must_exist)


def resolve(g: Globals) -> Env:
    """Config, profile and model (flag > profile > [defaults] > built-in) for a command."""
    cfg = load_config(g)
    profile = cfg.profile(g.profile)
    model = cfg.resolve_model(g.model or profile.model)
    return Env(cfg, profile, model, g.debug)
