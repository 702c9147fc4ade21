"""``chatcli completion bash|zsh|fish``: print the shell completion script."""

from typing import Annotated

import typer

from chatcli.features.completion.scripts import CompletionShell, script


def completion(
    shell: Annotated[
        CompletionShell,
        typer.Argument(help="bash, zsh or fish.", show_default=False),
    ],
) -> None:
    """Print the completion script for your shell (see the README for where it goes)."""
    typer.echo(script(str(shell)), nl=False)
