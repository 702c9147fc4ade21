"""One turn with tools: the model asks for calls, chatcli runs them, the model goes on.

A round is one request; when its reply asks for tool calls, each is approved (or declined),
the approved ones run concurrently, every result (errors and refusals included, so the model
can recover) is stored in the session, and the next round is sent, up to ``max_rounds``
rounds of calls; after that the model is asked, once, to answer without tools (calls it still
asks for then are answered "not run" and the turn ends: a model or endpoint that ignores
``tool_choice: "none"`` cannot keep a turn, and its bill, going). Each request is
priced and logged by the session like any other; ``before_round`` checks budgets between
rounds. Ctrl-C during a call cancels it and stops the turn: results that arrived are kept, the
others are stored as interrupted (a call that had started "while running": it may have had
effects; one that had not, "not run"), so the conversation stays valid for the next message.
A model that still asks for tools once the bound is reached ends the turn with an error
(exit 5), its calls answered "not run" and what was said kept.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace

from chatcli.errors import APIError
from chatcli.events import Notice, StreamEvent, TextDelta, ToolCall, ToolNote
from chatcli.features.tools import results
from chatcli.features.tools.approval import Verdict
from chatcli.features.tools.mcp import Dead, Outcome
from chatcli.features.tools.registry import Tool
from chatcli.features.tools.toolbox import CallRecord, Toolbox
from chatcli.hints import too_many_tools_hint
from chatcli.session import ChatSession, ToolResult, TurnResult, combined

DECLINED = "the user declined to run this tool call"
INTERRUPTED = "not run: the user interrupted the turn"
"""The result of a call the user's Ctrl-C (or a SIGTERM) came before it started."""
STOPPED_RUNNING = "interrupted while running (it may have had effects)"
"""What a call that had started when the turn was stopped came to, as shown on its line."""
INTERRUPTED_RUNNING = f"{STOPPED_RUNNING}: the user stopped the turn before the tool answered"
"""Its stored result: the tool may have done its work, and its answer is unknown."""


@dataclass
class _Plan:
    call: ToolCall
    tool: Tool | None
    arguments: dict[str, object] | None
    name: str = ""  # as shown: server.tool when the wire name is known, else as sent
    verdict: Verdict | None = None
    outcome: Outcome | None = None
    seconds: float | None = None
    cut_from: int | None = None


def turn(
    session: ChatSession,
    first: Iterator[StreamEvent],
    box: Toolbox,
    before_round: Callable[[], None] | None = None,
) -> Generator[StreamEvent, None, None]:
    """The events of a whole turn whose first round is ``first`` (``session.send`` or
    ``session.retry`` with ``box.specs()``); ``session.last_turn`` ends up covering all of
    its rounds (texts joined, tokens and cost summed, ``requests`` counted)."""
    try:
        yield from _turn(session, first, box, before_round)
    except APIError as exc:  # more tools than the endpoint takes: name the servers they are of
        if exc.hint == too_many_tools_hint():  # the guard's (``refused_tools``)
            on: dict[str, int] = {}
            for tool in box.enabled.values():
                on[tool.server] = on.get(tool.server, 0) + 1
            exc.hint = too_many_tools_hint(on)
        raise


def _turn(
    session: ChatSession,
    first: Iterator[StreamEvent],
    box: Toolbox,
    before_round: Callable[[], None] | None,
) -> Generator[StreamEvent, None, None]:
    box.calls = []
    rounds: list[TurnResult] = []
    events: Iterator[StreamEvent] = first
    tool_rounds = 0
    while True:
        gap = bool(rounds and any(r.text for r in rounds))
        for event in events:
            if gap and isinstance(event, TextDelta) and event.text:
                gap = False
                yield TextDelta("\n\n")
            yield event
        last = session.last_turn
        if last is None:
            return
        rounds.append(last)
        session.last_turn = combined(rounds)  # cached and reasoning tokens summed too
        if not last.calls:
            return
        tool_rounds += 1
        if tool_rounds > box.max_rounds + 1:  # asked once without tools, still asking: stop
            session.add_tool_results(_not_run(last.calls, box))
            n = box.max_rounds
            raise APIError(
                f"the model still asked for tools after {_rounds(n)} "
                f"(--max-tool-rounds {n}) and a request to answer without them; its calls were "
                "not run (raise the bound with --max-tool-rounds N, at most 100)"
            )
        if tool_rounds > box.max_rounds:
            session.add_tool_results(_not_run(last.calls, box))
            yield Notice(
                f"{_rounds(box.max_rounds)} reached (--max-tool-rounds); "
                "asking for an answer without tools"
            )
            choice: str | None = "none"  # the history holds calls: the tools stay declared
        else:
            done = yield from run_calls(session, last.calls, box)
            session.add_tool_results(done)
            choice = None
        if before_round is not None:
            before_round()
        events = session.send(None, tools=box.specs(), tool_choice=choice)


_LIMIT = "not run: the limit of {n} per turn was reached; answer with what you have"


def _rounds(n: int) -> str:
    return f"{n} tool round{'' if n == 1 else 's'}"


def _not_run(calls: tuple[ToolCall, ...], box: Toolbox) -> list[ToolResult]:
    """The results of calls past the round limit: not run, each named for the record."""
    text = _LIMIT.format(n=_rounds(box.max_rounds))
    info = {"approved": False, "how": "not run"}
    return [ToolResult(c.id, text, {"name": _shown(c, box), **info}) for c in calls]


def _shown(call: ToolCall, box: Toolbox) -> str:
    """A call's tool as people read it (``server.tool``), or its name as the model sent it."""
    tool = box.registry.by_wire(call.name)
    return tool.qualified if tool is not None else call.name


def run_calls(
    session: ChatSession, calls: tuple[ToolCall, ...], box: Toolbox
) -> Generator[StreamEvent, None, list[ToolResult]]:
    """Approve and run one reply's calls (approved ones concurrently); their results in call
    order. The answer's text so far is printed for good first, so the screen reads it, then
    each call, its decision and its result. Ctrl-C stores what is known (a call that had
    started as interrupted while running), says which calls it stopped (a whole line: the
    "running" line ends first) and propagates."""
    terminal = box.approval.terminal
    if terminal is not None:
        terminal.settle()
    plans = [_plan(call, box) for call in calls]
    futures: dict[concurrent.futures.Future[Outcome], _Plan] = {}
    started: dict[int, float] = {}
    try:
        for plan in plans:
            if plan.tool is None or plan.arguments is None:
                continue
            plan.verdict = box.approval.decide(plan.tool, plan.call.arguments)
            if not plan.verdict.approved:
                plan.outcome = Outcome(DECLINED, error=True)
                why = "declined"
                if plan.verdict.how != "no":
                    why += f" (not on a terminal: --approve {plan.tool.qualified} runs it)"
                yield ToolNote(results.line(plan.name, plan.call.arguments, why, None))
        for plan in plans:
            if plan.outcome is None and plan.tool is not None and plan.arguments is not None:
                started[id(plan)] = time.monotonic()
                future = box.hub.submit(plan.tool, plan.arguments, box.timeout)
                futures[future] = plan
        in_place = False  # the "running" line is kept in place (replaced by the next line)
        if futures and terminal is not None:  # on a terminal: say what runs
            names = ", ".join(p.name for p in futures.values())
            in_place = terminal.running(names)
            if not in_place:
                yield Notice(f"running {names}… (Ctrl-C stops the turn)", key="tools-running")
        for future in concurrent.futures.as_completed(futures):
            plan = futures[future]
            plan.seconds = time.monotonic() - started[id(plan)]
            try:
                plan.outcome = future.result()
                if plan.outcome.notice:  # a new session of its server, say
                    yield Notice(plan.outcome.notice)
            except Dead as exc:
                plan.outcome = Outcome(f"error: {exc}", error=True)
                yield Notice(str(exc))
            yield from _finish(plan, box)
            left = [p.name for p in futures.values() if p.outcome is None]
            if in_place and left and terminal is not None:
                terminal.running(", ".join(left))
    except BaseException as exc:
        for future in futures:
            future.cancel()
        now = time.monotonic()
        for plan in futures.values():
            if plan.outcome is None and plan.seconds is None:
                plan.seconds = now - started[id(plan)]
        session.add_tool_results([_result(p, box, interrupted=True) for p in plans])
        for plan in futures.values():  # whole lines: the "running" line ends first
            if isinstance(exc, KeyboardInterrupt) and plan.outcome is None:
                line = results.line(plan.name, plan.call.arguments, STOPPED_RUNNING, plan.seconds)
                yield ToolNote(line)
        raise
    for plan in plans:
        if plan.tool is None or plan.arguments is None:
            assert plan.outcome is not None
            outcome = "refused: " + plan.outcome.text
            yield ToolNote(results.line(plan.name, plan.call.arguments, outcome, None))
    return [_result(p, box) for p in plans]


def _plan(call: ToolCall, box: Toolbox) -> _Plan:
    """What a call names and carries; a bad name or bad arguments become its result."""
    tool = box.registry.by_wire(call.name)
    name = _shown(call, box)
    if tool is None or tool.qualified not in box.enabled:
        on = ", ".join(box.registry.wire_name(t) for t in box.enabled.values()) or "none"
        text = f"there is no tool {call.name!r} (tools: {on})"
        return _Plan(call, None, None, name, outcome=Outcome(text, error=True))
    arguments, problem = results.parse_arguments(call.arguments)
    if problem is not None:
        return _Plan(call, tool, None, name, outcome=Outcome(problem, error=True))
    return _Plan(call, tool, arguments, name)


def _finish(plan: _Plan, box: Toolbox) -> Iterator[StreamEvent]:
    """Cut a finished call's output to the limit; the line saying how it went."""
    assert plan.outcome is not None and plan.tool is not None
    text, plan.cut_from = results.cut(plan.outcome.text, box.output_limit, box.encoding)
    plan.outcome = replace(plan.outcome, text=text)
    said = results.summary(text, plan.outcome.error)
    if plan.cut_from is not None:
        said += f", cut from {plan.cut_from:,} tokens"
        yield Notice(
            f"the output of {plan.tool.qualified} was cut to {box.output_limit:,} of its "
            f"{plan.cut_from:,} tokens (tool_output_limit)"
        )
    yield ToolNote(results.line(plan.tool.qualified, plan.call.arguments, said, plan.seconds))


def _result(plan: _Plan, box: Toolbox, *, interrupted: bool = False) -> ToolResult:
    """The stored result of a call (and its record for ``--json``). One the turn's stop
    left without an outcome is interrupted ``while running`` if it had started, else
    ``before it ran`` (``info["interrupted"]``)."""
    info: dict[str, object] = {}
    if plan.outcome is not None:
        outcome = plan.outcome
    elif interrupted and plan.seconds is not None:  # it had started: it may have had effects
        outcome, info["interrupted"] = Outcome(INTERRUPTED_RUNNING, error=True), "while running"
    elif interrupted:
        outcome, info["interrupted"] = Outcome(INTERRUPTED, error=True), "before it ran"
    else:
        outcome = Outcome(DECLINED, error=True)
    approved = plan.verdict is not None and plan.verdict.approved
    name = plan.name or plan.call.name
    how = plan.verdict.how if plan.verdict is not None else "not run"
    info = {"name": name, "approved": approved, "how": how, **info}
    if plan.seconds is not None:
        info["duration_ms"] = round(plan.seconds * 1000)
    if outcome.error:
        info["error"] = True
    if plan.cut_from is not None:
        info["cut_from_tokens"] = plan.cut_from
    box.calls.append(
        CallRecord(
            name, plan.call.arguments, outcome.text, plan.seconds, approved, how, outcome.error
        )
    )
    return ToolResult(plan.call.id, outcome.text, info)


def stopped_at_calls(calls: list[CallRecord]) -> str:
    """What a turn interrupted at its tool calls (the approval question, a call running)
    kept, for the REPL to say: the calls interrupted while running (they may have had
    effects), those not run, and no reply."""

    def named(result: str, what: str) -> str:
        names = ", ".join(dict.fromkeys(c.name for c in calls if c.result == result))
        return f"{names} {'were' if ', ' in names else 'was'} {what}" if names else ""

    said = [named(INTERRUPTED_RUNNING, STOPPED_RUNNING), named(INTERRUPTED, "not run")]
    said = [part for part in said if part]
    if not said:
        return "interrupted after the tool calls, before any reply; the calls are kept"
    return f"interrupted: {'; '.join(said)}; no reply was given (kept as interrupted)"
