"""``chatcli cmd``: one shell command from a description, and a menu to run, revise or edit it.

Only typer and the stdlib are imported at module level: ``chatcli --help`` loads this module.
"""

from typing import Annotated

import typer

from chatcli.cli.common import NoLogOpt, OverBudgetOpt, RoleOpt, SystemOpt, global_options
from chatcli.environment import Environment
from chatcli.features.shell.names import ShellName
from chatcli.settings.options import Globals


@global_options
def cmd(
    description: Annotated[
        list[str] | None,
        typer.Argument(help="What the command should do; piped stdin is appended."),
    ] = None,
    shell: Annotated[
        ShellName | None,
        typer.Option("--shell", help="The shell to write for (default: detected)."),
    ] = None,
    execute: Annotated[
        bool,
        typer.Option("--execute", help="Run the command without the menu (needs --yes)."),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm --execute.")] = False,
    yes_destructive: Annotated[
        bool,
        typer.Option("--yes-destructive", help="Let --execute run a destructive-looking command."),
    ] = False,
    system: SystemOpt = None,
    role: RoleOpt = None,
    no_log: NoLogOpt = False,
    over_budget: OverBudgetOpt = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Turn a description into a shell command: a menu on a terminal, the command alone off one."""
    from chatcli.errors import CommandExited
    from chatcli.features.shell.run import CmdInput, run
    from chatcli.settings.resolve import ChatFlags, invocation

    flags = ChatFlags(system=system, role=role, log=not no_log)
    what = CmdInput(description or [], shell, execute, yes, yes_destructive, over_budget)
    code = run(environment, invocation(g), flags, what)
    if code:
        raise CommandExited(code)  # the executed command's status, whatever it is
