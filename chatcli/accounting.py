"""Turn accounting: what one request used and cost, by one rule for every request chatcli
logs (a conversation's turn in ``session``, over chat completions or the Responses API, in
``ask`` and the REPL; a request of a batch's local runner).

The endpoint's reported usage when there is one; else an estimate by the model's tokenizer,
marked ``estimated``, of everything the request sent and the reply generated:

- the prompt: the messages (tool calls and tool results included), the tool definitions as the
  wire carries them (sent with every request of a tool turn, often thousands of tokens), and
  the schema of a structured answer; none when nothing was answered (a request refused before
  it began used nothing we can know of);
- the completion: the reply's text, its tool calls (names and arguments) and its streamed
  reasoning, which is output the model was paid for too (also counted as ``reasoning_tokens``).

The cost is priced from those counts either way, so a relay that never reports usage still
shows (estimated) spending, and budgets judge it. Before, only the messages and the text were
counted: a tool call's arguments or a reasoning model's thinking came to 0 tokens.

A request that fails is a usage row by one rule too (``logs``), whatever command sent it
(``ask``, ``chat``, ``summarize``, ``transcribe``, ``speak``, ``image``, ``verify``, ``doctor``,
the local batch runner): one the server answered (any status, a body cut or malformed, a
silence after it was sent) is logged, with the tokens the server reported (a 200 without
choices may still say them: the parsers pass them on before the error), else the estimate;
one that never reached the endpoint (``ChatcliError.unsent``: a refused connection, an unknown
host, a TLS certificate or scheme mismatch, a proxy that would not pass it) is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chatcli.events import Usage
from chatcli.pricing import cost_usd
from chatcli.tokens import count_json, count_messages, count_text

if TYPE_CHECKING:
    from chatcli.events import ToolCall
    from chatcli.pricing import ModelInfo
    from chatcli.providers.base import ChatRequest
    from chatcli.store.records import Status, UsageRecord


@dataclass(frozen=True)
class Generated:
    """What a reply generated, as far as it came: text (or the refusal's words), tool calls,
    and the reasoning the endpoint streamed."""

    text: str = ""
    calls: Sequence[ToolCall] = ()
    reasoning: str = ""

    def __bool__(self) -> bool:
        return bool(self.text or self.calls or self.reasoning)


def tools_sent(request: ChatRequest) -> list[Any]:
    """The tool definitions ``request`` sends, as chat completions writes them (a batch
    line's own ``tools`` or legacy ``functions`` included)."""
    tools: list[Any] = [{"type": "function", "function": spec} for spec in request.tools or ()]
    for key in ("tools", "functions"):
        value = request.extra.get(key)
        if isinstance(value, list):
            tools.extend(value)
    return tools


def prompt_tokens(request: ChatRequest, encoding: str | None) -> int:
    """The estimated input of ``request``: messages, tool definitions and answer schema."""
    n = count_messages(request.messages, encoding).n
    tools = tools_sent(request)
    if tools:
        n += count_json(tools, encoding).n
    fmt = request.response_format
    if fmt is not None and not fmt.json_object:
        n += count_json(fmt.schema, encoding).n
    extra = request.extra.get("response_format")
    if isinstance(extra, dict):  # a batch line's own, passed as written
        n += count_json(extra, encoding).n
    return n


def used(
    reported: Usage | None,
    request: ChatRequest,
    reply: Generated,
    encoding: str | None,
    *,
    completed: bool = True,
) -> Usage:
    """The request's usage: ``reported``, or the tokenizer's estimate of it. ``completed``
    False: the request failed or was cut; its prompt is counted only when some of the reply
    had arrived."""
    if reported is not None:
        return reported
    prompt = prompt_tokens(request, encoding) if completed or reply else 0
    thinking = count_text(reply.reasoning, encoding).n
    output = count_text(reply.text, encoding).n + thinking
    for call in reply.calls:
        output += count_text(call.name, encoding).n + count_text(call.arguments, encoding).n
    return Usage(prompt, output, estimated=True, reasoning_tokens=thinking)


def cost(info: ModelInfo, usage: Usage, *, batch: bool = False) -> float | None:
    """What ``usage`` costs at ``info``'s prices (None when a price is unknown)."""
    return cost_usd(
        info, usage.prompt_tokens, usage.completion_tokens,
        cached_tokens=usage.cached_tokens, reasoning_tokens=usage.reasoning_tokens,
        service_tier=usage.service_tier, batch=batch,
    )  # fmt: skip


def logs(exc: BaseException) -> bool:
    """Whether a request that failed with ``exc`` is a row of the usage log: yes when it
    reached the endpoint (the server answered it, any status, cut or not, or went silent
    after it was sent); no when it never did (``ChatcliError.unsent``) or a spent budget
    refused it before it was sent."""
    from chatcli.errors import BudgetExceeded, ChatcliError

    if isinstance(exc, BudgetExceeded):
        return False
    return not (isinstance(exc, ChatcliError) and exc.unsent)


def row(
    info: ModelInfo,
    request: ChatRequest,
    reply: Generated,
    reported: Usage | None,
    *,
    profile: str | None,
    command: str,
    status: Status,
    latency_ms: int | None = None,
    served: str | None = None,
) -> UsageRecord:
    """The usage-log row of one chat request that is not a conversation's turn (``verify``'s
    probes, ``doctor``'s request, a local batch request): ``used`` and ``cost`` by the rules
    above, as ``session`` logs a turn; ``reported``: the usage the server sent, if any."""
    from chatcli.store.records import UsageRecord

    spent = used(reported, request, reply, info.tokenizer, completed=status == "ok")
    return UsageRecord(
        request.model, profile, command, status, spent.prompt_tokens, spent.completion_tokens,
        estimated=spent.estimated, cost_usd=cost(info, spent), latency_ms=latency_ms,
        served_model=served, cached_tokens=spent.cached_tokens,
        reasoning_tokens=spent.reasoning_tokens,
    )  # fmt: skip
