"""``chatcli summarize``: summarise text of any length, splitting what does not fit (SPEC §3).

Only typer and the stdlib are imported at module level: ``chatcli --help`` loads this module.
"""

from typing import Annotated

import typer

from chatcli.cli.common import MarkdownOpt, OverBudgetOpt, global_options
from chatcli.settings.resolve import Globals


@global_options
def summarize(
    files: Annotated[
        list[str] | None,
        typer.Argument(help="Text files, concatenated in order; - (or nothing) reads stdin."),
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
    markdown: MarkdownOpt = None,
    over_budget: OverBudgetOpt = False,
    *,
    g: Globals,
) -> None:
    """Summarise text of any length; long input is split, summarised in parts, combined."""
    from chatcli.features.summarize.engine import SummarizeOptions, run

    run(
        g,
        SummarizeOptions(
            files=files or [],
            instructions=instructions,
            concurrency=concurrency,
            chunk_tokens=chunk_tokens,
            markdown=markdown,
            over_budget=over_budget,
        ),
    )
