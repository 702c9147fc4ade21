"""``chatcli config init | show | path | validate | set`` (SPEC §3): look at and edit the config."""

from typing import Annotated

import typer

from chatcli.cli.common import ConfigOpt, DebugOpt, ModelOpt, ProfileOpt
from chatcli.context import Globals

app = typer.Typer(help="Create, inspect, validate and edit the config file.", no_args_is_help=True)


@app.command("path")
def path(
    profile: ProfileOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Print the config file path (and whether it exists, on stderr)."""
    from chatcli.cli.config_run import show_path

    show_path(Globals(profile, model, config, debug))


@app.command("show")
def show(
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    profile: ProfileOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Print the effective settings, where each came from, keys redacted."""
    from chatcli.cli.config_run import show as run

    run(Globals(profile, model, config, debug), json_out)


@app.command("validate")
def validate(
    profile: ProfileOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Check the config file; exit 3 with the file, line and problem if it is wrong."""
    from chatcli.cli.config_run import validate as run

    run(Globals(profile, model, config, debug))


@app.command("set")
def set_(
    key: Annotated[str, typer.Argument(help="Dotted key, e.g. profiles.relay.model.")],
    value: Annotated[str, typer.Argument(help="TOML value (number, true/false) or a string.")],
    profile: ProfileOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Set one value, validate the result, and write the file (0600)."""
    from chatcli.cli.config_run import set_value

    set_value(Globals(profile, model, config, debug), key, value)


@app.command("init")
def init(
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config.")] = False,
    profile: ProfileOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Ask a few questions and write a commented config."""
    from chatcli.cli.config_run import init as run

    run(Globals(profile, model, config, debug), force)
