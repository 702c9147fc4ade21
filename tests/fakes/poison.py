"""A fake whose every text field carries terminal escape sequences and the key.

With ``FakeOpenAI.poison`` set, each answer of the fake is rewritten on its way out: in JSON
bodies and SSE chunks every string value that is text (not an id, a status or another
structural field a client must understand) gets ``POISON`` appended; plain-text bodies (text,
srt, vtt transcripts) get it on each line. Property tests then check that none of it reaches
stdout, stderr or a terminal.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.fakes.server import DEFAULT_API_KEY

MARK = "PWNED"
POISON = (
    f" \x1b]0;{MARK}\x07\x1b[2J\x1b[31;5m\x1bP{MARK}\x1b\\\x9b6n\x07 \u202e{MARK}\u202c"
    f" {DEFAULT_API_KEY}"
)
"""Title change, screen clear, colour and blink, a DCS string, a C1 CSI, a bell, a bidi
override, and the key."""

SIGNS = ("\x1b]", "\x1b[2J", "\x1b[31;5m", "\x1bP", "\x9b", "\u202e", DEFAULT_API_KEY)
"""What must not appear in anything chatcli shows (``MARK`` may: as the text of an escape
written out harmlessly, ``\\u001b]0;PWNED`` in JSON)."""

_STRUCTURAL = {
    "object", "role", "finish_reason", "status", "custom_id", "input_file_id",
    "output_file_id", "error_file_id", "endpoint", "completion_window", "url", "b64_json",
    "purpose", "type", "filename", "method", "task", "language", "created", "owned_by",
    "code", "param", "system_fingerprint", "request_id", "arguments", "name",
}  # fmt: skip


def poison_value(value: Any, key: str = "", parent: str = "") -> Any:
    """``value`` with ``POISON`` appended to its text strings."""
    if isinstance(value, dict):
        kind = value.get("object")
        return {k: poison_value(v, k, str(kind or parent)) for k, v in value.items()}
    if isinstance(value, list):
        return [poison_value(v, key, parent) for v in value]
    if isinstance(value, str):
        if key in _STRUCTURAL or (key == "id" and parent != "model"):
            return value
        return value + POISON
    return value


def poison_body(body: bytes, content_type: str) -> bytes:
    """A whole body, poisoned by its type (binary bodies pass unchanged)."""
    if "json" in content_type or body.lstrip().startswith(b"{"):
        try:
            obj = json.loads(body)
        except ValueError:
            lines = body.decode("utf-8", "replace").splitlines()
            try:
                objs = [json.loads(line) for line in lines if line.strip()]
            except ValueError:
                return body
            out = [json.dumps(poison_value(o), ensure_ascii=False) for o in objs]
            return ("\n".join(out) + "\n").encode()
        return json.dumps(poison_value(obj), ensure_ascii=False).encode()
    if content_type.startswith("text/") and "event-stream" not in content_type:
        text = body.decode("utf-8", "replace")
        return re.sub(
            r"(?m)^(?!\d+$|WEBVTT|[\d:.,]+ --> )(.+)$", lambda m: m.group(1) + POISON, text
        ).encode()
    return body


def poison_chunk(data: bytes) -> bytes:
    """One SSE write: ``data:`` lines with JSON poisoned."""
    out = []
    for line in data.split(b"\n"):
        if line.startswith(b"data: ") and line[6:].strip() not in (b"[DONE]", b""):
            try:
                obj = json.loads(line[6:])
            except ValueError:
                out.append(line)
                continue
            line = b"data: " + json.dumps(poison_value(obj), ensure_ascii=False).encode()
        out.append(line)
    return b"\n".join(out)
