"""One turn with tools: the model asks for calls, chatcli runs them, the model goes on.

A round is one request; when its reply asks for tool calls, each is approved (or declined),
the approved ones run concurrently, every result (errors and refusals included, so the model
can recover) is stored in the session, and the next round is sent, up to ``max_rounds``
rounds of calls; after that the model is asked, once, to answer without tools (calls it still
asks for then are answered "not run" and the turn ends: a model or endpoint that ignores
``tool_choice: "none"`` cannot keep a turn, and its bill, going). Each request is
priced and logged by the session like any other; ``before_round`` checks budgets between
rounds. Ctrl-C during a call cancels it and stops the turn: results that arrived are kept, the
others are stored as interrupted, so the conversation stays valid for the next message.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace

from chatcli.events import Notice, StreamEvent, TextDelta, ToolCall, ToolNote
from chatcli.features.tools import results
from chatcli.features.tools.approval import Verdict
from chatcli.features.tools.mcp import Dead, Outcome
from chatcli.features.tools.registry import Tool
from chatcli.features.tools.toolbox import CallRecord, Toolbox
from chatcli.session import ChatSession, ToolResult, TurnResult

DECLINED = "the user declined to run this tool call"
INTERRUPTED = "not run: the user interrupted the turn"


@dataclass
class _Plan:
    call: ToolCall
    tool: Tool | None
    arguments: dict[str, object] | None
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
        session.last_turn = _total(rounds)
        if not last.calls:
            return
        tool_rounds += 1
        if tool_rounds > box.max_rounds + 1:  # asked once without tools, still asking: stop
            session.add_tool_results(
                [ToolResult(c.id, _LIMIT.format(n=box.max_rounds)) for c in last.calls]
            )
            yield Notice(f"the model still asked for tools after {box.max_rounds} rounds; stopped")
            return
        if tool_rounds > box.max_rounds:
            session.add_tool_results(
                [ToolResult(c.id, _LIMIT.format(n=box.max_rounds)) for c in last.calls]
            )
            yield Notice(
                f"{box.max_rounds} tool rounds reached (--max-tool-rounds); "
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


_LIMIT = "not run: the limit of {n} tool rounds per turn was reached; answer with what you have"


def _total(rounds: list[TurnResult]) -> TurnResult:
    """One TurnResult for all rounds so far."""
    last = rounds[-1]
    costs = [r.cost_usd for r in rounds]
    return replace(
        last,
        text="\n\n".join(r.text for r in rounds if r.text),
        reasoning="\n\n".join(r.reasoning for r in rounds if r.reasoning),
        prompt_tokens=sum(r.prompt_tokens for r in rounds),
        completion_tokens=sum(r.completion_tokens for r in rounds),
        estimated=any(r.estimated for r in rounds),
        cost_usd=None if any(c is None for c in costs) else sum(c for c in costs if c is not None),
        ttft=next((r.ttft for r in rounds if r.ttft is not None), None),
        duration=sum(r.duration for r in rounds),
        requests=len(rounds),
    )


def run_calls(
    session: ChatSession, calls: tuple[ToolCall, ...], box: Toolbox
) -> Generator[StreamEvent, None, list[ToolResult]]:
    """Approve and run one reply's calls (approved ones concurrently); their results in call
    order. Ctrl-C stores what is known, says which calls it stopped (a whole line: the
    "running" notice's in-place line ends first) and propagates."""
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
                yield ToolNote(results.line(plan.tool.qualified, plan.call.arguments, why, None))
        for plan in plans:
            if plan.outcome is None and plan.tool is not None and plan.arguments is not None:
                started[id(plan)] = time.monotonic()
                future = box.hub.submit(plan.tool, plan.arguments, box.timeout)
                futures[future] = plan
        if futures and box.approval.terminal is not None:  # on a terminal: say what runs
            names = ", ".join(p.tool.qualified for p in futures.values() if p.tool is not None)
            yield Notice(f"running {names}… (Ctrl-C stops the turn)", key="tools-running")
        for future in concurrent.futures.as_completed(futures):
            plan = futures[future]
            plan.seconds = time.monotonic() - started[id(plan)]
            try:
                plan.outcome = future.result()
            except Dead as exc:
                plan.outcome = Outcome(f"error: {exc}", error=True)
                yield Notice(str(exc))
            yield from _finish(plan, box)
    except BaseException as exc:
        for future in futures:
            future.cancel()
        session.add_tool_results([_result(p, box, interrupted=True) for p in plans])
        for plan in futures.values():  # whole lines: the "running" notice's line ends first
            if isinstance(exc, KeyboardInterrupt) and plan.outcome is None and plan.tool:
                line = results.line(plan.tool.qualified, plan.call.arguments, "interrupted", None)
                yield ToolNote(line)
        raise
    for plan in plans:
        if plan.tool is None or plan.arguments is None:
            assert plan.outcome is not None
            yield ToolNote(
                results.line(
                    plan.call.name, plan.call.arguments, "refused: " + plan.outcome.text, None
                )
            )
    return [_result(p, box) for p in plans]


def _plan(call: ToolCall, box: Toolbox) -> _Plan:
    """What a call names and carries; a bad name or bad arguments become its result."""
    tool = box.registry.by_wire(call.name)
    if tool is None or tool.qualified not in box.enabled:
        on = ", ".join(box.registry.wire_name(t) for t in box.enabled.values()) or "none"
        text = f"there is no tool {call.name!r} (tools: {on})"
        return _Plan(call, None, None, outcome=Outcome(text, error=True))
    arguments, problem = results.parse_arguments(call.arguments)
    if problem is not None:
        return _Plan(call, tool, None, outcome=Outcome(problem, error=True))
    return _Plan(call, tool, arguments)


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
    """The stored result of a call (and its record for ``--json``)."""
    outcome = plan.outcome or Outcome(INTERRUPTED if interrupted else DECLINED, error=True)
    approved = plan.verdict is not None and plan.verdict.approved
    name = plan.tool.qualified if plan.tool is not None else plan.call.name
    how = plan.verdict.how if plan.verdict is not None else "not run"
    info: dict[str, object] = {"name": name, "approved": approved, "how": how}
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
