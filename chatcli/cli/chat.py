"""``chatcli chat``: the interactive REPL (SPEC §4); the work is in ``chatcli.repl``.

Only typer and the stdlib are imported at module level: ``chatcli --help`` loads this module,
and prompt_toolkit and rich cost a fifth of a second each.
"""

from __future__ import annotations

from typing import Annotated

import typer

from chatcli.cli.ask import MARKDOWN_HELP, check_markdown
from chatcli.cli.common import ConfigOpt, DebugOpt, Globals, ModelOpt, ProfileOpt


def chat(
    session: Annotated[
        str | None, typer.Option("--session", help="Continue or create this session.")
    ] = None,
    cont: Annotated[
        bool, typer.Option("-c", "--continue", help="Continue the latest session.")
    ] = False,
    system: Annotated[str | None, typer.Option("-s", "--system", help="System prompt.")] = None,
    role: Annotated[
        str | None, typer.Option("-r", "--role", help="Named role from config.")
    ] = None,
    temperature: Annotated[
        float | None, typer.Option("-t", "--temperature", min=0.0, max=2.0, help="0 to 2.")
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", min=1, help="Longest reply in tokens.")
    ] = None,
    markdown: Annotated[
        str | None, typer.Option("--markdown", callback=check_markdown, help=MARKDOWN_HELP)
    ] = None,
    over_budget: Annotated[
        bool, typer.Option("--over-budget", help="Go on although a budget is spent.")
    ] = False,
    profile: ProfileOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Chat interactively; every turn is saved (/help inside lists the commands)."""
    from chatcli.repl import ChatOptions, run

    run(
        Globals(profile, model, config, debug),
        ChatOptions(
            session=session,
            cont=cont,
            system=system,
            role=role,
            temperature=temperature,
            max_tokens=max_tokens,
            markdown=markdown,
            over_budget=over_budget,
        ),
    )
