"""``chatcli completion bash|zsh|fish``: print the shell completion script."""

from typing import Annotated

import typer

from chatcli.cli.common import global_options
from chatcli.environment import Environment
from chatcli.features.completion.scripts import CompletionShell, script
from chatcli.settings.options import Globals


@global_options
def completion(
    shell: Annotated[
        CompletionShell,
        typer.Argument(help="Your shell.", show_default=False),
    ],
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Print the completion script for your shell (see the README for where it goes)."""
    # the global options are taken like everywhere (--config naming no file is exit 3), but
    # the script is the same whatever they say: completing reads the config when Tab is hit
    from chatcli.output import out

    out(environment, script(str(shell)))
