"""``chatcli ask``: one question, one answer, for shells and scripts.

Only typer and the stdlib are imported at module level: ``chatcli --help`` loads this module.
"""

from typing import Annotated

import typer

from chatcli.cli import completers
from chatcli.cli.common import (
    ApproveOpt,
    ContinueOpt,
    MarkdownOpt,
    MaxTokensOpt,
    MaxToolRoundsOpt,
    NoLogOpt,
    OverBudgetOpt,
    ReasoningOpt,
    RoleOpt,
    SchemaMultiOpt,
    SchemaOpt,
    ServiceTierOpt,
    SessionOpt,
    SystemOpt,
    TemperatureOpt,
    TemplateOpt,
    ToolOpt,
    VarOpt,
    global_options,
)
from chatcli.environment import Environment
from chatcli.settings.options import Globals


@global_options
def ask(
    prompt: Annotated[
        list[str] | None, typer.Argument(help="The question; piped stdin is appended.")
    ] = None,
    file: Annotated[
        list[str] | None,  # not Path: a URL must reach the fetcher exactly as written
        typer.Option(
            "-f",
            "--file",
            help="Attach a text file or image (repeatable).",
            autocompletion=completers.files,
        ),
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
    extract: Annotated[
        bool, typer.Option("-x", "--extract", help="Print only the fenced code of the answer.")
    ] = False,
    cont: ContinueOpt = False,
    session: SessionOpt = None,
    no_log: NoLogOpt = False,
    over_budget: OverBudgetOpt = False,
    tool: ToolOpt = None,
    approve: ApproveOpt = None,
    max_tool_rounds: MaxToolRoundsOpt = None,
    reasoning: ReasoningOpt = None,
    service_tier: ServiceTierOpt = None,
    template: TemplateOpt = None,
    var: VarOpt = None,
    schema: SchemaOpt = None,
    schema_multi: SchemaMultiOpt = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Ask one question and print the answer (stdout holds the answer only)."""
    from chatcli.features.ask.run import AskInput, run
    from chatcli.settings.resolve import ChatFlags, invocation

    flags = ChatFlags(
        system=system,
        role=role,
        temperature=temperature,
        max_tokens=max_tokens,
        markdown=markdown,
        stream=not no_stream,
        cont=cont,
        session=session,
        tools=tuple(tool or ()),
        approve=tuple(approve or ()),
        max_tool_rounds=max_tool_rounds,
        reasoning=reasoning,
        service_tier=service_tier,
        log=not no_log,
    )
    if schema_multi and schema is None and template is None:  # a template may bring one
        raise typer.BadParameter("needs --schema SPEC", param_hint="--schema-multi")
    if schema is not None and extract:
        raise typer.BadParameter("--schema answers are JSON; -x has no code to extract",
                                 param_hint="-x")  # fmt: skip
    what = AskInput(
        prompt or [], file or [], json_out, extract, over_budget, schema, schema_multi,
        template, tuple(var or ()),
    )  # fmt: skip
    run(environment, invocation(g), flags, what)
