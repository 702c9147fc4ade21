"""``chatcli ask``: one question, one answer, for shells and scripts (SPEC §3).

Only typer and the stdlib are imported at module level: ``chatcli --help`` loads this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chatcli.cli.common import ConfigOpt, DebugOpt, Globals, ModelOpt, ProfileOpt

MARKDOWN_HELP = "Render Markdown: auto (only on a terminal), always, never."


def check_markdown(value: str | None) -> str | None:
    if value is not None and value not in ("auto", "always", "never"):
        raise typer.BadParameter(f"{value!r} is not one of auto, always, never")
    return value


def ask(
    prompt: Annotated[
        list[str] | None, typer.Argument(help="The question; piped stdin is appended.")
    ] = None,
    file: Annotated[
        list[Path] | None,
        typer.Option("-f", "--file", help="Attach a text file or image (repeatable)."),
    ] = None,
    system: Annotated[str | None, typer.Option("-s", "--system", help="System prompt.")] = None,
    role: Annotated[
        str | None, typer.Option("-r", "--role", help="Named role from config.")
    ] = None,
    temperature: Annotated[
        float | None, typer.Option("-t", "--temperature", min=0.0, max=2.0, help="0 to 2.")
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", min=1, help="Longest answer in tokens.")
    ] = None,
    no_stream: Annotated[
        bool, typer.Option("--no-stream", help="Wait for the whole answer.")
    ] = False,
    markdown: Annotated[
        str | None, typer.Option("--markdown", callback=check_markdown, help=MARKDOWN_HELP)
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object with answer, usage and cost.")
    ] = False,
    cont: Annotated[
        bool, typer.Option("-c", "--continue", help="Continue the latest session.")
    ] = False,
    session: Annotated[
        str | None, typer.Option("--session", help="Continue or create this session.")
    ] = None,
    over_budget: Annotated[
        bool, typer.Option("--over-budget", help="Go on although a budget is spent.")
    ] = False,
    profile: ProfileOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Ask one question and print the answer (stdout holds the answer only)."""
    from chatcli.cli.ask_run import AskOptions, run

    run(
        Globals(profile, model, config, debug),
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
