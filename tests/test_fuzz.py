"""Property-based tests (hypothesis) of everything that reads what a server or a user wrote:
the stream and body parsers, the SSE reader, the Retry-After parser and the config loader.

The property is the same everywhere: any input gives a result or a chatcli error with an exit
code, never another exception; usage is never negative; waits are never NaN or negative.
``CHATCLI_FUZZ_EXAMPLES`` raises the number of examples per test (default 100: see conftest).
"""

from __future__ import annotations

import math
import string
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatcli.errors import APIError, ConfigError, NetworkError
from chatcli.events import Finish, Notice, ReasoningDelta, TextDelta, Thought, Usage
from chatcli.providers.answers import MAX_TOKENS_REPORTED, stream_events, whole_events
from chatcli.providers.errorbody import parse as parse_error
from chatcli.providers.transport import sse_payloads
from chatcli.providers.waits import retry_after
from chatcli.settings import loading

FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**31), max_value=10**31)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def shaped(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``value`` or anything else: chunk fields that are usually right and sometimes not."""
    return st.one_of(value, json_values)


deltas = st.fixed_dictionaries(
    {},
    optional={
        "content": shaped(st.text(max_size=10)),
        "reasoning_content": shaped(st.text(max_size=5)),
        "role": shaped(st.just("assistant")),
    },
)
choices = st.fixed_dictionaries(
    {},
    optional={
        "delta": shaped(deltas),
        "message": shaped(deltas),
        "finish_reason": shaped(st.sampled_from(["stop", "length", None])),
        "index": shaped(st.integers(0, 3)),
    },
)
usages = st.fixed_dictionaries(
    {},
    optional={
        "prompt_tokens": shaped(st.integers(-5, 10**31)),
        "completion_tokens": shaped(st.integers(-5, 10**31)),
    },
)
chunks = st.fixed_dictionaries(
    {},
    optional={
        "choices": shaped(st.lists(shaped(choices), max_size=3)),
        "model": shaped(st.text(max_size=10)),
        "usage": shaped(usages),
    },
)


def _check_events(events: list[Any]) -> None:
    for event in events:
        # reasoning (streamed or in a whole answer: DeepSeek's reasoning_content) is an event too
        assert isinstance(event, TextDelta | ReasoningDelta | Thought | Usage | Finish | Notice)
        if isinstance(event, ReasoningDelta | Thought):
            assert isinstance(
                event.text if isinstance(event, ReasoningDelta) else event.reasoning, str
            )
        if isinstance(event, Usage):
            assert 0 <= event.prompt_tokens <= MAX_TOKENS_REPORTED
            assert 0 <= event.completion_tokens <= MAX_TOKENS_REPORTED
        if isinstance(event, TextDelta):
            assert isinstance(event.text, str)
        if isinstance(event, Finish):
            assert event.reason is None or isinstance(event.reason, str)
            assert event.model is None or isinstance(event.model, str)


@FUZZ
@given(st.lists(shaped(chunks), max_size=5))
def test_stream_parser_never_crashes(stream: list[Any]) -> None:
    try:
        events = list(stream_events(stream))
    except (APIError, NetworkError) as exc:
        assert exc.message and "\n" not in exc.message
        return
    _check_events(events)
    assert isinstance(events[-1], Finish)


@FUZZ
@given(
    shaped(
        st.fixed_dictionaries(
            {},
            optional={
                "choices": shaped(st.lists(shaped(choices))),
                "model": shaped(st.text(max_size=5)),
                "usage": shaped(usages),
            },
        )
    )
)
def test_body_parser_never_crashes(body: Any) -> None:
    try:
        events = list(whole_events(body))
    except APIError as exc:
        assert exc.message and "\n" not in exc.message
        return
    _check_events(events)


line_text = st.text(st.characters(blacklist_characters="\r\n"), max_size=15)
sse_lines = st.lists(
    st.one_of(
        st.just(""),
        st.just("data: [DONE]"),
        st.builds(lambda t: "data: " + t, line_text),
        st.builds(lambda t: "data:" + t, line_text),
        st.sampled_from([": keep-alive", "event: message", "id: 3", "retry: 10"]),
        line_text,
    ),
    max_size=12,
)


@FUZZ
@given(sse_lines)
def test_sse_reader_yields_only_data_payloads(lines: list[str]) -> None:
    payloads = list(sse_payloads(iter(lines)))
    data = [ln.removeprefix("data:").removeprefix(" ") for ln in lines if ln.startswith("data:")]
    for payload in payloads:
        assert payload.strip() != "[DONE]"
        assert all(part in data for part in payload.split("\n"))
    done_at = next(
        (i for i, ln in enumerate(lines) if ln.startswith("data:") and ln[5:].strip() == "[DONE]"),
        None,
    )
    if done_at is None:
        joined = "\n".join(payloads)
        assert all(d in joined for d in data)


header_values = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["inf", "-inf", "nan", "1e999", "-5", "0", "1.5", "99999999999", "  7 "]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.datetimes().map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S GMT")),
    st.integers(-(10**20), 10**20).map(str),
)
header_names = st.sampled_from(
    ["Retry-After", "retry-after-ms", "llm_provider-retry-after", "x-other", "RETRY-AFTER"]
)


@FUZZ
@given(st.dictionaries(header_names, header_values, max_size=3))
def test_retry_after_parser_is_none_or_a_non_negative_wait(headers: dict[str, str]) -> None:
    wait = retry_after(headers, now=1_700_000_000.0)
    assert wait is None or (not math.isnan(wait) and wait >= 0)


@FUZZ
@given(
    st.binary(max_size=200), st.sampled_from([None, "application/json", "image/png", "text/html"])
)
def test_error_bodies_become_one_safe_line(raw: bytes, content_type: str | None) -> None:
    body = parse_error(raw, content_type)
    assert body.message and "\n" not in body.message and "\x1b" not in body.message
    assert len(body.message) <= 600


keys = st.sampled_from(
    [
        "model", "temperature", "max_tokens", "timeout", "max_retries", "max_retry_wait",
        "markdown", "type", "base_url", "endpoint", "api_version", "proxy",
        "requests_per_minute", "stream_usage", "context_window", "api_key", "bogus",
    ]
)  # fmt: skip
toml_values = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(string.printable, max_size=20),
    st.sampled_from(["relay", "azure", "openai", "http://h/v1", "http://[::1/v1", "auto"]),
)
tables = st.dictionaries(keys, toml_values, max_size=5)
configs = st.fixed_dictionaries(
    {},
    optional={
        "default_profile": st.sampled_from(["r", "x"]) | toml_values,
        "defaults": tables | toml_values,
        "profiles": st.dictionaries(st.sampled_from(["r", "a b", "x"]), tables, max_size=2),
        "models": st.dictionaries(st.sampled_from(["m", "gpt-4o"]), tables, max_size=2),
        "aliases": st.dictionaries(st.text(max_size=5), toml_values, max_size=2),
        "roles": st.dictionaries(st.text(max_size=5), tables, max_size=2),
    },
)


@FUZZ
@given(configs)
def test_config_loader_gives_config_or_config_error(tmp_path: Path, data: dict[str, Any]) -> None:
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    try:
        cfg = loading.load(path, must_exist=True)
    except ConfigError as exc:
        assert exc.message.startswith(str(path))
        return
    for profile in cfg.profiles.values():
        assert math.isfinite(profile.timeout) and profile.timeout > 0
        assert 0 <= profile.max_retries <= 100
        assert profile.temperature is None or 0 <= profile.temperature <= 2
        assert profile.max_tokens is None or profile.max_tokens >= 1
