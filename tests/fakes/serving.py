"""What the fake says about the model it serves: a substitute's name and its token counts.

``FakeOpenAI.serve_model`` set: every chat answer names that model (a relay substituting a
cheaper one) and counts ``usage.prompt_tokens`` as that model's API would: its real tokenizer
(through bpe-openai's own Rust encoder, independent of chatcli's tiktoken path) and OpenAI's chat
framing (3 per message + 1 per name + 3 priming). ``FakeOpenAI.exact_usage`` set: the same exact
count for the model asked for (an honest endpoint). A substitute also drops what the official API
has and resellers usually lack: ``system_fingerprint`` and ``logprobs``.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any


def encoding_for(model: str) -> str | None:
    """The tokenizer a model name implies, or None for names that are not OpenAI's."""
    base = model.rsplit("/", 1)[-1]
    if base.startswith(("gpt-4o", "gpt-4.1", "gpt-5", "gpt-6", "o1", "o3", "o4")):
        return "o200k_base"
    if base.startswith(("gpt-3.5", "gpt-4")):
        return "cl100k_base"
    return None


@functools.cache
def _encoder(name: str) -> Any:
    import bpe_openai

    with warnings.catch_warnings():  # its data loader uses a deprecated importlib call
        warnings.simplefilter("ignore", DeprecationWarning)
        encoding = bpe_openai.get_encoding(name)
        encoding.encode("warm up")  # the table is read on first use
    return encoding


def prompt_tokens(req: dict[str, Any], model: str) -> int | None:
    """OpenAI's count of the request's messages for ``model``, or None when unknown."""
    name = encoding_for(model)
    if name is None:
        return None
    enc = _encoder(name)
    total = 3
    for message in req.get("messages") or ():
        if not isinstance(message, dict):
            continue
        total += 3
        for key, value in message.items():
            if isinstance(value, str):
                total += len(enc.encode(value))
            if key == "name":
                total += 1
    return total


def logprobs(text: str, req: dict[str, Any]) -> dict[str, Any] | None:
    """A ``logprobs`` object for ``text`` when the request asked for one (as the official API)."""
    if not req.get("logprobs"):
        return None
    top = int(req.get("top_logprobs") or 0)
    content = [
        {
            "token": word,
            "logprob": -0.01 * (i + 1),
            "bytes": list(word.encode()),
            "top_logprobs": [{"token": word, "logprob": -0.01 * (i + 1), "bytes": []}] * top,
        }
        for i, word in enumerate(text.split(" ")[:50])
    ]
    return {"content": content, "refusal": None}
