"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests and benchmarks.

Why a real server and not mocks: the client must be exercised through the real openai SDK and its
real HTTP stack (httpx2), including SSE parsing, retries, timeouts and socket closes. Everything
here is stdlib only, so the fake also runs as a separate process (``python -m tests.fakes``) for
tmux tests and benchmarks, driven through the ``/_fake/*`` control API.

Scripting: ``FakeOpenAI.script(*replies)`` queues reply kinds (``Reply``, ``Error``, ``CutStream``,
``SilentStream``, ``Malformed``, ``RejectStreamOptions``, ``Delay``); each chat-completion request
consumes one, and the default reply (an echo) is used when the queue is empty.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import dataclasses
import io
import itertools
import json
import random
import re
import select
import socket
import struct
import threading
import time
import wave
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes import serving, structured
from tests.fakes.batches import BatchAPI
from tests.fakes.halting import Halting
from tests.fakes.hostile import Raw, serve_raw

DEFAULT_API_KEY = "sk-test-0123456789abcdef"
DEFAULT_MODELS: tuple[str, ...] = (
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4-1106-preview",
    "o3-mini",
    "deepseek-chat",
    "deepseek-reasoner",
    "claude-3-5-sonnet",
    "qwen-max",
    "glm-4",
    "whisper-1",
    "dall-e-3",
    "text-embedding-3-small",
)
#: What new-api / one-api relays answer on their billing endpoints; set ``FakeOpenAI.billing``.
DEFAULT_BILLING: dict[str, Any] = {
    "subscription": {
        "object": "billing_subscription",
        "has_payment_method": True,
        "hard_limit_usd": 100.0,
        "soft_limit_usd": 100.0,
        "system_hard_limit_usd": 100.0,
        "access_until": 0,
    },
    "usage": {"object": "list", "total_usage": 1234.5},
}
MAX_UPLOAD_BYTES = 25 * 1024 * 1024


# --------------------------------------------------------------------------------------------
# Reply kinds (plain dataclasses so they can be posted as JSON to /_fake/script)
# --------------------------------------------------------------------------------------------


@dataclass
class Reply:
    """A successful chat completion; streamed or not, as the request asks.

    ``text=None`` echoes the last user message (unless ``tool_calls`` is set); ``words=N``
    generates N words of Markdown prose. ``tool_calls`` is a list of ``{"name": ..., "arguments":
    str | dict}``; it switches the default finish_reason to "tool_calls".
    """

    text: str | None = None
    words: int | None = None
    words_per_second: float | None = None
    model: str | None = None
    finish_reason: str = "stop"
    usage: bool = True
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    delay: float = 0.0
    tool_calls: list[dict[str, Any]] | None = None
    reasoning: str | None = None  # streamed first as ``delta.reasoning_content`` (DeepSeek R1)
    cached_tokens: int | None = None  # usage.prompt_tokens_details.cached_tokens
    reasoning_tokens: int | None = None  # usage.completion_tokens_details.reasoning_tokens
    service_tier: str | None = None  # the response's service_tier
    refusal: str | None = None  # the model declines (structured outputs' ``refusal`` field)
    #: Asked for structured output: "valid" (the default) answers a valid instance of the
    #: schema, "invalid" one with its first property of the wrong kind (see structured.py).
    structured: str = "valid"


@dataclass
class Error:
    """An HTTP error in the OpenAI error shape (or an HTML page, as proxies send on 502)."""

    status: int
    message: str = "The server had an error while processing your request. Sorry about that!"
    type: str = "server_error"
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    html: bool = False
    param: str | None = None
    delay: float = 0.0

    @classmethod
    def rate_limit(cls, retry_after: float | int = 1) -> Error:
        """429 with Retry-After, what a rate-limited key gets."""
        return cls(
            429,
            "Rate limit reached for requests. Please try again later.",
            "requests",
            "rate_limit_exceeded",
            {"Retry-After": str(retry_after)},
        )

    @classmethod
    def quota(cls) -> Error:
        """429 insufficient_quota: retrying does not help."""
        return cls(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            "insufficient_quota",
        )


@dataclass
class CutStream:
    """Stream these chunks, then close the socket without finish chunk or [DONE]."""

    text: str = "partial answer that stops"
    delay: float = 0.0


@dataclass
class SilentStream:
    """Stream these chunks, then go silent for ``silence`` seconds before finishing."""

    text: str = "the answer goes quiet"
    silence: float = 30.0
    delay: float = 0.0


@dataclass
class StreamError:
    """Stream these chunks, then an in-band ``data: {"error": {...}}`` event, as relays do."""

    text: str = "the upstream failed after"
    message: str = "upstream error: the model is overloaded"
    type: str = "server_error"
    code: str | None = None
    delay: float = 0.0


@dataclass
class Malformed:
    """Raw garbage; with ``sse=True`` a valid SSE stream holding one malformed ``data:`` line."""

    body: str = "{not json"
    status: int = 200
    content_type: str = "application/json"
    sse: bool = False
    delay: float = 0.0


@dataclass
class RejectStreamOptions:
    """Like relays that refuse ``stream_options``: 400 if present, else the default reply."""

    delay: float = 0.0


@dataclass
class Delay:
    """Wait ``seconds`` before answering with ``then`` (default reply when None)."""

    seconds: float
    then: ScriptItem | None = None


ScriptItem = (
    Reply
    | Error
    | CutStream
    | SilentStream
    | StreamError
    | Malformed
    | RejectStreamOptions
    | Delay
    | Raw
)
_KINDS: dict[str, type[Any]] = {
    c.__name__: c
    for c in (
        Reply,
        Error,
        CutStream,
        SilentStream,
        StreamError,
        Malformed,
        RejectStreamOptions,
        Delay,
        Raw,
    )
}


def reply_to_dict(item: ScriptItem) -> dict[str, Any]:
    """Serialise a reply kind for ``POST /_fake/script``."""
    data: dict[str, Any] = {"kind": type(item).__name__}
    for f in dataclasses.fields(item):
        value = getattr(item, f.name)
        if isinstance(item, Delay) and f.name == "then" and value is not None:
            value = reply_to_dict(value)
        data[f.name] = value
    return data


def reply_from_dict(data: dict[str, Any]) -> ScriptItem:
    """Inverse of :func:`reply_to_dict`; raises ValueError on an unknown kind or field."""
    data = dict(data)
    kind = data.pop("kind", "Reply")
    cls = _KINDS.get(kind)
    if cls is None:
        raise ValueError(f"unknown reply kind {kind!r}; expected one of {sorted(_KINDS)}")
    if cls is Delay and isinstance(data.get("then"), dict):
        data["then"] = reply_from_dict(data["then"])
    try:
        item: ScriptItem = cls(**data)
    except TypeError as exc:
        raise ValueError(str(exc)) from exc
    return item


# --------------------------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------------------------


@dataclass
class Recorded:
    """One request as the server saw it (headers with lower-case keys)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any  # the parsed JSON body, None when absent or not JSON
    deployment: str | None = None
    target: str = ""  # the request target exactly as sent (``path`` is normalised)

    def to_dict(self) -> dict[str, Any]:
        """JSON view for ``GET /_fake/requests``: raw binary bodies are left out."""
        data: dict[str, Any] = {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "json": self.json,
            "deployment": self.deployment,
            "body_size": len(self.body),
        }
        if self.json is None and not self.headers.get("content-type", "").startswith("multipart/"):
            with contextlib.suppress(UnicodeDecodeError):
                data["body"] = self.body.decode("utf-8")
        return data


@dataclass
class Upload:
    """A file received by an audio or image endpoint."""

    route: str
    filename: str
    size: int
    content_type: str
    fields: dict[str, str]
    data: bytes = field(repr=False, default=b"")


# --------------------------------------------------------------------------------------------
# Deterministic content
# --------------------------------------------------------------------------------------------

_SENTENCE = (
    "the stream renders each block once while tokens arrive from a model over a slow relay "
    "and the terminal keeps scrollback intact so nothing flickers or repeats when output grows "
    "long latency matters more than throughput for people reading answers as they appear"
)
_VOCAB = tuple(_SENTENCE.split())
_CHINESE = (
    "流式",
    "输出",
    "需要",
    "保持",
    "稳定，",
    "中文",
    "与",
    "English",
    "混排",
    "也",
    "不能",
    "乱码。",
)
_EMOJI = ("🚀", "✅", "🙂", "📦")
_CODE = (
    "```python\n"
    "def fib(n: int) -> int:\n"
    "    a, b = 0, 1\n"
    "    for _ in range(n):\n"
    "        a, b = b, a + b\n"
    "    return a\n"
    "```"
)
_TABLE = (
    "| model | tokens | cost |\n|---|---|---|\n| gpt-4o | 1200 | 0.012 |\n| 模型 | 800 | 0.004 |"
)


def _prose(rng: random.Random, n: int, chinese: bool, emoji: bool) -> str:
    words = [rng.choice(_VOCAB) for _ in range(n)]
    if chinese and n >= len(_CHINESE) + 2:
        words[-len(_CHINESE) :] = _CHINESE
    if emoji and n >= 3:
        words[n // 2] = rng.choice(_EMOJI)
    if words:
        words[0] = words[0].capitalize()
        words[-1] += "."
    # Commas and sentence breaks every few words, for realism.
    for i in range(7, n - 1, 9):
        words[i] += "," if i % 2 else "."
    return " ".join(words)


def generate_words(n: int, seed: int = 0) -> str:
    """Exactly ``n`` whitespace-separated words of Markdown: paragraphs, lists, code, tables."""
    rng = random.Random(seed)
    blocks: list[str] = []
    used = 0
    section = 0
    pattern = itertools.cycle(("heading", "para", "list", "para", "code", "para", "table", "para"))
    while used < n:
        kind = next(pattern)
        if kind == "heading":
            section += 1
            block = f"## Section {section}"
        elif kind == "list":
            block = "\n".join(
                f"- item {i + 1}: {rng.choice(_VOCAB)} {rng.choice(_VOCAB)}" for i in range(4)
            )
        elif kind == "code":
            block = _CODE
        elif kind == "table":
            block = _TABLE
        else:
            block = _prose(rng, min(60, n - used), chinese=section % 2 == 1, emoji=section % 3 == 0)
        size = len(block.split())
        if used + size > n:
            block = _prose(rng, n - used, chinese=False, emoji=False)
            size = n - used
        blocks.append(block)
        used += size
    return "\n\n".join(blocks)


def split_chunks(text: str) -> list[str]:
    """Split into ~one-word chunks that join back to ``text`` exactly."""
    return re.findall(r"^\s+|\S+\s*", text)


def make_wav(seconds: float = 1.5, rate: int = 8000, level: int = 1) -> bytes:
    """A valid mono 16-bit PCM WAV of ``seconds``, every sample at ``level`` (0: silence)."""
    import io
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack("<h", level) * int(seconds * rate))
    return buf.getvalue()


def make_png(width: int = 1, height: int = 1, rgb: tuple[int, ...] = (70, 130, 180)) -> bytes:
    """A valid solid-colour RGB PNG (RGBA when ``rgb`` has four values), built with zlib +
    struct."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + tag
            + data
            + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    row = b"\x00" + bytes(rgb) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6 if len(rgb) == 4 else 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for part in content:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "text":
                parts.append(str(part.get("text", "")))
            elif part.get("type") in ("image_url", "input_image", "image"):
                parts.append("[image]")
        return " ".join(parts)
    return ""


def _wav_duration(data: bytes) -> float:
    try:
        with wave.open(io.BytesIO(data)) as w:
            rate = w.getframerate()
            return w.getnframes() / rate if rate else 1.0
    except (wave.Error, EOFError, struct.error):
        return 1.0


def _timestamp(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def parse_multipart(body: bytes, content_type: str) -> list[tuple[dict[str, str], bytes]]:
    """Split a multipart/form-data body into (disposition params + content-type, data) parts."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ValueError("multipart body without boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    parts: list[tuple[dict[str, str], bytes]] = []
    for raw in body.split(delimiter)[1:]:
        if raw.startswith(b"--"):
            break
        raw = raw.removeprefix(b"\r\n")
        head, sep, data = raw.partition(b"\r\n\r\n")
        if not sep:
            continue
        data = data.removesuffix(b"\r\n")
        info: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-disposition":
                for key, val in re.findall(r';\s*([\w*]+)="?([^";]*)"?', value):
                    info[key.lower()] = val
            elif name.strip().lower() == "content-type":
                info["content-type"] = value.strip()
        parts.append((info, data))
    return parts


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class _ClientGone(Exception):
    """The client closed the connection while we were still answering."""


class _ServerStopping(Exception):
    """``FakeOpenAI.stop()`` was called mid-answer: drop the connection, count nothing."""


class FakeOpenAI:
    """A scriptable, recording OpenAI-compatible server on 127.0.0.1 (port 0 by default)."""

    def __init__(
        self,
        api_key: str | None = DEFAULT_API_KEY,
        *,
        azure_key: str | None = None,
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.azure_key = azure_key
        self.port = port
        self.models: list[str] = list(DEFAULT_MODELS)
        self.model_meta: dict[str, dict[str, Any]] = {}  # extra fields of /models entries
        self.model_info: list[dict[str, Any]] | None = None  # LiteLLM's GET /model/info data
        #: models that refuse max_tokens and temperature (400), as OpenAI's reasoning models do
        self.completion_only: set[str] = set()
        #: Serve the Responses API (``tests/fakes/responses.py``). Off: ``/v1/responses``
        #: answers 404 and is not recorded, like a relay without it.
        self.responses = False
        self.responses_refused = 0  # requests the route answered 404 to while off (unrecorded)
        #: models chat completions refuses with OpenAI's "only supported in v1/responses" 400
        self.responses_only: set[str] = set()
        self.billing: dict[str, Any] | None = None
        self.reject_stream_options = False
        #: ``"refuse"``: a request with ``tools`` gets 400 naming them; ``"drop"``: they are
        #: ignored (scripted tool calls are not made); None: honoured.
        self.tools_mode: str | None = None
        self.serve_model: str | None = None  # answer as this model (see serving.py)
        self.exact_usage = False  # count prompt tokens with the real tokenizer
        #: Azure streams open with a ``choices: []`` chunk holding prompt_filter_results.
        self.azure_prompt_filter_chunk = True
        self.default_reply: Reply = Reply()
        #: What the fake does with ``response_format``: "honour" it, "ignore" it (as relays
        #: that drop it: the echo, unless the prompt quotes a schema), "refuse" it (400), or
        #: take only ``json_object`` (400 to ``json_schema``), as models before structured
        #: outputs do. JSON asked for in the prompt is answered whatever the mode.
        self.structured = "honour"
        self.batch_api = BatchAPI()  # Files + Batches routes (tests/fakes/batches.py)
        self.max_upload_bytes = MAX_UPLOAD_BYTES
        #: ``GET /pages/NAME`` serves ``pages[NAME]`` = (body, content type): web pages for tests.
        #: A ``Raw`` value is served as scripted, looked up by the exact request target.
        self.pages: dict[str, tuple[bytes, str] | Raw] = {}
        #: Every text field of every answer carries escapes and the key (``fakes.poison``).
        self.poison = False
        self.root = ""
        self.base_url = ""
        self._lock = threading.Lock()
        self._requests: list[Recorded] = []
        self._uploads: list[Upload] = []
        self._scripts: dict[str, deque[ScriptItem]] = {
            "chat": deque(),
            "audio": deque(),
            "images": deque(),
            "models": deque(),
            "speech": deque(),
        }
        self._disconnects = 0
        self._files: dict[str, bytes] = {}
        self._counter = itertools.count(1)
        self._stopping = threading.Event()
        self._hurry: float | None = None  # see ``hurry``
        self._configured: dict[str, Any] = {}  # settings /_fake/config changed: their old values
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        """Bind and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _Server(("127.0.0.1", self.port), _Handler)
        httpd.fake = self
        self._httpd = httpd
        port = httpd.server_address[1]
        self.root = f"http://127.0.0.1:{port}"
        self.base_url = self.root + "/v1"
        self._thread = threading.Thread(
            target=httpd.serve_until_halted, daemon=True, name=f"FakeOpenAI:{port}"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; streams in flight notice within ~50 ms and end."""
        self._stopping.set()
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.halt()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if httpd is not None:
            httpd.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting and inspection -----------------------------------------------------------

    def script(self, *replies: ScriptItem, route: str = "chat") -> None:
        """Queue replies (FIFO), one per request on ``route``: chat, audio, images, speech
        or models.

        Audio, image and speech routes honour ``Error``, ``Malformed``, ``Raw`` and ``Delay``.
        """
        if route not in self._scripts:
            raise ValueError(f"route must be one of {sorted(self._scripts)}")
        with self._lock:
            self._scripts[route].extend(replies)

    def reset(self) -> None:
        """Forget recorded requests, uploads, queued replies and the disconnect count."""
        with self._lock:
            self._requests.clear()
            self._uploads.clear()
            for queue in self._scripts.values():
                queue.clear()
            self._disconnects = 0
            self.responses_refused = 0
            self._hurry = None

    def hurry(self, words_per_second: float | None = None) -> None:
        """From now on (until ``reset``), paced chat streams, those in flight included, go at
        ``words_per_second`` (None: as fast as they can): a test slows a reply down only until
        the moment it acts on (a resize, Ctrl-Z), not for the whole answer."""
        self._hurry = words_per_second or float("inf")

    @property
    def requests(self) -> list[Recorded]:
        """A snapshot of every request received (control API calls excluded)."""
        with self._lock:
            return list(self._requests)

    @property
    def uploads(self) -> list[Upload]:
        """A snapshot of files received by audio and image endpoints."""
        with self._lock:
            return list(self._uploads)

    @property
    def disconnects(self) -> int:
        """Chat responses the client abandoned before the server finished writing."""
        with self._lock:
            return self._disconnects

    @property
    def pending_script(self) -> int:
        """Queued replies not consumed yet, all routes."""
        with self._lock:
            return sum(len(q) for q in self._scripts.values())

    def chat_requests(self) -> list[Recorded]:
        """Only the chat-completion requests (OpenAI and Azure routes)."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def responses_requests(self) -> list[Recorded]:
        """Only the Responses API requests (OpenAI and Azure routes)."""
        return [r for r in self.requests if r.path.endswith("/v1/responses")]

    def wait_for_disconnects(self, n: int = 1, timeout: float = 5.0) -> bool:
        """Poll until at least ``n`` disconnects were seen; True on success."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.disconnects >= n:
                return True
            time.sleep(0.01)
        return self.disconnects >= n

    # -- internals used by the handler ---------------------------------------------------

    def _record(self, rec: Recorded) -> None:
        with self._lock:
            self._requests.append(rec)

    def _next(self, route: str) -> ScriptItem | None:
        with self._lock:
            queue = self._scripts[route]
            return queue.popleft() if queue else None

    def _count_disconnect(self) -> None:
        with self._lock:
            self._disconnects += 1

    def _add_upload(self, upload: Upload) -> None:
        with self._lock:
            self._uploads.append(upload)

    def _store_file(self, data: bytes) -> str:
        name = f"img-{next(self._counter)}.png"
        with self._lock:
            self._files[name] = data
        return name

    def _file(self, name: str) -> bytes | None:
        with self._lock:
            return self._files.get(name)


class _Server(Halting, ThreadingHTTPServer):
    """Threaded server that treats a client hanging up as normal, not as an error to print,
    and stops the moment it is told (``halting``)."""

    daemon_threads = True
    request_queue_size = 128  # bulk commands open many connections at once
    fake: FakeOpenAI

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about resets (clients drop keep-alive sockets); report anything else."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


_AZURE_DEPLOYMENT = re.compile(r"^/openai/deployments/([^/]+)/(.+)$")


class _Handler(BaseHTTPRequestHandler):
    """Routes one request; streaming responses use chunked transfer encoding."""

    protocol_version = "HTTP/1.1"
    server_version = "FakeOpenAI/1.0"
    # The handler writes a response in several small pieces (status, headers, body): with
    # Nagle's algorithm on, each waits for the client's delayed ACK (up to 40 ms a request).
    disable_nagle_algorithm = True
    _azure = False  # set per chat request: Azure streams get a prompt-filter chunk first

    @property
    def fake(self) -> FakeOpenAI:
        server: _Server = self.server  # type: ignore[assignment]
        return server.fake

    def log_message(self, format: str, *args: Any) -> None:
        """Silence: test output should not be flooded with access logs."""

    # -- low-level output -------------------------------------------------------------------

    def _send_bytes(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        if self.fake.poison:
            from tests.fakes.poison import poison_body

            body = poison_body(body, content_type)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self._send_bytes(status, body, "application/json", headers)

    def _send_error(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        error = {"message": message, "type": type_, "param": param, "code": code}
        self._send_json(status, {"error": error}, headers)

    def _client_gone(self) -> bool:
        """True when the peer closed its side (readable socket with EOF)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            peek: bytes = self.connection.recv(1, socket.MSG_PEEK)
            return peek == b""
        except (OSError, ValueError):
            return True

    def _sleep(self, seconds: float) -> None:
        """Sleep in small steps; stop early when the server stops, raise if the client left."""
        deadline = time.monotonic() + seconds
        while not self.fake._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if self._client_gone():
                raise _ClientGone
            time.sleep(min(0.02, left))

    def _start_stream(self, content_type: str = "text/event-stream") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _write_chunk(self, data: bytes) -> None:
        if self.fake.poison:
            from tests.fakes.poison import poison_chunk

            data = poison_chunk(data)
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as exc:
            raise _ClientGone from exc

    def _write_event(self, data: Any) -> None:
        payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        self._write_chunk(f"data: {payload}\n\n".encode())

    def _end_stream(self) -> None:
        self._write_chunk(b"")  # the zero-length chunk terminates the body

    def _cut(self) -> None:
        """Close the socket abruptly, mid-body."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # -- request intake -------------------------------------------------------------------

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        body = self._read_body()
        if path.startswith("/_fake/"):
            self._control(path, query, body)
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        parsed: Any | None = None
        if body and "json" in headers.get("content-type", "json"):
            try:
                parsed = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                parsed = None
        deployment = None
        azure = _AZURE_DEPLOYMENT.match(path)
        if azure:
            deployment = azure.group(1)
        if path in ("/v1/responses", "/openai/v1/responses") and not self.fake.responses:
            with self.fake._lock:
                self.fake.responses_refused += 1
            self._not_found()  # a relay without the Responses API; not recorded
            return
        if path == "/openai/v1/responses" and isinstance(parsed, dict):
            deployment = str(parsed.get("model"))  # Azure's v1 route: the body names it
        rec = Recorded(self.command, path, query, headers, body, parsed, deployment, self.path)
        self.fake._record(rec)
        try:
            self._route(rec)
        except _ClientGone:
            self.fake._count_disconnect()
            self.close_connection = True
        except _ServerStopping:
            self._cut()

    def _check_auth(self, rec: Recorded, azure: bool) -> bool:
        fake = self.fake
        if azure:
            expected = fake.azure_key or fake.api_key
            provided = rec.headers.get("api-key")
            bearer = rec.headers.get("authorization", "")
            if provided is None and bearer.lower().startswith("bearer "):
                provided = bearer[7:].strip()  # an Entra ID token, as Azure takes one
        else:
            expected = fake.api_key
            auth = rec.headers.get("authorization", "")
            provided = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        if expected is None or provided == expected:
            return True
        if not provided:
            message = (
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
        else:
            masked = f"{provided[:3]}...{provided[-4:]}" if len(provided) > 8 else "***"
            message = (
                f"Incorrect API key provided: {masked}. You can find your API key at "
                "https://platform.openai.com/account/api-keys."
            )
        self._send_error(401, message, "invalid_request_error", "invalid_api_key")
        return False

    def _route(self, rec: Recorded) -> None:
        path, method = rec.path, rec.method
        azure = path.startswith("/openai/")
        if azure:
            if not self._check_auth(rec, azure=True):
                return
            if path == "/openai/v1/responses" and method == "POST":  # versionless v1 route
                self._dispatch_post("/responses", rec)
                return
            if "api-version" not in rec.query:
                self._send_error(
                    400, "Missing required query parameter: api-version", code="missing_api_version"
                )
                return
            sub = _AZURE_DEPLOYMENT.match(path)
            op = "/" + sub.group(2) if sub else path.removeprefix("/openai")
            if op == "/models" and method == "GET" and not sub:
                self._models()
                return
            if sub and method == "POST" and self._dispatch_post(op, rec):
                return
            if not sub and self.fake.batch_api.handle(self, rec, op):
                return
            self._not_found()
            return
        if method == "GET" and path in ("/model/info", "/v1/model/info"):
            if self.fake.model_info is None:  # not a LiteLLM proxy
                self._not_found()
            elif self._check_auth(rec, azure=False):
                self._send_json(200, {"data": self.fake.model_info})
            return
        page = self.fake.pages.get(rec.target.removeprefix("/pages/"))
        if method == "GET" and isinstance(page, Raw):  # keyed by the exact target
            serve_raw(self, page)
            return
        if method == "GET" and path.removeprefix("/pages/") in self.fake.pages:
            body, content_type = self.fake.pages[path.removeprefix("/pages/")]  # type: ignore[misc]
            self._send_bytes(200, body, content_type)
            return
        if path.startswith("/v1/") or path.startswith("/dashboard/"):
            if not self._check_auth(rec, azure=False):
                return
            op = path.removeprefix("/v1")
            if method == "GET" and op == "/models":
                self._models()
                return
            if method == "GET" and op.startswith("/models/"):
                self._model(op.removeprefix("/models/"))
                return
            if method == "GET" and op in (
                "/dashboard/billing/subscription",
                "/dashboard/billing/usage",
            ):
                self._billing(op.rsplit("/", 1)[1])
                return
            if method == "POST" and self._dispatch_post(op, rec):
                return
            if self.fake.batch_api.handle(self, rec, op):
                return
        self._not_found()

    def _dispatch_post(self, op: str, rec: Recorded) -> bool:
        if op == "/chat/completions":
            self._chat(rec)
        elif op == "/responses":
            from tests.fakes import responses

            if not isinstance(rec.json, dict):
                self._send_error(400, "We could not parse the JSON body of your request.")
            else:
                responses.serve(self, rec.json)
        elif op in ("/audio/transcriptions", "/audio/translations"):
            self._audio(rec, op.rsplit("/", 1)[1])
        elif op == "/audio/speech":
            from tests.fakes.speech import render

            if not self._simple_fault("speech"):
                self._send_bytes(*render(rec.json))
        elif op in ("/images/generations", "/images/edits", "/images/variations"):
            self._images(rec, op.rsplit("/", 1)[1])
        else:
            return False
        return True

    def _not_found(self) -> None:
        self._send_error(
            404, f"Invalid URL ({self.command} {urlsplit(self.path).path})", code="not_found"
        )

    # -- models, billing ------------------------------------------------------------------

    def _model_obj(self, name: str) -> dict[str, Any]:
        owner = "openai" if re.match(r"(gpt|o\d|whisper|dall-e|text-|tts)", name) else "system"
        obj = {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": owner}
        return {**obj, **self.fake.model_meta.get(name, {})}

    def _models(self) -> None:
        if isinstance(raw := self.fake._next("models"), Raw):
            serve_raw(self, raw)
            return
        data = [self._model_obj(m) for m in self.fake.models]
        self._send_json(200, {"object": "list", "data": data})

    def _model(self, name: str) -> None:
        if name in self.fake.models:
            self._send_json(200, self._model_obj(name))
        else:
            self._send_error(404, f"The model '{name}' does not exist", code="model_not_found")

    def _billing(self, which: str) -> None:
        billing = self.fake.billing
        if billing is None or which not in billing:
            self._not_found()
            return
        self._send_json(200, billing[which])

    # -- chat ------------------------------------------------------------------------------

    def _chat(self, rec: Recorded) -> None:
        fake = self.fake
        req = rec.json if isinstance(rec.json, dict) else None
        if req is None:
            self._send_error(400, "We could not parse the JSON body of your request.")
            return
        if not isinstance(req.get("messages"), list):
            self._send_error(400, "Missing required parameter: 'messages'.", param="messages")
            return
        if fake.reject_stream_options and "stream_options" in req:
            self._reject_stream_options()
            return
        if str(req.get("model")) in fake.completion_only and self._reject_classic_params(req):
            return
        if (rec.deployment or str(req.get("model"))) in fake.responses_only:  # Azure: by URL
            self._send_error(
                400,
                "This model is only supported in v1/responses and not in v1/chat/completions.",
                param="model",
            )
            return
        if structured.refused(fake.structured, req.get("response_format")):
            self._send_error(
                400,
                "Invalid parameter: 'response_format' of type 'json_schema' is not supported "
                "with this model.",
                param="response_format",
            )
            return
        if "tools" in req and fake.tools_mode == "refuse":
            self._send_error(400, "Unrecognized request argument supplied: tools", param="tools")
            return
        problem = tool_messages_problem(req["messages"])
        if problem is not None:
            self._send_error(400, problem, "invalid_request_error", param="messages")
            return
        item = fake._next("chat")
        stream = bool(req.get("stream"))
        self._azure = rec.path.startswith("/openai/")
        while isinstance(item, Delay):
            self._sleep(item.seconds)
            item = item.then
        if item is None:
            item = fake.default_reply
        if item.delay:
            self._sleep(item.delay)
        if isinstance(item, RejectStreamOptions):
            if "stream_options" in req:
                self._reject_stream_options()
                return
            item = fake.default_reply
        if isinstance(item, Error):
            self._scripted_error(item)
        elif isinstance(item, Malformed):
            self._malformed(item, req, stream)
        elif isinstance(item, Reply):
            if item.tool_calls and (
                "tools" not in req or fake.tools_mode == "drop" or req.get("tool_choice") == "none"
            ):
                item = dataclasses.replace(item, tool_calls=None)  # cannot call what it lacks
            self._reply(item, req, stream)
        elif isinstance(item, CutStream | SilentStream | StreamError):
            self._fault_stream(item, req, stream)
        elif isinstance(item, Raw):
            serve_raw(self, item)

    def _reject_classic_params(self, req: dict[str, Any]) -> bool:
        """Answer as OpenAI does a reasoning model sent ``max_tokens`` or a ``temperature``."""
        if "max_tokens" in req:
            self._send_error(
                400,
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                param="max_tokens",
                code="unsupported_parameter",
            )
            return True
        if "temperature" in req and req["temperature"] != 1:
            self._send_error(
                400,
                f"Unsupported value: 'temperature' does not support {req['temperature']} with "
                "this model. Only the default (1) value is supported.",
                param="temperature",
                code="unsupported_value",
            )
            return True
        return False

    def _reject_stream_options(self) -> None:
        self._send_error(
            400, "Unrecognized request argument supplied: stream_options", param="stream_options"
        )

    def _scripted_error(self, err: Error) -> None:
        if err.html:
            page = (
                f"<html><head><title>{err.status} Bad Gateway</title></head><body>"
                f"<center><h1>{err.status} Bad Gateway</h1></center><hr><center>nginx</center>"
                "</body></html>"
            )
            self._send_bytes(err.status, page.encode(), "text/html", err.headers)
            return
        self._send_error(err.status, err.message, err.type, err.code, err.param, err.headers)

    def _malformed(self, bad: Malformed, req: dict[str, Any], stream: bool) -> None:
        if not bad.sse:
            self._send_bytes(bad.status, bad.body.encode(), bad.content_type)
            return
        ids = self._ids(req, None)
        self._open_stream(ids)
        self._write_event(self._chunk(ids, {"content": "before the garbage "}))
        self._write_chunk(f"data: {bad.body}\n\n".encode())
        self._write_event("[DONE]")
        self._end_stream()

    def _ids(self, req: dict[str, Any], model: str | None) -> dict[str, Any]:
        n = next(self.fake._counter)
        return {
            "id": f"chatcmpl-fake{n:06d}",
            "created": int(time.time()),
            "model": model or self.fake.serve_model or str(req.get("model") or "gpt-4o-mini"),
        }

    def _chunk(
        self, ids: dict[str, Any], delta: dict[str, Any], finish: str | None = None
    ) -> dict[str, Any]:
        return {
            **ids,
            "object": "chat.completion.chunk",
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    @staticmethod
    def _default_text(req: dict[str, Any]) -> str:
        messages = [m for m in req["messages"] if isinstance(m, dict)]
        results: list[str] = []
        while messages and messages[-1].get("role") == "tool":
            results.insert(0, _message_text(messages.pop()))
        if results:  # after tool calls: say what the tools answered
            return "tools said: " + " | ".join(results)
        users = [m for m in req["messages"] if isinstance(m, dict) and m.get("role") == "user"]
        last = _message_text(users[-1]) if users else ""
        return f"echo({len(users)}): {last}"

    def _structured_text(self, req: dict[str, Any], reply: Reply) -> str | None:
        """JSON for a request that asks for structured output (see ``structured.py``)."""
        schema = structured.requested(req) if self.fake.structured == "honour" else None
        if schema is None:
            users = [m for m in req["messages"] if isinstance(m, dict) and m.get("role") == "user"]
            schema = structured.in_prompt(_message_text(users[-1])) if users else None
        if schema is None:
            return None
        make = structured.broken if reply.structured == "invalid" else structured.instance
        return json.dumps(make(schema), ensure_ascii=False)

    @staticmethod
    def _prompt_tokens(req: dict[str, Any]) -> int:
        return sum(
            len(_message_text(m).split()) + 4 for m in req["messages"] if isinstance(m, dict)
        )

    def _reply(self, reply: Reply, req: dict[str, Any], stream: bool) -> None:
        if reply.words is not None:
            text = generate_words(reply.words)
        elif reply.text is not None:
            text = reply.text
        elif reply.tool_calls or reply.refusal:
            text = ""
        else:
            text = self._structured_text(req, reply) or self._default_text(req)
        chunks = split_chunks(text)
        finish = reply.finish_reason
        calls: list[dict[str, Any]] = [
            {
                "id": f"call_fake{next(self.fake._counter):06d}",
                "type": "function",
                "function": {
                    "name": str(call.get("name", "")),
                    "arguments": call["arguments"]
                    if isinstance(call.get("arguments"), str)
                    else json.dumps(call.get("arguments", {}), ensure_ascii=False),
                },
            }
            for call in reply.tool_calls or []
        ]
        if calls and finish == "stop":
            finish = "tool_calls"
        limit = req.get("max_completion_tokens", req.get("max_tokens"))
        if isinstance(limit, int) and len(chunks) > limit:
            chunks, finish = chunks[:limit], "length"
        counted = self.fake.serve_model or (self.fake.exact_usage and str(req.get("model")))
        exact = serving.prompt_tokens(req, counted) if counted else None
        usage: dict[str, Any] = {
            "prompt_tokens": reply.prompt_tokens
            if reply.prompt_tokens is not None
            else exact or self._prompt_tokens(req),
            "completion_tokens": reply.completion_tokens
            if reply.completion_tokens is not None
            else len(chunks),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if reply.cached_tokens is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": reply.cached_tokens}
        if reply.reasoning_tokens is not None:
            usage["completion_tokens_details"] = {"reasoning_tokens": reply.reasoning_tokens}
        ids = self._ids(req, reply.model)
        if reply.service_tier is not None:
            ids["service_tier"] = reply.service_tier
        if not stream:
            body: dict[str, Any] = {
                **ids,
                "object": "chat.completion",
                "system_fingerprint": None if self.fake.serve_model else "fp_fake",
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": "".join(chunks)
                            if chunks or not (calls or reply.refusal)
                            else None,
                            "refusal": reply.refusal,
                            **({"tool_calls": calls} if calls else {}),
                            # DeepSeek R1 sends the reasoning beside the answer when not streamed
                            **({"reasoning_content": reply.reasoning} if reply.reasoning else {}),
                        },
                        "logprobs": None
                        if self.fake.serve_model
                        else serving.logprobs("".join(chunks), req),
                        "finish_reason": finish,
                    }
                ],
            }
            if reply.usage:
                body["usage"] = usage
            self._send_json(200, body)
            return
        self._open_stream(ids)
        for piece in split_chunks(reply.reasoning or ""):
            self._write_event(self._chunk(ids, {"content": None, "reasoning_content": piece}))
        self._stream_chunks(ids, chunks, reply.words_per_second)
        for piece in split_chunks(reply.refusal or ""):
            self._write_event(self._chunk(ids, {"refusal": piece}))
        for index, call in enumerate(calls):
            head = {**call, "function": {**call["function"], "arguments": ""}}
            self._write_event(self._chunk(ids, {"tool_calls": [{"index": index, **head}]}))
            args = call["function"]["arguments"]
            for start in range(0, len(args), 12):
                part = {"index": index, "function": {"arguments": args[start : start + 12]}}
                self._write_event(self._chunk(ids, {"tool_calls": [part]}))
        self._write_event(self._chunk(ids, {}, finish))
        options = req.get("stream_options")
        if reply.usage and isinstance(options, dict) and options.get("include_usage"):
            self._write_event({**self._chunk(ids, {}), "choices": [], "usage": usage})
        self._write_event("[DONE]")
        self._end_stream()

    def _stream_chunks(
        self, ids: dict[str, Any], chunks: list[str], words_per_second: float | None
    ) -> None:
        start, base, hurried = time.monotonic(), 0, False
        for i, piece in enumerate(chunks):
            pace = words_per_second
            hurry = self.fake._hurry
            if pace and hurry is not None and hurry > pace:
                if not hurried:  # the new pace counts from here
                    start, base, hurried = time.monotonic(), i, True
                pace = hurry
            if pace and pace != float("inf"):
                wait = start + (i - base) / pace - time.monotonic()
                if wait > 0:
                    self._sleep(wait)
            if self.fake._stopping.is_set():
                raise _ServerStopping
            self._write_event(self._chunk(ids, {"content": piece}))

    def _open_stream(self, ids: dict[str, Any]) -> None:
        self._start_stream()
        if self._azure and self.fake.azure_prompt_filter_chunk:
            self._write_event(
                {
                    "id": "",
                    "object": "",
                    "created": 0,
                    "model": "",
                    "choices": [],
                    "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
                }
            )
        self._write_event(self._chunk(ids, {"role": "assistant", "content": ""}))

    def _fault_stream(
        self, item: CutStream | SilentStream | StreamError, req: dict[str, Any], stream: bool
    ) -> None:
        ids = self._ids(req, None)
        self._open_stream(ids)
        self._stream_chunks(ids, split_chunks(item.text), None)
        if isinstance(item, StreamError):
            error = {"message": item.message, "type": item.type, "param": None, "code": item.code}
            self._write_event({"error": error})
            self._write_event("[DONE]")
            self._end_stream()
            return
        if isinstance(item, CutStream):
            time.sleep(0.05)  # let the client read what was sent before the cut
            self._cut()
            return
        self._sleep(item.silence)
        self._write_event(self._chunk(ids, {}, "stop"))
        self._write_event("[DONE]")
        self._end_stream()

    # -- audio -----------------------------------------------------------------------------

    def _form(self, rec: Recorded, route: str) -> tuple[dict[str, str], list[Upload]] | None:
        ctype = rec.headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data"):
            self._send_error(400, "Expected a multipart/form-data body.")
            return None
        try:
            parts = parse_multipart(rec.body, ctype)
        except ValueError as exc:
            self._send_error(400, str(exc))
            return None
        fields: dict[str, str] = {}
        files: list[tuple[dict[str, str], bytes]] = []
        for info, data in parts:
            if "filename" in info:
                files.append((info, data))
            else:
                fields[info.get("name", "")] = data.decode("utf-8", "replace")
        uploads = [
            Upload(
                route,
                info.get("filename", ""),
                len(data),
                info.get("content-type", "application/octet-stream"),
                {"name": info.get("name", ""), **fields},
                data,
            )
            for info, data in files
        ]
        too_big = [u for u in uploads if u.size > self.fake.max_upload_bytes]
        if too_big:
            self._send_error(
                413,
                f"Maximum content size limit ({self.fake.max_upload_bytes}) exceeded "
                f"({too_big[0].size} bytes read)",
                code="request_too_large",
            )
            return None
        for upload in uploads:
            self.fake._add_upload(upload)
        return fields, uploads

    def _simple_fault(self, route: str) -> bool:
        """Apply a scripted Error/Malformed/Delay on a non-chat route; True if answered."""
        item = self.fake._next(route)
        while isinstance(item, Delay):
            self._sleep(item.seconds)
            item = item.then
        if item is not None and item.delay:
            self._sleep(item.delay)
        if isinstance(item, Error):
            self._scripted_error(item)
            return True
        if isinstance(item, Malformed):
            self._send_bytes(item.status, item.body.encode(), item.content_type)
            return True
        if isinstance(item, Raw):
            serve_raw(self, item)
            return True
        return False

    def _audio(self, rec: Recorded, task: str) -> None:
        form = self._form(rec, f"audio/{task}")
        if form is None or self._simple_fault("audio"):
            return
        fields, uploads = form
        audio = next((u for u in uploads if u.fields.get("name") == "file"), None)
        if audio is None:
            self._send_error(400, "Missing required parameter: 'file'.", param="file")
            return
        word = "transcript" if task == "transcriptions" else "translation"
        text = f"{word} of {audio.filename} ({audio.size} bytes)"
        duration = _wav_duration(audio.data)
        fmt = fields.get("response_format", "json")
        if fmt == "json":
            self._send_json(200, {"text": text})
        elif fmt == "text":
            self._send_bytes(200, (text + "\n").encode(), "text/plain; charset=utf-8")
        elif fmt in ("srt", "vtt"):
            sep = "," if fmt == "srt" else "."
            cue = f"{_timestamp(0, sep)} --> {_timestamp(duration, sep)}\n{text}\n"
            out = f"1\n{cue}\n" if fmt == "srt" else f"WEBVTT\n\n{cue}\n"
            self._send_bytes(200, out.encode(), "text/plain; charset=utf-8")
        elif fmt == "verbose_json":
            language = fields.get("language") or "english"
            self._send_json(
                200,
                {
                    "task": "transcribe" if task == "transcriptions" else "translate",
                    "language": "english" if task == "translations" else language,
                    "duration": duration,
                    "text": text,
                    "segments": [
                        {
                            "id": 0,
                            "seek": 0,
                            "start": 0.0,
                            "end": duration,
                            "text": text,
                            "tokens": [],
                            "temperature": 0.0,
                            "avg_logprob": -0.2,
                            "compression_ratio": 1.0,
                            "no_speech_prob": 0.01,
                        }
                    ],
                },
            )
        else:
            self._send_error(400, f"Invalid response_format: {fmt!r}", param="response_format")

    # -- images ----------------------------------------------------------------------------

    def _images(self, rec: Recorded, op: str) -> None:
        if op == "generations":
            params: dict[str, Any] = rec.json if isinstance(rec.json, dict) else {}
            if not params.get("prompt"):
                self._send_error(400, "Missing required parameter: 'prompt'.", param="prompt")
                return
        else:
            form = self._form(rec, f"images/{op}")
            if form is None:
                return
            params = dict(form[0])
            if not any(u.fields.get("name", "").startswith("image") for u in form[1]):
                self._send_error(400, "Missing required parameter: 'image'.", param="image")
                return
        if self._simple_fault("images"):
            return
        try:
            n = int(params.get("n") or 1)
        except ValueError:
            n = 1
        size = str(params.get("size") or "1x1")
        match = re.fullmatch(r"(\d+)x(\d+)", size)
        width, height = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
        width, height = min(max(width, 1), 4096), min(max(height, 1), 4096)
        png = make_png(width, height)
        data: list[dict[str, Any]] = []
        for _ in range(max(1, min(n, 10))):
            if params.get("response_format") == "url":
                name = self.fake._store_file(png)
                data.append({"url": f"{self.fake.root}/_fake/files/{name}"})
            else:
                data.append({"b64_json": base64.b64encode(png).decode("ascii")})
            if op == "generations":
                data[-1]["revised_prompt"] = str(params.get("prompt"))
        body: dict[str, Any] = {"created": int(time.time()), "data": data}
        if str(params.get("model", "")).startswith("gpt-image"):  # billed by token
            image_in = 0 if op == "generations" else 323
            body["usage"] = {
                "input_tokens": 20 + image_in,
                "input_tokens_details": {"text_tokens": 20, "image_tokens": image_in},
                "output_tokens": 1056 * len(data),
                "total_tokens": 20 + image_in + 1056 * len(data),
            }
        self._send_json(200, body)

    # -- control API ------------------------------------------------------------------------

    def _control(self, path: str, query: dict[str, str], body: bytes) -> None:
        fake = self.fake
        method = self.command
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            self._send_error(400, "control API expects JSON")
            return
        if method == "POST" and path == "/_fake/script":
            items = payload if isinstance(payload, list) else [payload]
            try:
                replies = [reply_from_dict(x) for x in items if isinstance(x, dict)]
                fake.script(*replies, route=query.get("route", "chat"))
            except ValueError as exc:
                self._send_error(400, str(exc))
                return
            self._send_json(200, {"queued": len(replies), "pending_script": fake.pending_script})
        elif method == "GET" and path == "/_fake/requests":
            self._send_json(200, [r.to_dict() for r in fake.requests])
        elif method == "GET" and path == "/_fake/uploads":
            uploads = [
                {k: v for k, v in dataclasses.asdict(u).items() if k != "data"}
                for u in fake.uploads
            ]
            self._send_json(200, uploads)
        elif method == "POST" and path == "/_fake/reset":
            fake.reset()
            with fake._lock:  # and what /_fake/config changed, as it was before
                for name, value in fake._configured.items():
                    setattr(fake, name, value)
                fake._configured.clear()
            self._send_json(200, {"ok": True})
        elif method == "POST" and path == "/_fake/hurry":
            pace = payload.get("words_per_second") if isinstance(payload, dict) else None
            fake.hurry(float(pace) if pace else None)
            self._send_json(200, {"ok": True})
        elif method == "GET" and path == "/_fake/state":
            self._send_json(
                200,
                {
                    "disconnects": fake.disconnects,
                    "pending_script": fake.pending_script,
                    "requests": len(fake.requests),
                },
            )
        elif method == "POST" and path == "/_fake/config" and isinstance(payload, dict):
            self._configure(payload)
        elif method == "GET" and path.startswith("/_fake/files/"):
            data = fake._file(path.rsplit("/", 1)[1])
            if data is None:
                self._not_found()
            else:
                self._send_bytes(200, data, "image/png")
        else:
            self._not_found()

    def _configure(self, payload: dict[str, Any]) -> None:
        """``POST /_fake/config``: change server-wide settings of an out-of-process fake
        (until ``/_fake/reset``: one fake process serves many tests)."""
        fake = self.fake
        with fake._lock:
            for name in payload:
                if hasattr(fake, name):
                    fake._configured.setdefault(name, copy.deepcopy(getattr(fake, name)))
        try:
            if "models" in payload:
                fake.models = [str(m) for m in payload["models"]]
            if "billing" in payload:
                fake.billing = payload["billing"]
            if "serve_model" in payload:
                fake.serve_model = payload["serve_model"] and str(payload["serve_model"])
            if "exact_usage" in payload:
                fake.exact_usage = bool(payload["exact_usage"])
            if "reject_stream_options" in payload:
                fake.reject_stream_options = bool(payload["reject_stream_options"])
            if "tools_mode" in payload:
                fake.tools_mode = payload["tools_mode"] and str(payload["tools_mode"])
            if "responses" in payload:
                fake.responses = bool(payload["responses"])
            if "structured" in payload:
                fake.structured = str(payload["structured"])
            if "max_upload_bytes" in payload:
                fake.max_upload_bytes = int(payload["max_upload_bytes"])
            if "default_reply" in payload:
                reply = reply_from_dict({"kind": "Reply", **payload["default_reply"]})
                if not isinstance(reply, Reply):
                    raise ValueError("default_reply must be a Reply")
                fake.default_reply = reply
        except (ValueError, TypeError) as exc:
            self._send_error(400, str(exc))
            return
        self._send_json(200, {"ok": True})


def tool_messages_problem(messages: list[Any]) -> str | None:
    """OpenAI's rule, as its 400 says it: every call of an assistant message is answered by a
    ``tool`` message right after it, and a ``tool`` message answers a call just made."""
    open_calls: set[str] = set()
    for m in messages:
        if not isinstance(m, dict):
            continue
        role = m.get("role")
        if role == "tool":
            call_id = m.get("tool_call_id")
            if call_id not in open_calls:
                return (
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    f"preceeding message with 'tool_calls' (tool_call_id {call_id!r})."
                )
            open_calls.discard(call_id)
            continue
        if open_calls:
            return (
                "An assistant message with 'tool_calls' must be followed by tool messages "
                "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                f"response messages: {', '.join(sorted(open_calls))}"
            )
        if role == "assistant":
            for call in m.get("tool_calls") or []:
                if isinstance(call, dict):
                    open_calls.add(str(call.get("id")))
    if open_calls:
        return (
            "An assistant message with 'tool_calls' must be followed by tool messages "
            f"responding to each 'tool_call_id'. Missing: {', '.join(sorted(open_calls))}"
        )
    return None


def iter_sse(raw: bytes) -> Iterator[str]:
    """The ``data:`` payloads of an SSE body; handy for raw-HTTP assertions."""
    for line in raw.decode("utf-8").splitlines():
        if line.startswith("data: "):
            yield line[6:]


class FakeControl:
    """Client for the control API of a fake running in another process (tmux tests, bench)."""

    def __init__(self, url: str) -> None:
        self.root = url.removesuffix("/").removesuffix("/v1")

    def _call(self, method: str, path: str, data: Any = None) -> Any:
        import urllib.request

        body = None if data is None else json.dumps(data).encode()
        req = urllib.request.Request(self.root + path, data=body, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def script(self, *replies: ScriptItem, route: str = "chat") -> None:
        """Queue replies on the remote fake."""
        self._call("POST", f"/_fake/script?route={route}", [reply_to_dict(r) for r in replies])

    def requests(self) -> list[dict[str, Any]]:
        """Recorded requests as JSON dicts (see ``Recorded.to_dict``)."""
        result: list[dict[str, Any]] = self._call("GET", "/_fake/requests")
        return result

    def state(self) -> dict[str, Any]:
        """``{"disconnects": n, "pending_script": k, "requests": r}``."""
        result: dict[str, Any] = self._call("GET", "/_fake/state")
        return result

    def reset(self) -> None:
        """Clear recorded requests, uploads, queued replies, disconnects, ``hurry``, and undo
        ``configure``."""
        self._call("POST", "/_fake/reset", {})

    def hurry(self, words_per_second: float | None = None) -> None:
        """Paced streams, those in flight included, go faster from now on (``FakeOpenAI.hurry``)."""
        self._call("POST", "/_fake/hurry", {"words_per_second": words_per_second})

    def configure(self, **settings: Any) -> None:
        """models=, billing=, reject_stream_options=, max_upload_bytes=, default_reply={...}."""
        self._call("POST", "/_fake/config", settings)
