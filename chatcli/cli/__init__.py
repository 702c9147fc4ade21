"""The Typer command tree. Each command lives in its own module and imports heavy code lazily.

The modules declaring commands do not use ``from __future__ import annotations``: Typer reads
every command's signature on each run, and string annotations cost it an ``eval`` per parameter
(about 40 ms for this tree, measured with bench/bench_startup.py).
"""

from typing import Annotated

import typer

from chatcli import __version__
from chatcli.cli import (
    ask,
    balance,
    batch,
    chat,
    cmd,
    completion,
    config,
    doctor,
    help_layout,
    image,
    mcp,
    models,
    sessions,
    shell_integration,
    speak,
    summarize,
    templates,
    transcribe,
    usage,
    verify,
)
from chatcli.cli.common import (
    ConfigOpt,
    DebugOpt,
    ModelOpt,
    ProfileOpt,
    environment_of,
    show_help_if_bare,
)
from chatcli.settings.options import Globals

help_layout.install()  # a narrow terminal's --help wraps descriptions, never cuts a name
app = typer.Typer(
    name="chatcli",
    help="Chat with OpenAI, Azure OpenAI and OpenAI-compatible models from the terminal.",
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(ctx: typer.Context, value: bool) -> None:
    if value:
        from chatcli.output import out

        out(environment_of(ctx), f"chatcli {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    profile: ProfileOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Chat with OpenAI, Azure OpenAI and OpenAI-compatible models from the terminal.

    The global options -p, -m, --config and --debug go before or after the command.
    """
    ctx.obj = Globals(profile, model, config, debug)
    show_help_if_bare(ctx)


app.command("ask")(ask.ask)
app.command("chat")(chat.chat)
app.command("cmd")(cmd.cmd)
app.command("transcribe")(transcribe.transcribe)
app.command("summarize")(summarize.summarize)
app.command("speak")(speak.speak)
app.command("image")(image.image)
app.command("models")(models.models)
app.command("usage")(usage.usage)
app.command("balance")(balance.balance)
app.command("verify")(verify.verify)
app.command("doctor")(doctor.doctor)
app.add_typer(batch.app, name="batch")
app.add_typer(sessions.app, name="sessions")
app.add_typer(config.app, name="config")
app.add_typer(mcp.app, name="mcp")
app.add_typer(templates.app, name="templates")
app.command("completion")(completion.completion)
app.command("shell-integration")(shell_integration.shell_integration)
