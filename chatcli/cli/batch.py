"""``chatcli batch submit | list | status | wait | results | retry | cancel``.

Only typer and the stdlib are imported at module level: ``chatcli --help`` loads this module.
"""

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from chatcli.cli import completers
from chatcli.cli.common import OverBudgetOpt, SchemaMultiOpt, SchemaOpt, global_options, group
from chatcli.environment import Environment
from chatcli.settings.options import Globals

app = group("Bulk requests at half price through the provider's Batch API (or a local runner).")

JobArg = Annotated[str, typer.Argument(help="Job name (see: chatcli batch list).")]
ConcurrencyOpt = Annotated[
    int,
    typer.Option("--concurrency", min=1, max=64, help="Local runner: requests at the same time."),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Submit without asking.")]


@app.command("submit")
@global_options
def submit(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="JSONL (one request per line), CSV, or text files.",
            autocompletion=completers.files,
        ),
    ],
    prompt: Annotated[
        str | None, typer.Option("--prompt", help="Instruction put before each input's text.")
    ] = None,
    column: Annotated[
        str | None,
        typer.Option("--column", help="CSV column holding the prompt (default: prompt)."),
    ] = None,
    local: Annotated[
        bool, typer.Option("--local", help="Run here, request by request, not on the Batch API.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Write the JSONL to the current directory; send nothing."),
    ] = False,
    yes: YesOpt = False,
    concurrency: ConcurrencyOpt = 8,
    over_budget: OverBudgetOpt = False,
    schema: SchemaOpt = None,
    schema_multi: SchemaMultiOpt = False,
    new: Annotated[
        bool,
        typer.Option("--new", help="Submit a second job even if the same one is unfinished."),
    ] = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Submit a job; prints its name. Asks above confirm_above_usd (off a terminal: --yes).
    With --schema (or a "schema" key on a JSONL line) answers must be JSON valid against it.
    The same inputs, model, parameters and profile while that job is unfinished resume it."""
    from chatcli.features.batch.jobs import SubmitOptions
    from chatcli.features.batch.jobs import submit as run
    from chatcli.settings.resolve import resolve

    if schema_multi and schema is None:
        raise typer.BadParameter("needs --schema SPEC", param_hint="--schema-multi")
    opts = SubmitOptions(inputs, prompt, column, local, dry_run, yes, concurrency, over_budget)
    run(
        environment,
        resolve(g),
        dataclasses.replace(opts, schema=schema, schema_multi=schema_multi, new=new),
    )


@app.command("list")
@global_options
def list_(
    json_out: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """List batch jobs, newest first."""
    from chatcli.features.batch.jobs import list_jobs
    from chatcli.settings.resolve import invocation
    from chatcli.store.db import reading_only

    with reading_only():  # a read-only or full data dir still lists
        list_jobs(environment, invocation(g), json_out)


@app.command("status")
@global_options
def status(
    job: Annotated[str | None, typer.Argument(help="Job name (default: the latest).")] = None,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Show a job's state, refreshed from the provider."""
    from chatcli.features.batch.jobs import status as run
    from chatcli.settings.resolve import invocation
    from chatcli.store.db import reading_only

    with reading_only():  # a finished job's status still shows from a read-only data dir
        run(environment, invocation(g), job)


@app.command("wait")
@global_options
def wait(
    job: JobArg,
    concurrency: ConcurrencyOpt = 8,
    over_budget: OverBudgetOpt = False,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Run it here without asking (no Batch API found)."),
    ] = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Finish submitting, follow the job to its end and collect the results (resumable)."""
    from chatcli.features.batch.jobs import wait as run
    from chatcli.settings.resolve import invocation

    run(environment, invocation(g), job, concurrency, over_budget, yes)


@app.command("results")
@global_options
def results(
    job: JobArg,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="One answer file per input in DIR.")
    ] = None,
    jsonl: Annotated[
        Path | None, typer.Option("--jsonl", help="One JSONL file (default: stdout).")
    ] = None,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Write the results in input order: id, answer, usage, cost, error."""
    from chatcli.settings.resolve import invocation

    if output is not None and jsonl is not None:
        raise typer.BadParameter("give -o DIR or --jsonl FILE, not both", param_hint="-o")
    from chatcli.features.batch.jobs import results as run
    from chatcli.store.db import reading_only

    with reading_only():  # a finished job's results still come from a read-only data dir
        run(environment, invocation(g), job, output, jsonl)


@app.command("retry")
@global_options
def retry(
    job: JobArg,
    yes: YesOpt = False,
    concurrency: ConcurrencyOpt = 8,
    over_budget: OverBudgetOpt = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Submit only the failed requests of a job, as a new job."""
    from chatcli.features.batch.jobs import retry as run
    from chatcli.settings.resolve import invocation

    run(environment, invocation(g), job, yes, concurrency, over_budget)


@app.command("cancel")
@global_options
def cancel(job: JobArg, *, g: Globals, environment: Environment) -> None:
    """Cancel a job; finished requests stay available."""
    from chatcli.features.batch.jobs import cancel as run
    from chatcli.settings.resolve import invocation

    run(environment, invocation(g), job)
