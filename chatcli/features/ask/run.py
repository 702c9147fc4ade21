"""What ``chatcli ask`` does once its options are parsed: gather input, send, print, record.

Every ask is a conversation in the store (marked one-shot when it has no name), so ``ask -c``
continues the last exchange, whatever made it; ``--no-log`` or ``log = false`` in
``[defaults]`` keep the text out of the store (the usage log still counts tokens and cost),
except that an explicit ``-c``/``--session`` keeps its conversation over ``log = false``
(``--no-log`` with either is refused: ``settings.resolve``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chatcli.environment import Environment
from chatcli.errors import ChatcliError, Interrupted, UsageError
from chatcli.features.flow import take_turn
from chatcli.output import Notifier, Writer, emit, json_text, notifier_for, quiet_keys
from chatcli.pricing import json_usd
from chatcli.settings.resolve import ChatFlags, Invocation

if TYPE_CHECKING:
    from collections.abc import Iterator

    from chatcli.events import Content, StreamEvent
    from chatcli.features.schema.spec import Schema
    from chatcli.features.templates.apply import Applied
    from chatcli.features.tools.toolbox import CallRecord, Toolbox
    from chatcli.providers.base import Provider
    from chatcli.session import ChatSession, TurnResult
    from chatcli.settings.loading import Config, Profile
    from chatcli.store import Store


@dataclass(frozen=True)
class AskInput:
    """What ``ask`` sends and how it prints, besides the conversation's settings."""

    prompt: list[str]
    files: list[str]  # paths or http(s) URLs, as typed
    json: bool = False
    extract: bool = False  # -x: print only the fenced code of the answer
    over_budget: bool = False
    schema: str | None = None  # --schema SPEC: the answer is JSON valid against it
    schema_multi: bool = False
    template: str | None = None  # --template NAME
    variables: tuple[str, ...] = ()  # -V KEY=VALUE


SCHEMA_WITH_TOOLS = "--schema and -T cannot be used together yet"
"""Why ``--schema`` with ``-T`` is refused (``ask`` and ``chat``): a structured turn goes
through ``features.schema.turn.Turn``, which sends no tools."""


def refuse_schema_with_tools(tools: tuple[str, ...], *, hint: str) -> None:
    """Refuse ``--schema`` together with ``-T`` (``tools``, as given; ``-T none`` is no tool)."""
    if tools and "none" not in tools:
        raise UsageError(SCHEMA_WITH_TOOLS, hint=hint)


def run(environment: Environment, invoked: Invocation, flags: ChatFlags, what: AskInput) -> None:
    """Run one ``ask`` in ``environment``; raises chatcli errors for the funnel in
    ``__main__``."""
    from chatcli.features.conversation import open_conversation, pick
    from chatcli.features.usage import budget
    from chatcli.inputs import gather
    from chatcli.session import combined
    from chatcli.settings.keys import check_found
    from chatcli.store import check_session_name, open_default

    if flags.session is not None:
        check_session_name(flags.session)  # before anything is sent and paid for
    env = environment
    notifier = notifier_for(env)
    notifier.show_reasoning = not what.json  # --json carries it in the object instead
    applied = None
    if what.template is not None:
        from chatcli.features.templates.apply import apply

        invoked, flags, applied = apply(invoked, flags, what.template, list(what.variables))
        for name in applied.unused:
            notifier.note(f"template {what.template!r} has no variable {name!r}")
    if not (flags.cont or flags.session):  # else the stored conversation's profile is used
        check_found(invoked.config.profile(invoked.profile, named_by=invoked.named_by))
    with open_default() as store:
        pick(store, flags)  # -c with --session is refused before stdin is read

        def connect(profile: Profile) -> Provider:
            """The provider behind this command's budget Gate: every request of the ask (each
            tool round, the ``--schema`` retry, a fallback) is judged before it is sent."""
            return budget.connect(profile, invoked.config.model_info, clock=env.clock,
                                  store=store, warn=notifier.note, debug=invoked.debug,
                                  over_budget=what.over_budget, refresh=0)  # fmt: skip

        opened = open_conversation(invoked, flags, store, command="ask", one_shot=True,
                                   connect=connect)  # fmt: skip
        settings = opened.settings
        if settings.approve:  # an unknown server is exit 2 even with no tool on (nothing starts)
            from chatcli.features.tools.toolbox import check_approve_servers

            check_approve_servers(settings, opened.config.mcp_servers)
        # a bad schema fails before stdin is read
        schema = _schema(what, opened.config, applied, flags.tools)
        if schema is not None:
            refuse_schema_with_tools(
                flags.tools, hint="ask with -T first, then ask -c --schema SPEC to shape the answer"
            )
        message = gather(
            what.prompt,
            what.files,
            profile=settings.profile,
            allow_empty=applied is not None and applied.template.prompt is not None,
        )
        if applied is not None:
            applied.wrap(message)
        content = message.content()
        for note in opened.notes:
            notifier.note(note)

        if schema is not None:
            _structured(env, what, opened.session, content, schema, store, notifier)
            return
        box = None
        if settings.tools:  # only then is anything of the tools feature imported
            from chatcli.features.tools.use import open_for

            # the Gate judges every request; this earlier look refuses a spent budget before
            # MCP servers start (they may take seconds, or fail to, for nothing)
            budget.check(store, settings.profile, over_budget=what.over_budget,
                         warn=notifier.note, model=settings.model,
                         model_info=settings.model_info)  # fmt: skip
            box = open_for(settings, opened.config, environment=env)
        quiet = what.json or what.extract
        writer = None if quiet else _writer(env, settings.markdown)
        session = opened.session

        def send() -> Iterator[StreamEvent]:
            if box is None:
                return session.send(content)
            from chatcli.features.tools.use import send as send_with_tools

            if box.approval.terminal is not None:
                box.approval.terminal.writer = writer
            return send_with_tools(session, content, box)

        def failed(exc: ChatcliError) -> bool:
            if isinstance(exc, Interrupted) and session.unanswered is not None:
                _keep_question(session, notifier)  # stopped before the answer began
            if what.json and session.rounds:  # replies came back (a cut one, tool rounds)
                turn = combined(session.rounds)
                extra: dict[str, object] = {"incomplete": True, "error": exc.message}
                if box is not None:  # the calls that ran may have had effects: say which
                    extra.update(tool_calls=[call_json(c) for c in box.calls],
                                 requests=turn.requests)  # fmt: skip
                _print_json(env, session, extra, turn)
            elif (
                session.last_turn is not None
                and (flags.session or flags.cont)
                and not isinstance(exc, Interrupted)  # Ctrl-C: the user knows what happened
            ):
                notifier.note(f"the partial answer was kept in session {session.name!r}")
            return False

        try:
            take_turn(send, writer, notifier,
                      report=lambda: _report(env, what, session, notifier, box),
                      failed=failed, keys=quiet_keys(env.stdout))  # fmt: skip
        finally:
            if box is not None:
                box.close()


def _keep_question(session: ChatSession, notifier: Notifier) -> None:
    """A question interrupted (Ctrl-C, SIGTERM, SIGHUP) before its answer began stays in the
    session as a message awaiting an answer, as the REPL keeps one: ``ask -c`` and ``chat -c``
    find it, ``sessions show`` marks it ``[no answer]``."""
    try:
        session.keep_unanswered()
    except ChatcliError as exc:
        notifier.note(f"the question could not be kept in the session ({exc.message})")


def _schema(
    what: AskInput, config: Config, applied: Applied | None, tools: tuple[str, ...]
) -> Schema | None:
    """``--schema``, else the template's (a ConfigError naming it when it cannot be used);
    ``--schema-multi`` needs one of them."""
    if what.schema is None:
        schema = applied.schema(config, tools, multi=what.schema_multi) if applied else None
        if schema is None and what.schema_multi:
            raise UsageError("--schema-multi needs --schema SPEC (or a template with a schema)")
        return schema
    from chatcli.features.schema.spec import load

    return load(what.schema, config.schemas, multi=what.schema_multi, config_dir=config.path.parent)


def _structured(
    env: Environment, what: AskInput, session: ChatSession, content: Content, schema: Schema,
    store: Store, notifier: Notifier,
) -> None:  # fmt: skip
    """``--schema``: only a valid answer reaches stdout (pretty on a terminal, compact off
    one; under ``data`` with ``--json``, once a reply came back, whatever failed after)."""
    from chatcli.features.schema.turn import Turn, json_fields

    structured = Turn(session, store, notifier)
    try:
        with quiet_keys(env.stdout):
            answer = structured.ask(content, schema)
    except ChatcliError as exc:
        if what.json and structured.replies:
            replies = structured.replies
            _print_json(env, session, json_fields(replies, exc), replies[-1])
        raise
    if what.json:
        fields = json_fields(structured.replies)
        if schema.wrapped:  # the answer as the user's schema has it, not chatcli's {"value": ...}
            fields["answer"] = json.dumps(answer.data, ensure_ascii=False, separators=(",", ":"))
        _print_json(env, session, {**fields, "data": answer.data}, structured.replies[-1])
    elif env.stdout_isatty:
        emit(env, json_text(answer.data, indent=2) + "\n")
    else:
        emit(env, json_text(answer.data, separators=(",", ":")) + "\n")


def _writer(env: Environment, mode: str) -> Writer:
    from chatcli.render import make_writer

    return make_writer(mode, env.stdout)


def _report(
    env: Environment, what: AskInput, session: ChatSession, notifier: Notifier,
    box: Toolbox | None = None,
) -> None:  # fmt: skip
    """Print what ``--json`` and ``-x`` ask for (the streamed answer is already out)."""
    from chatcli.session import combined

    turn = session.last_turn
    if turn is None:
        return
    if box is not None and session.rounds:  # every round summed, cached and reasoning too
        turn = combined(session.rounds)
    code = None
    if turn.finish_reason == "refusal":  # no answer to print or extract: check_finish says why
        if what.json:
            _print_json(env, session, {"answer": "", "refusal": turn.text}, turn)
        return
    if what.extract:
        from chatcli.features.ask.extract import code_blocks

        blocks = code_blocks(turn.text)
        if not blocks:
            notifier.note("the answer has no fenced code block; printing it whole")
            blocks = [turn.text.strip() + "\n"]
        code = "".join(blocks)
    if what.json:
        extra: dict[str, object] = {} if code is None else {"code": code}
        if box is not None:
            extra["tool_calls"] = [call_json(c) for c in box.calls]
            extra["requests"] = turn.requests
        _print_json(env, session, extra, turn)
    elif code is not None:
        emit(env, code)


def _print_json(
    env: Environment, session: ChatSession, extra: dict[str, object],
    turn: TurnResult | None = None,
) -> None:  # fmt: skip
    """The ``--json`` object of the last turn, or of ``turn`` (``extra``: the extracted code,
    or that the answer is incomplete)."""
    turn = turn or session.last_turn
    assert turn is not None
    obj = {
        "answer": turn.text,
        "model": turn.model,
        "profile": session.profile,
        "usage": {
            "prompt_tokens": turn.prompt_tokens,
            "completion_tokens": turn.completion_tokens,
            "cached_tokens": turn.cached_tokens,
            "reasoning_tokens": turn.reasoning_tokens,
            "estimated": turn.estimated,
        },
        "cost_usd": json_usd(turn.cost_usd),
        "finish_reason": turn.finish_reason,
        "session": session.name,
        "refusal": None,
        **extra,
    }
    if turn.reasoning and session.settings.profile.show_reasoning:
        obj["reasoning"] = turn.reasoning
    emit(env, json_text(obj) + "\n")


def call_json(call: CallRecord) -> dict[str, object]:
    """One tool call of the turn in ``--json``: arguments parsed when they are JSON."""
    from chatcli.features.tools.results import excerpt, parse_arguments

    arguments, _ = parse_arguments(call.arguments)
    return {
        "name": call.name,
        "arguments": arguments if arguments is not None else call.arguments,
        "result": excerpt(call.result),
        "error": call.error,
        "duration_s": None if call.seconds is None else round(call.seconds, 3),
        "approved": call.approved,
    }
