"""A reply kind for hostile or strange servers: any status, headers, body bytes or SSE chunks.

``Raw`` answers exactly what a test says, so tests can send shapes no real provider documents
(``choices: [1]``, an escape sequence in an error, a PNG as an error body, ``Retry-After: inf``)
and check that chatcli turns them into clean errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Raw:
    """``chunks`` streamed as SSE events (JSON values; strings are sent verbatim), then
    ``[DONE]`` unless ``cut``; or else ``body`` (``body_hex`` for bytes) with ``status``,
    ``content_type`` and ``headers``."""

    status: int = 200
    body: str = ""
    body_hex: str | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[Any] | None = None
    cut: bool = False
    delay: float = 0.0


def serve_raw(handler: Any, item: Raw) -> None:
    """Answer ``item`` through the fake server's request handler."""
    if item.chunks is None:
        body = bytes.fromhex(item.body_hex) if item.body_hex is not None else item.body.encode()
        handler._send_bytes(item.status, body, item.content_type, item.headers)
        return
    handler._start_stream()
    for chunk in item.chunks:
        payload = chunk if isinstance(chunk, str) else json.dumps(chunk, ensure_ascii=False)
        handler._write_chunk(f"data: {payload}\n\n".encode())
    if item.cut:
        handler._cut()
        return
    handler._write_chunk(b"data: [DONE]\n\n")
    handler._end_stream()
