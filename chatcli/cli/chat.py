"""``chatcli chat``: the interactive REPL; the work is in ``chatcli.repl``.

Only typer and the stdlib are imported at module level: ``chatcli --help`` loads this module,
and prompt_toolkit and rich cost a fifth of a second each.
"""

from chatcli.cli.common import (
    ApproveOpt,
    ContinueOpt,
    MarkdownOpt,
    MaxTokensOpt,
    MaxToolRoundsOpt,
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
def chat(
    session: SessionOpt = None,
    cont: ContinueOpt = False,
    system: SystemOpt = None,
    role: RoleOpt = None,
    temperature: TemperatureOpt = None,
    max_tokens: MaxTokensOpt = None,
    markdown: MarkdownOpt = None,
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
    """Chat interactively; every turn is saved (/help inside lists the commands)."""
    from chatcli.repl import run
    from chatcli.settings.resolve import ChatFlags, invocation

    flags = ChatFlags(
        system=system,
        role=role,
        temperature=temperature,
        max_tokens=max_tokens,
        markdown=markdown,
        cont=cont,
        session=session,
        tools=tuple(tool or ()),
        approve=tuple(approve or ()),
        max_tool_rounds=max_tool_rounds,
        reasoning=reasoning,
        service_tier=service_tier,
    )
    if schema_multi and schema is None and template is None:
        import typer

        raise typer.BadParameter("needs --schema SPEC", param_hint="--schema-multi")
    if schema is not None:  # as ask refuses it: a schema turn would silently drop the tools
        from chatcli.features.ask.run import refuse_schema_with_tools
        from chatcli.repl import SCHEMA_THEN_TOOLS

        refuse_schema_with_tools(flags.tools, hint=SCHEMA_THEN_TOOLS)
    given = schema is not None or schema_multi  # --schema-multi alone: the template's schema
    run(environment, invocation(g), flags, over_budget=over_budget, template=template,
        variables=var or [], schema=(schema, schema_multi) if given else None)  # fmt: skip
