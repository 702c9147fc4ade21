"""``chatcli templates list | show | edit``: prompt templates with ``{{variables}}``."""

from typing import Annotated

import typer

from chatcli.cli import completers
from chatcli.cli.common import global_options, group
from chatcli.environment import Environment
from chatcli.settings.options import Globals

app = group("List, show and edit prompt templates (used with --template NAME -V KEY=VALUE).")


@app.command("list")
@global_options
def list_(*, g: Globals, environment: Environment) -> None:
    """Every template: name, where it is kept, its variables."""
    from chatcli.features.templates.views import list_templates
    from chatcli.settings.resolve import load_config

    list_templates(environment, load_config(g))


@app.command("show")
@global_options
def show(
    name: Annotated[
        str, typer.Argument(help="Template name.", autocompletion=completers.templates)
    ],
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Print a template: its settings, variables and text."""
    from chatcli.features.templates.views import show as run
    from chatcli.settings.resolve import load_config

    run(environment, load_config(g), name)


@app.command("edit")
@global_options
def edit(
    name: Annotated[
        str, typer.Argument(help="Template name.", autocompletion=completers.templates)
    ],
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Open a template file in $EDITOR (a new one starts from a skeleton)."""
    from chatcli.features.templates.views import edit as run
    from chatcli.settings.resolve import load_config

    run(environment, load_config(g), name)
