"""One line of a provider's batch output or error file -> that request's result and usage.

A provider's (or a relay's) file may hold anything: a line that is not JSON, ``choices`` that
is a string, a ``message`` that is a list, ``usage`` counts of ``"12"`` or ``-5``, a ``model``
that is an object. The answer body is read by the same shape-checked parser as ``ask``'s
(``providers.answers``), so one bad line becomes one failed request naming the problem and
every other answer is collected. Usage that is missing, negative or absurd (beyond the model's
context window: ``guards.implausible``, the rule streamed answers are judged by) is estimated
from the text (and marked so), never logged as is: a cost is never negative. A line of a request on
the Responses API is read by that protocol's parser (``providers.responses.whole_events``).

How an answer ended decides whether it counts (``ending``, the same for both APIs and for the
local runner): cut at the token limit (``incomplete``: ``max_output_tokens``), stopped by the
content filter or refused by the model makes the request failed with that reason (``batch
retry`` sends it again); its tokens are logged all the same, since they are billed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Container, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from chatcli.errors import APIError
from chatcli.events import Finish, StreamEvent, TextDelta, Usage
from chatcli.safetext import one_line
from chatcli.store.jobs import RequestResult
from chatcli.store.records import UsageRecord


class UsageFor(Protocol):
    """(model, "ok" | "error", the request's usage) -> usage-log entry, and each model's
    context window (None: unknown), which a report is judged against."""

    def __call__(self, model: str, status: str, usage: Usage, /) -> UsageRecord: ...

    def window(self, model: str, /) -> int | None: ...


_CUSTOM_ID = re.compile(r'"custom_id"\s*:\s*"r(\d+)"')


@dataclass(frozen=True)
class Unreadable:
    """A line that names no request of this part: why it could not be used."""

    problem: str


def _idx(value: Any) -> int | None:
    if not isinstance(value, str) or not re.fullmatch(r"r\d{1,12}", value):
        return None
    return int(value[1:])


def _shown(value: Any) -> str:
    return one_line(json.dumps(value, ensure_ascii=False, default=str), 60)


def read_line(
    line: str,
    models: dict[int, str],
    sizes: dict[int, int],
    usage_for: UsageFor,
    responses: Container[int] = (),
) -> tuple[RequestResult, UsageRecord | None] | Unreadable:
    """The result of the request ``line`` answers; ``sizes`` (request line lengths) give the
    prompt estimate when the usage report cannot be used; ``responses`` are the requests made
    on the Responses API."""
    try:
        obj = json.loads(line)
    except ValueError:
        found = _CUSTOM_ID.search(line)  # a broken line may still say whose it is
        idx = int(found.group(1)) if found else None
        if idx is None or idx not in models:
            return Unreadable(f"a line that is not JSON: {one_line(line, 60)!r}")
        return _failed(idx, "the provider's line for it is not JSON"), None
    if not isinstance(obj, dict):
        return Unreadable(f"a line that is not a JSON object: {_shown(obj)}")
    idx = _idx(obj.get("custom_id"))
    if idx is None or idx not in models:
        return Unreadable(
            f"a line for no request of this job: custom_id {_shown(obj.get('custom_id'))}"
        )
    response, error = obj.get("response"), obj.get("error")
    if response is not None and not isinstance(response, dict):
        return _failed(idx, f"malformed batch line: `response` is {_shown(response)}"), None
    response = response or {}
    body, status = response.get("body"), response.get("status_code")
    if body is not None and not isinstance(body, dict):
        return _failed(idx, f"malformed batch line: `response.body` is {_shown(body)}"), None
    if error or status != 200 or body is None:
        detail = error if error else (body or {}).get("error")
        text = _error_text(detail) or f"HTTP {one_line(str(status), 20)}"
        reported = None if idx in responses else _chat_usage(body)
        return _failed(idx, text), _usage(models[idx], "error", reported, usage_for)
    return _answer(idx, models[idx], body, sizes.get(idx, 0), usage_for, idx in responses)


def _chat_usage(body: dict[str, Any] | None) -> Usage | None:
    from chatcli.providers.answers import usage

    return usage((body or {}).get("usage"))


def _events(body: dict[str, Any], responses: bool) -> Iterator[StreamEvent]:
    if responses:
        from chatcli.providers.responses import whole_events as responses_events

        return responses_events(body, tools_offered=True)
    from chatcli.providers.answers import whole_events

    return whole_events(body)


def ending(finish: Finish | None) -> str | None:
    """Why an answer that arrived does not count (None: it does), for both APIs."""
    reason = finish.reason if finish is not None else None
    if reason == "length":
        return (
            "the answer was cut at the token limit (finish_reason length / incomplete: "
            "max_output_tokens); raise max_tokens and submit it again"
        )
    if reason == "content_filter":
        return "the answer was stopped by the provider's content filter"
    if reason == "refusal" and finish is not None:
        return f"the model refused: {one_line(finish.refusal or '', 300)}"
    return None


def _answer(
    idx: int, model: str, body: dict[str, Any], size: int, usage_for: UsageFor, responses: bool
) -> tuple[RequestResult, UsageRecord | None]:
    text, finish, reported = "", None, None
    try:
        for event in _events(body, responses):
            if isinstance(event, TextDelta):
                text += event.text
            elif isinstance(event, Usage):
                reported = event
            elif isinstance(event, Finish):
                finish = event
    except APIError as exc:  # wrong types anywhere in the answer, a failed response
        reported = None if responses else _chat_usage(body)
        return _failed(idx, exc.message), _usage(model, "error", reported, usage_for)
    problem = ending(finish)
    status = "ok" if problem is None else "error"
    record = _usage(model, status, reported, usage_for, guess=(text, size))
    assert record is not None
    return RequestResult(
        idx,
        ok=problem is None,
        answer=text,
        served_model=finish.model if finish else None,
        finish_reason=finish.reason if finish else None,
        prompt_tokens=record.prompt_tokens,
        completion_tokens=record.completion_tokens,
        cost_usd=record.cost_usd,
        error=problem,
        cached_tokens=record.cached_tokens,
        reasoning_tokens=record.reasoning_tokens,
    ), record


def _usage(
    model: str,
    status: str,
    reported: Usage | None,
    usage_for: UsageFor,
    *,
    guess: tuple[str, int] | None = None,
) -> UsageRecord | None:
    """The usage entry: the report when it is plausible, else an estimate from ``guess`` (the
    answer, and the request line's length for the prompt); none for a failed request that
    reported nothing usable."""
    from chatcli.providers.guards import implausible
    from chatcli.tokens import estimate

    framing = 150  # custom_id, method, url and the body's keys around the messages
    size = guess[1] if guess is not None else 0
    if reported is not None and not implausible(
        reported, model, usage_for.window(model), lambda: max(1, (size - framing) // 4)
    ):
        return usage_for(model, status, reported)
    if guess is None:
        return None
    text = guess[0]
    return usage_for(model, status, Usage(max(1, (size - framing) // 4), estimate(text), True))


def _failed(idx: int, error: str) -> RequestResult:
    return RequestResult(idx, ok=False, error=error)


def _error_text(detail: Any) -> str | None:
    if isinstance(detail, dict):
        code, message = detail.get("code"), detail.get("message")
        code = code if isinstance(code, str | int) else None
        message = message if isinstance(message, str) else code
        return (
            f"{message} ({code})"
            if code and message != code
            else one_line(str(message or ""), 300) or None
        )
    if isinstance(detail, str):
        return one_line(detail, 300) or None
    return _shown(detail) if detail else None
