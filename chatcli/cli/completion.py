"""``chatcli completion bash|zsh|fish``: print the shell completion script."""

from typing import Annotated

import typer

from chatcli.cli.common import environment_of
from chatcli.features.completion.scripts import CompletionShell, script


def completion(
    ctx: typer.Context,
    shell: Annotated[
        CompletionShell,
        typer.Argument(help="Your shell.", show_default=False),
    ],
) -> None:
    """Print the completion script for your shell (see the README for where it goes)."""
    from chatcli.output import out

    out(environment_of(ctx), script(str(shell)))
