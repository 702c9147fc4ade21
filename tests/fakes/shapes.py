"""Hypothesis strategies for spec-shaped answers of every route: the field names of the OpenAI
API with values of the right type most of the time and of any type otherwise.

A hostile or broken server rarely invents new field names; it sends ``"choices": {}``,
``"content": 7``, ``"usage": {"prompt_tokens": -1e308}``, ``"data": [null]``. These strategies
make such bodies, for ``tests/test_prop_hostile_shapes.py``.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
anything: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def maybe(right: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually ``right``, sometimes anything at all."""
    return st.one_of(right, right, right, anything)


def fields(required: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """An object with these fields (each possibly of the wrong type, or missing)."""
    return st.fixed_dictionaries({}, optional={k: maybe(v) for k, v in required.items()})


text = st.text(max_size=40)
count = st.integers(min_value=-5, max_value=10**12)
usage = fields({"prompt_tokens": count, "completion_tokens": count, "total_tokens": count})
finish = st.sampled_from(["stop", "length", "content_filter", "tool_calls", "error", "refusal"])
tool_call = fields(
    {"id": text, "type": st.just("function"),
     "function": fields({"name": text, "arguments": text})}
)  # fmt: skip
message = fields(
    {"role": st.just("assistant"), "content": text, "refusal": st.none() | text,
     "tool_calls": st.lists(tool_call, max_size=2), "reasoning_content": text}
)  # fmt: skip
choice = fields(
    {"index": st.integers(0, 2), "message": message, "finish_reason": finish,
     "logprobs": anything}
)  # fmt: skip
completion = fields(
    {"id": text, "object": st.just("chat.completion"), "model": text,
     "choices": st.lists(choice, max_size=3), "usage": usage,
     "system_fingerprint": text, "error": fields({"message": text, "code": text})}
)  # fmt: skip
delta_choice = fields({"index": st.integers(0, 2), "delta": message, "finish_reason": finish})
chunk = fields(
    {"id": text, "object": st.just("chat.completion.chunk"), "model": text,
     "choices": st.lists(delta_choice, max_size=2), "usage": usage}
)  # fmt: skip
model_list = fields(
    {"object": st.just("list"),
     "data": st.lists(fields({"id": text, "object": st.just("model"), "owned_by": text}),
                      max_size=4)}
)  # fmt: skip
transcript = fields(
    {"text": text, "language": text, "duration": st.floats(allow_nan=True),
     "segments": st.lists(fields({"start": st.floats(), "end": st.floats(), "text": text}),
                          max_size=2)}
)  # fmt: skip
images = fields(
    {"created": count,
     "data": st.lists(fields({"b64_json": text, "url": text, "revised_prompt": text}),
                      max_size=2)}
)  # fmt: skip
billing = st.fixed_dictionaries(
    {"subscription": maybe(fields({"hard_limit_usd": st.floats(allow_nan=True),
                                   "system_hard_limit_usd": st.floats(),
                                   "access_until": count})),
     "usage": maybe(fields({"total_usage": st.floats(allow_nan=True)}))}
)  # fmt: skip


def dumps(value: Any) -> str:
    """JSON as a lax server writes it (NaN and Infinity included)."""
    return json.dumps(value, ensure_ascii=False)


@st.composite
def sse_lines(draw: st.DrawFn) -> list[str]:
    """A stream: chunks, sometimes an ``event: error``, keep-alives, a ``[DONE]`` or none."""
    lines: list[str] = []
    for item in draw(st.lists(chunk, min_size=0, max_size=4)):
        if draw(st.booleans()) and draw(st.booleans()):
            lines.append(": keep-alive")
        if draw(st.integers(0, 9)) == 0:
            lines.append("event: error")
        lines += [f"data: {dumps(item)}", ""]
    if draw(st.booleans()):
        lines += ["data: [DONE]", ""]
    return lines
