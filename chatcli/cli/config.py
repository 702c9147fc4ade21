"""``chatcli config init | show | path | validate | set``: look at and edit the config."""

from typing import Annotated

import typer

from chatcli.cli.common import global_options, group
from chatcli.environment import Environment
from chatcli.settings.options import Globals

app = group("Create, inspect, validate and edit the config file.")


@app.command("path")
@global_options
def path(
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Print the config file path (and whether it exists, on stderr)."""
    from chatcli.features.configure.run import show_path
    from chatcli.settings.resolve import config_file

    show_path(environment, config_file(g))


@app.command("show")
@global_options
def show(
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Print the effective settings, where each came from, keys redacted."""
    from chatcli.features.configure.run import show as run
    from chatcli.settings.resolve import resolve

    run(environment, resolve(g), json_out)


@app.command("validate")
@global_options
def validate(
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Check the config file (and the profile -p or CHATCLI_PROFILE chooses); exit 3 with the
    file, line and problem if it is wrong."""
    from chatcli.features.configure.run import validate as run
    from chatcli.settings.resolve import config_file

    run(environment, config_file(g), g.profile)


@app.command("set")
@global_options
def set_(
    key: Annotated[str, typer.Argument(help="Dotted key, e.g. profiles.relay.model.")],
    value: Annotated[
        str,
        typer.Argument(
            help="TOML value (number, true/false) or a string; one that starts with - goes "
            "after --: config set KEY -- -VALUE."
        ),
    ],
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Set one value, validate the result, and write the file (0600)."""
    from chatcli.features.configure.run import set_value
    from chatcli.settings.resolve import config_file

    set_value(environment, config_file(g), key, value)


@app.command("init")
@global_options
def init(
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config.")] = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Ask a few questions and write a commented config."""
    from chatcli.features.configure.run import init as run
    from chatcli.settings.resolve import config_file

    run(environment, config_file(g), force)
