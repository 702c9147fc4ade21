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
    ``[DONE]`` unless ``cut``; or ``lines`` written as they are (each with a newline, every
    ``interval`` seconds, byte by byte with ``drip``: keep-alive comments, ``event:`` fields,
    a slow server); or else ``body`` (``body_hex`` for bytes) with ``status``,
    ``content_type`` and ``headers``; ``bomb`` > 0 sends a gzip body (``Content-Encoding:
    gzip``) that expands to that many zero bytes."""

    status: int = 200
    body: str = ""
    body_hex: str | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[Any] | None = None
    cut: bool = False
    delay: float = 0.0
    lines: list[str] | None = None
    interval: float = 0.0
    drip: bool = False
    bomb: int = 0
    drip_headers: bool = False  # the status line and headers too, a byte every ``interval``


def gzip_bomb(size: int) -> bytes:
    """Concatenated gzip members of 1 MiB of zeros each (about 1 KiB apiece): ``size`` bytes
    once inflated, built in milliseconds."""
    import gzip

    member = gzip.compress(bytes(min(size, 1 << 20)), compresslevel=9)
    return member * max(1, size // (1 << 20))


def serve_raw(handler: Any, item: Raw) -> None:
    """Answer ``item`` through the fake server's request handler."""
    if item.lines is not None and item.drip_headers:
        head = f"HTTP/1.1 {item.status} OK\r\nContent-Type: {item.content_type}\r\n"
        for byte in [bytes([b]) for b in head.encode()]:
            handler._sleep(item.interval)
            handler.wfile.write(byte)
            handler.wfile.flush()
        handler.close_connection = True
        return
    if item.lines is not None:
        handler.send_response(item.status)
        handler.send_header("Content-Type", item.content_type)
        for key, value in item.headers.items():
            handler.send_header(key, value)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for line in item.lines:
            data = (line + "\n").encode()
            for piece in [data[i : i + 1] for i in range(len(data))] if item.drip else [data]:
                handler._sleep(item.interval)
                handler._write_chunk(piece)
        if item.cut:
            handler._cut()
            return
        handler._end_stream()
        return
    if item.chunks is None:
        if item.bomb:
            headers = {"Content-Encoding": "gzip", **item.headers}
            handler._send_bytes(item.status, gzip_bomb(item.bomb), item.content_type, headers)
            return
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
