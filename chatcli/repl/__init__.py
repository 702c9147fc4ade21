"""``chatcli chat``: the interactive REPL on top of ChatSession and the renderer.

- ``prompt``: the prompt_toolkit input line, its key bindings and the private history file;
- ``loop``: the read / send / stream loop, the footer and the resume summary;
- ``commands``: the slash commands and their Tab completion.

``run`` wires them to the config, the store and a provider through
``features.conversation.open_conversation``, as ``features.ask.run`` does for ``ask``; each
message goes through the same turn flow as ``ask`` (``features.flow.take_turn``). Every provider
the REPL connects (``/profile`` and ``/resume`` included) is behind the budget Gate
(``features.usage.budget.connect``), so each request, a tool round, a ``/schema`` retry or
``/retry``, is judged before it is sent; ``/budget continue`` lets the session go on.
Every session is persisted: each completed turn is written at once, so a killed REPL loses at
most the reply in flight and ``chatcli chat -c`` picks up from there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatcli.environment import Environment
from chatcli.errors import UsageError
from chatcli.settings.resolve import ChatFlags, Invocation

if TYPE_CHECKING:
    from prompt_toolkit.input import Input
    from prompt_toolkit.output import Output

    from chatcli.providers.base import Provider
    from chatcli.repl.loop import Repl
    from chatcli.store import Store


def run(
    environment: Environment,
    invoked: Invocation,
    flags: ChatFlags,
    *,
    over_budget: bool = False,
    template: str | None = None,
    variables: list[str] | None = None,
    schema: tuple[str | None, bool] | None = None,
    input: Input | None = None,
    output: Output | None = None,
) -> None:
    """Run the REPL until Ctrl-D or ``/exit``; ``input``/``output`` replace the terminal in
    tests; ``template`` (with ``variables``) shapes every message; ``schema``: ``--schema``
    (None: the template's) and ``--schema-multi``."""
    if flags.cont and flags.session:
        raise UsageError("use either -c/--continue or --session NAME, not both")
    if flags.session is not None:  # as ask: a bad name would lose every paid turn at save time
        from chatcli.store import check_session_name

        check_session_name(flags.session)
    if input is None and not environment.stdin_isatty:
        raise UsageError(
            "chatcli chat needs a terminal on stdin",
            hint='pipe text into `chatcli ask` instead: ... | chatcli ask "question"',
        )
    from chatcli.settings.keys import check_found
    from chatcli.store import open_default

    if not (flags.cont or flags.session):  # else the stored conversation's profile is used
        check_found(invoked.config.profile(invoked.profile, named_by=invoked.named_by))
    with open_default() as store:
        prepare(
            environment,
            invoked,
            flags,
            store,
            over_budget=over_budget,
            template=template,
            variables=variables or [],
            schema=schema,
            input=input,
            output=output,
        ).run()


SCHEMA_THEN_TOOLS = "chat with -T, then /tools off all and /schema SPEC in the REPL"
"""How to have both a schema and tools in a REPL (``--schema`` with ``-T`` is refused)."""


def prepare(
    environment: Environment,
    invoked: Invocation,
    flags: ChatFlags,
    store: Store,
    *,
    over_budget: bool = False,
    template: str | None = None,
    variables: list[str] | None = None,
    schema: tuple[str | None, bool] | None = None,
    input: Input | None = None,
    output: Output | None = None,
) -> Repl:
    """Config, provider, session, prompt (with history and completer) and the REPL on top."""
    from chatcli.features.conversation import open_conversation
    from chatcli.features.usage import budget
    from chatcli.output import notifier_for
    from chatcli.repl.commands import SlashCompleter
    from chatcli.repl.loop import BUDGET_GO_ON, Repl, ReplSetup
    from chatcli.repl.prompt import Placement, make_prompt, private_history
    from chatcli.settings import paths

    config = invoked.config
    standing = None
    if schema is not None and schema[0] is not None:  # chat --schema SPEC: every reply
        from chatcli.features.schema.spec import load

        standing = load(schema[0], config.schemas, multi=schema[1], config_dir=config.path.parent)
    applied = None
    if template is not None:
        from chatcli.features.templates.apply import apply

        invoked, flags, applied = apply(invoked, flags, template, variables or [])
        if standing is None:  # the template's schema stands as --schema's does (as in ask)
            standing = applied.schema(config, flags.tools, multi=bool(schema and schema[1]))
            if standing is not None:
                from chatcli.features.ask.run import refuse_schema_with_tools

                refuse_schema_with_tools(flags.tools, hint=SCHEMA_THEN_TOOLS)
    if schema is not None and standing is None:  # --schema-multi alone
        raise UsageError("--schema-multi needs --schema SPEC (or a template with a schema)")
    providers: dict[str, Provider] = {}
    notifier = notifier_for(environment)  # the REPL's: the 80 % notice is said once

    def going_on() -> bool:
        """``--over-budget``, or ``/budget continue`` since (it sets ``ctx.over_budget``)."""
        return ctx.over_budget  # asked by the Gate at each request, once ctx is made below

    def connect_profile(name: str) -> Provider:
        """One provider per profile for the whole REPL (``/profile``, ``/resume``), each
        request of which passes the budget Gate."""
        if name not in providers:
            providers[name] = budget.connect(
                config.profile(name), config.model_info, clock=environment.clock,
                store=store, warn=notifier.note, over_budget=going_on, debug=invoked.debug,
                go_on=BUDGET_GO_ON, refresh=0,
            )  # fmt: skip
        return providers[name]

    opened = open_conversation(
        invoked, flags, store, command="chat", connect=lambda p: connect_profile(p.name)
    )
    if opened.settings.approve:  # an --approve naming no server: exit 2 now, not at /tools on
        from chatcli.features.tools.toolbox import check_approve_servers

        check_approve_servers(opened.settings, config.mcp_servers)
    ctx = ReplSetup(
        config=config,
        store=store,
        connect=connect_profile,
        markdown=opened.settings.markdown,
        over_budget=over_budget,
        debug=invoked.debug,
    )
    placement = Placement()
    prompt = make_prompt(private_history(paths.data_dir()), environment, input=input,
                         output=output, placement=placement)  # fmt: skip
    provider = connect_profile(opened.session.profile)
    repl = Repl(ctx, opened.session, provider, prompt, environment, notifier=notifier)
    repl.placement = placement
    repl.template = applied
    repl.standing_schema = standing
    if standing is not None:
        repl.say(f"every reply is JSON valid against {standing.source} (/schema off ends it)",
                 dim=True)  # fmt: skip
    for note in opened.notes:
        repl.say(note, dim=True)
    if opened.settings.tools and standing is not None:  # a schema turn sends no tools
        repl.say("the config's tools stay off while every reply is JSON (--schema): "
                 "/schema off, then /tools on NAME", dim=True)  # fmt: skip
    elif opened.settings.tools:  # -T or the profile's tools: start their servers now
        from chatcli.features.tools.use import open_for

        repl.tools = open_for(opened.settings, config, environment=environment)
    if applied is not None:
        repl.say(f"template {applied.template.name}: every message goes through it", dim=True)
        for name in applied.unused:
            repl.say(f"template {applied.template.name!r} has no variable {name!r}", dim=True)
    prompt.completer = SlashCompleter(repl)
    return repl
