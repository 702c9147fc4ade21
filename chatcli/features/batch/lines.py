"""One line of a provider's batch output or error file -> that request's result and usage.

A provider's (or a relay's) file may hold anything: a line that is not JSON, ``choices`` that
is a string, a ``message`` that is a list, ``usage`` counts of ``"12"`` or ``-5``, a ``model``
that is an object. The answer body is read by the same shape-checked parser as ``ask``'s
(``providers.answers``), so one bad line becomes one failed request naming the problem and
every other answer is collected. Usage that is missing, negative or absurd is estimated from
the text (and marked so), never logged as is: a cost is never negative.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chatcli.errors import APIError
from chatcli.safetext import one_line
from chatcli.store.jobs import RequestResult
from chatcli.store.records import UsageRecord

UsageFor = Callable[[str, str, int, int, bool], UsageRecord]
"""(model, "ok" | "error", prompt tokens, completion tokens, estimated) -> usage-log entry."""

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
    line: str, models: dict[int, str], sizes: dict[int, int], usage_for: UsageFor
) -> tuple[RequestResult, UsageRecord | None] | Unreadable:
    """The result of the request ``line`` answers; ``sizes`` (request line lengths) give the
    prompt estimate when the usage report cannot be used."""
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
        return _failed(idx, text), _usage(
            models[idx], "error", body or {}, "", sizes.get(idx, 0), usage_for, reported_only=True
        )
    return _answer(idx, models[idx], body, sizes.get(idx, 0), usage_for)


def _answer(
    idx: int, model: str, body: dict[str, Any], size: int, usage_for: UsageFor
) -> tuple[RequestResult, UsageRecord | None]:
    from chatcli.events import Finish, TextDelta
    from chatcli.providers.answers import whole_events

    text, finish = "", None
    try:
        for event in whole_events(body):
            if isinstance(event, TextDelta):
                text += event.text
            elif isinstance(event, Finish):
                finish = event
    except APIError as exc:  # wrong types anywhere in the answer, a refusal, no choices
        record = _usage(model, "error", body, "", size, usage_for, reported_only=True)
        return _failed(idx, exc.message), record
    record = _usage(model, "ok", body, text, size, usage_for)
    assert record is not None
    return RequestResult(
        idx,
        ok=True,
        answer=text,
        served_model=finish.model if finish else None,
        finish_reason=finish.reason if finish else None,
        prompt_tokens=record.prompt_tokens,
        completion_tokens=record.completion_tokens,
        cost_usd=record.cost_usd,
    ), record


def _usage(
    model: str,
    status: str,
    body: dict[str, Any],
    text: str,
    size: int,
    usage_for: UsageFor,
    *,
    reported_only: bool = False,
) -> UsageRecord | None:
    """The usage entry: the report when it is plausible, else an estimate (prompt from the
    request's length, completion from the answer); failed requests only when reported."""
    from chatcli.providers.answers import usage
    from chatcli.tokens import estimate

    reported = usage(body.get("usage"))
    if reported is not None:
        return usage_for(model, status, reported.prompt_tokens, reported.completion_tokens, False)
    if reported_only:
        return None
    framing = 150  # custom_id, method, url and the body's keys around the messages
    return usage_for(model, status, max(1, (size - framing) // 4), estimate(text), True)


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
