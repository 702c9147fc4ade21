"""``chatcli ask``: one question, one answer, for shells and scripts (SPEC §3).

Only typer and the stdlib are imported at module level: ``chatcli --help`` loads this module.
"""

from pathlib import Path
from typing import Annotated

import typer

from chatcli.cli.common import (
    ContinueOpt,
    MarkdownOpt,
    MaxTokensOpt,
    OverBudgetOpt,
    RoleOpt,
    SessionOpt,
    SystemOpt,
    TemperatureOpt,
    global_options,
)
from chatcli.settings.resolve import Globals


@global_options
def ask(
    prompt: Annotated[
        list[str] | None, typer.Argument(help="The question; piped stdin is appended.")
    ] = None,
    file: Annotated[
        list[Path] | None,
        typer.Option("-f", "--file", help="Attach a text file or image (repeatable)."),
    ] = None,
    system: SystemOpt = None,
    role: RoleOpt = None,
    temperature: TemperatureOpt = None,
    max_tokens: MaxTokensOpt = None,
    no_stream: Annotated[
        bool, typer.Option("--no-stream", help="Wait for the whole answer.")
    ] = False,
    markdown: MarkdownOpt = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object with answer, usage and cost.")
    ] = False,
    cont: ContinueOpt = False,
    session: SessionOpt = None,
    over_budget: OverBudgetOpt = False,
    *,
    g: Globals,
) -> None:
    """Ask one question and print the answer (stdout holds the answer only)."""
    from chatcli.features.ask.run import AskOptions, run

    run(
        g,
        AskOptions(
            prompt=prompt or [],
            files=file or [],
            system=system,
            role=role,
            temperature=temperature,
            max_tokens=max_tokens,
            stream=not no_stream,
            markdown=markdown,
            json=json_out,
            cont=cont,
            session=session,
            over_budget=over_budget,
        ),
    )
