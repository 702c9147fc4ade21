"""``chatcli shell-integration bash|zsh|fish``: a key that turns the command line into a command.

Only typer and the stdlib are imported at module level: ``chatcli --help`` loads this module.
"""

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from chatcli.cli import completers
from chatcli.cli.common import global_options
from chatcli.environment import Environment
from chatcli.features.shell.names import IntegratedShell
from chatcli.settings.options import Globals


@global_options
def shell_integration(
    shell: Annotated[IntegratedShell, typer.Argument(help="Your shell.")],
    key: Annotated[
        str,
        typer.Option(
            "--key",
            help="The key to bind: alt-LETTER or ctrl-LETTER.",
            autocompletion=completers.shell_keys,
        ),
    ] = "alt-e",
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Print a snippet binding a key (default Alt+E) that turns the command line's text into a
    command in place (eval it from your shell's rc file)."""
    from chatcli.features.shell.integration import snippet
    from chatcli.output import out

    program = [_program()]
    # the snippet runs from any directory: a relative --config is made absolute now
    config = str(Path(g.config).expanduser().absolute()) if g.config else None
    for flag, value in (("-p", g.profile), ("-m", g.model), ("--config", config)):
        if value:
            program += [flag, value]
    out(environment, snippet(str(shell), key, program))


def _program() -> str:
    """The chatcli to call: this very one when it runs as an installed ``chatcli`` script,
    else whatever ``chatcli`` is on PATH."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "chatcli" and os.access(argv0, os.X_OK):
        return str(argv0.resolve() if not argv0.is_absolute() else argv0)
    return "chatcli"
