"""``chatcli summarize``: summarise text of any length, splitting what does not fit.

Only typer and the stdlib are imported at module level: ``chatcli --help`` loads this module.
"""

from pathlib import Path
from typing import Annotated

import typer

from chatcli.cli import completers
from chatcli.cli.common import MarkdownOpt, OverBudgetOpt, global_options
from chatcli.environment import Environment
from chatcli.settings.options import Globals


@global_options
def summarize(
    files: Annotated[
        list[str] | None,
        typer.Argument(
            help="Text files, documents (PDF, DOCX, ODT, EPUB, HTML, RTF) or http(s) URLs, each "
            "summarised on its own; - (or nothing) reads stdin.",
            autocompletion=completers.files,
        ),
    ] = None,
    instructions: Annotated[
        str | None,
        typer.Option("--instructions", help="What the summary should be like."),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option("--concurrency", min=1, max=64, help="Parts summarised at the same time."),
    ] = 4,
    chunk_tokens: Annotated[
        int | None,
        typer.Option(
            "--chunk-tokens",
            min=16,
            help="Split into parts of at most N tokens (default: what fits the context).",
        ),
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write one NAME.md per input here.")
    ] = None,
    combine: Annotated[
        bool, typer.Option("--combine", help="Add a summary of the summaries.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print requests, tokens, cost and time; send nothing.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="Go on above confirm_above_usd without asking.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Redo inputs whose summary exists in -o DIR.")
    ] = False,
    markdown: MarkdownOpt = None,
    over_budget: OverBudgetOpt = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Summarise text and documents of any length, each input on its own."""
    from chatcli.features.summarize.engine import SummarizeOptions
    from chatcli.features.summarize.run import run
    from chatcli.settings.resolve import resolve

    run(
        environment,
        resolve(g),
        SummarizeOptions(
            files=files or [],
            instructions=instructions,
            concurrency=concurrency,
            chunk_tokens=chunk_tokens,
            markdown=markdown,
            over_budget=over_budget,
            output_dir=output_dir,
            combine=combine,
            dry_run=dry_run,
            yes=yes,
            force=force,
        ),
    )
