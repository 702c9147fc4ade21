"""Which API a batch job's requests go to: Chat Completions, or the Responses API.

A profile on the Responses API (``providers.wire``: ``api = "responses"``, or ``auto`` on an
``openai`` profile) sends its batch lines to ``/v1/responses`` with Responses bodies. Lines are
stored in the chat form whatever the route, marked with ``chatcli_responses`` (the ``store``
flag and whether the model takes completion-style parameters), and turned into the provider's
form only when a file is uploaded or written by ``--dry-run`` (``wire_line``): so the local
runner sends any line through ``provider.chat`` (which speaks the profile's protocol and reads
its answers), ``batch retry`` copies lines unchanged, and an endpoint whose Batch API refuses
the Responses route gets the very same requests as chat lines (``as_chat``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chatcli.settings.loading import Profile
    from chatcli.store import Store

MARK = "chatcli_responses"
_MARK = f'"{MARK}"'


def on_responses(profile: Profile, model: str, store: Store | None) -> bool:
    """Whether ``profile``'s batch requests for ``model`` go over the Responses API
    (``providers.wire.batch_over_responses``: ``api = "responses"``; with ``auto``, the
    official API on an ``openai`` profile, or a model learnt to be Responses-only)."""
    from chatcli.providers.wire import batch_over_responses

    return batch_over_responses(profile, model, store)


def mark(obj: dict[str, Any], path: str, *, store: bool, completion: bool) -> None:
    """Make the chat-form line ``obj`` a Responses request at ``path`` (``/v1/responses``)."""
    obj["url"] = path
    obj[MARK] = {"store": store, "completion": completion}


def is_responses(line: str) -> bool:
    """Whether a stored line goes to the Responses API (its answer is a Responses body)."""
    return _MARK in line


def wire_line(line: str) -> str:
    """The line as the provider gets it: chatcli's own keys taken off, a Responses line's
    chat-form body turned into the Responses body (``providers.responses.body``), and on one
    line for every reader (``_one_line``)."""
    return _one_line(_wire_line(line))


_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})
"""Characters JSON leaves raw in strings but line readers split at (Python's ``splitlines``,
JavaScript's before ES2019): written as escapes, the same value, so a JSONL line stays one."""


def _one_line(text: str) -> str:
    return text.translate(_LINE_BREAKS)


def _wire_line(line: str) -> str:
    from chatcli.features.schema.batch import wire_line as without_schema

    if not is_responses(line):
        return without_schema(line)
    from chatcli.features.batch.local import request_of
    from chatcli.features.schema.batch import KEY
    from chatcli.providers.responses import body

    obj = json.loads(line)
    flags = obj.pop(MARK)
    obj.pop(KEY, None)
    request = request_of(str(obj["body"].get("model") or ""), line)
    obj["body"] = body(
        request,
        send_model=True,
        store=bool(flags.get("store")),
        completion=bool(flags.get("completion")),
    )
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def as_chat(line: str, chat_path: str) -> str:
    """A Responses line as the same request on Chat Completions (``chat_path``)."""
    if not is_responses(line):
        return line
    obj = json.loads(line)
    obj.pop(MARK)
    obj["url"] = chat_path
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
