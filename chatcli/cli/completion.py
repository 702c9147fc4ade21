"""``chatcli completion bash|zsh|fish``: print the shell completion script."""

from typing import Annotated

import typer

from chatcli.cli.common import environment_of


def completion(
    ctx: typer.Context,
    shell: Annotated[str, typer.Argument(help="bash, zsh or fish.", show_default=False)],
) -> None:
    """Print the completion script for your shell (see the README for where it goes)."""
    from chatcli.features.completion.scripts import SCRIPTS, script
    from chatcli.output import out

    if shell not in SCRIPTS:
        raise typer.BadParameter(f"{shell!r} is not one of bash, zsh, fish", param_hint="SHELL")
    out(environment_of(ctx), script(shell))
