"""The Files and Batch APIs for the fake server (OpenAI ``/v1/...`` and Azure ``/openai/...``).

A batch moves ``validating`` -> ``in_progress`` -> ``completed`` as time passes (fractions of a
second, set by ``validating_s`` / ``running_s``), answering each request like the fake's chat
echo. Output lines come back shuffled, requests whose user message contains ``FAIL`` land in the
error file, a request asking for structured output gets a valid instance of its schema (one
with a property of the wrong kind when its message contains ``INVALID``), ``expire_next``
makes the next batch expire with half its results, and a model in ``refuse_models`` fails the
batch at validation (an Azure deployment that is not Global-Batch). ``enabled = False`` turns
the routes off (404), like a relay without a Batch API.

Lines for ``/v1/responses`` get Responses bodies (``output`` items, ``status``, usage with
cached and reasoning tokens), scripted by words in the user's text: ``THINK`` adds a reasoning
summary, ``CACHED`` reports half the input as cached, ``LONG`` ends ``incomplete``
(``max_output_tokens``), ``FILTER`` ends ``incomplete`` (``content_filter``), ``REFUSE``
answers with a refusal. As at OpenAI, a batch whose lines name another route than its
``endpoint`` fails validation (Azure reads each line's route), and a Responses line carrying
``messages`` (a chat body) fails alone. While the fake's own Responses API is off
(``FakeOpenAI.responses``), a batch of Responses lines fails validation: an endpoint without
the route.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TERMINAL = ("completed", "expired", "cancelled", "failed")
_RESPONSES = ("/v1/responses", "/responses")


@dataclass
class FakeFile:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "object": "file", "bytes": len(self.data),
            "created_at": self.created_at, "filename": self.filename,
            "purpose": self.purpose, "status": "processed",
        }  # fmt: skip


@dataclass
class FakeBatch:
    id: str
    input_file_id: str
    endpoint: str
    metadata: dict[str, str]
    lines: list[dict[str, Any]]
    started: float
    expire: bool = False
    refused: str | None = None
    cancelled_at: float | None = None
    status: str = "validating"
    output_file_id: str | None = None
    error_file_id: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


class BatchAPI:
    """State and routes; ``handle`` answers a request or returns False (not ours)."""

    def __init__(self) -> None:
        self.enabled = True
        self.validating_s = 0.05
        self.running_s = 0.1
        self.expire_next = False
        self.refuse_models: set[str] = set()
        self.upload_delay = 0.0  # seconds to wait after storing an upload, before answering
        self.create_delay = 0.0  # likewise after creating a batch
        # A poll of an unfinished batch answers after this long: the batch moves on in real
        # time, and a client whose clock does not wait (the tests' ManualClock) would otherwise
        # spend its CPU on hundreds of polls a second.
        self.poll_delay = 0.02
        # (user text, output or error line) -> the raw line to write instead (a hostile file)
        self.mangle: Callable[[str, dict[str, Any]], str] | None = None
        self.counts_override: dict[str, Any] | None = None  # request_counts as sent
        # (status, message) every /files request is answered with: a gateway without a Files
        # API set up (LiteLLM without files_settings answers 500)
        self.files_error: tuple[int, str] | None = None
        self.files: dict[str, FakeFile] = {}
        self.batches: dict[str, FakeBatch] = {}
        self._lock = threading.Lock()
        self._n = 0
        self._rng = random.Random(7)

    def _id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}-fake{self._n:05d}"

    # -- routing -------------------------------------------------------------------------------

    def handle(self, handler: Any, rec: Any, op: str) -> bool:
        if not self.enabled or not (op == "/files" or op.startswith(("/files/", "/batches"))):
            return False
        parts = op.strip("/").split("/")
        method = rec.method
        if self.files_error is not None and parts[0] == "files":
            handler._send_error(self.files_error[0], self.files_error[1])
            return True
        with self._lock:
            answer = self._answer(handler, rec, method, parts)
        if answer is None:
            return False
        status, body, delay = answer
        if delay:
            time.sleep(delay)
        if isinstance(body, bytes):
            handler._send_bytes(status, body, "application/octet-stream")
        elif status >= 400:
            handler._send_error(status, body["message"], code=body.get("code"))
        else:
            handler._send_json(status, body)
        return True

    def _answer(
        self, handler: Any, rec: Any, method: str, parts: list[str]
    ) -> tuple[int, Any, float] | None:
        if parts == ["files"] and method == "POST":
            return self._upload(rec)
        if parts == ["files"] and method == "GET":
            purpose = rec.query.get("purpose")
            data = [f.to_dict() for f in reversed(self.files.values())]
            data = [f for f in data if purpose is None or f["purpose"] == purpose]
            return 200, {"object": "list", "data": data}, 0.0
        if parts[0] == "files" and len(parts) in (2, 3) and method == "GET":
            file = self.files.get(parts[1])
            if file is None:
                return 404, {"message": f"No such File object: {parts[1]}"}, 0.0
            if len(parts) == 3 and parts[2] == "content":
                return 200, file.data, 0.0
            return 200, file.to_dict(), 0.0
        if parts == ["batches"] and method == "POST":
            return self._create(rec, responses=bool(getattr(handler.fake, "responses", True)))
        if parts == ["batches"] and method == "GET":
            return 200, self._list(rec.query), 0.0
        if parts[0] == "batches" and len(parts) >= 2:
            batch = self.batches.get(parts[1])
            if batch is None:
                return 404, {"message": f"No batch found with id '{parts[1]}'."}, 0.0
            if len(parts) == 3 and parts[2] == "cancel" and method == "POST":
                if batch.status not in TERMINAL:
                    batch.cancelled_at = time.monotonic()
                    batch.status = "cancelling"
                return 200, self._view(batch), 0.0
            if len(parts) == 2 and method == "GET":
                self._advance(batch)
                wait = 0.0 if batch.status in TERMINAL else self.poll_delay
                return 200, self._view(batch), wait
        return None

    # -- files -----------------------------------------------------------------------------------

    def _upload(self, rec: Any) -> tuple[int, Any, float]:
        from tests.fakes.server import parse_multipart

        try:
            form = parse_multipart(rec.body, rec.headers.get("content-type", ""))
        except ValueError as exc:
            return 400, {"message": str(exc)}, 0.0
        fields = {i.get("name", ""): d for i, d in form}
        names = {i.get("name", ""): i.get("filename", "") for i, _ in form}
        if "file" not in fields:
            return 400, {"message": "Missing required parameter: 'file'."}, 0.0
        purpose = fields.get("purpose", b"").decode()
        if purpose != "batch":
            return 400, {"message": f"Invalid purpose {purpose!r}"}, 0.0
        file = FakeFile(self._id("file"), names["file"], purpose, fields["file"], int(time.time()))
        self.files[file.id] = file
        return 200, file.to_dict(), self.upload_delay

    def _add_file(self, name: str, lines: list[dict[str, Any] | str]) -> str:
        data = "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines).encode()
        file = FakeFile(self._id("file"), name, "batch_output", data, int(time.time()))
        self.files[file.id] = file
        return file.id

    # -- batches ---------------------------------------------------------------------------------

    def _create(self, rec: Any, *, responses: bool) -> tuple[int, Any, float]:
        body = rec.json if isinstance(rec.json, dict) else {}
        file = self.files.get(str(body.get("input_file_id")))
        if file is None:
            return 400, {"message": "input_file_id not found", "code": "invalid_file"}, 0.0
        try:
            lines = [json.loads(x) for x in file.data.decode().splitlines() if x.strip()]
        except ValueError:
            return 400, {"message": "the input file is not valid JSONL"}, 0.0
        refused = next(
            (m for x in lines if (m := x.get("body", {}).get("model")) in self.refuse_models), None
        )
        endpoint = str(body.get("endpoint"))
        if refused is None and endpoint.startswith("/v1/"):  # OpenAI: one route per batch
            refused = next((f"url:{x.get('url')}" for x in lines if x.get("url") != endpoint), None)
        if refused is None and not responses:  # the fake's Responses API is off: none here
            refused = next((f"route:{u}" for x in lines if (u := x.get("url")) in _RESPONSES), None)
        batch = FakeBatch(
            self._id("batch"), file.id, str(body.get("endpoint")), body.get("metadata") or {},
            lines, time.monotonic(), expire=self.expire_next, refused=refused,
        )  # fmt: skip
        self.expire_next = False
        batch.counts = {"total": len(lines), "completed": 0, "failed": 0}
        self.batches[batch.id] = batch
        return 200, self._view(batch), self.create_delay

    def _list(self, query: dict[str, str]) -> dict[str, Any]:
        items = list(reversed(self.batches.values()))
        after = query.get("after")
        if after:
            ids = [b.id for b in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        limit = int(query.get("limit") or 20)
        page = items[:limit]
        for batch in page:
            self._advance(batch)
        return {
            "object": "list",
            "data": [self._view(b) for b in page],
            "has_more": len(items) > limit,
            "first_id": page[0].id if page else None,
            "last_id": page[-1].id if page else None,
        }

    def _advance(self, batch: FakeBatch) -> None:
        """Move the batch on by the time passed; write its result files when it ends."""
        if batch.status in TERMINAL:
            return
        elapsed = time.monotonic() - batch.started
        total = len(batch.lines)
        if batch.status == "cancelling":
            self._finish(batch, "cancelled", total // 2)
        elif elapsed < self.validating_s:
            batch.status = "validating"
        elif batch.refused is not None:
            batch.status = "failed"
        elif elapsed < self.validating_s + self.running_s:
            batch.status = "in_progress"
            share = (elapsed - self.validating_s) / self.running_s
            batch.counts["completed"] = int(total * share)
        else:
            self._finish(batch, "expired" if batch.expire else "completed", total)

    def _finish(self, batch: FakeBatch, status: str, ran: int) -> None:
        if status in ("expired", "cancelled"):
            ran = len(batch.lines) // 2
        outputs: list[dict[str, Any] | str] = []
        errors: list[dict[str, Any] | str] = []
        for n, line in enumerate(batch.lines):
            custom_id = line.get("custom_id")
            if n >= ran:
                if status == "expired":
                    errors.append(_error_line(custom_id, "batch_expired", "This request expired"))
                continue
            body = line.get("body", {})
            if line.get("url") in _RESPONSES:
                text = _input_text(body)
                if "messages" in body:
                    message = "Unsupported parameter: 'messages'. The Responses API takes 'input'."
                    errors.append(_error_line(custom_id, "unsupported_parameter", message))
                elif "FAIL" in text:
                    errors.append(_error_line(custom_id, "invalid_request", "scripted failure"))
                else:
                    answer = _structured(body, text) or f"answer: {text}"
                    out = _responses_line(custom_id, body, text, answer, n)
                    outputs.append(self.mangle(text, out) if self.mangle else out)
                continue
            messages = body.get("messages") or []
            text = _last_user_text(messages)
            if "FAIL" in text:
                failed = _error_line(custom_id, "invalid_request", "scripted failure")
                errors.append(self.mangle(text, failed) if self.mangle else failed)
            else:
                answer = _structured(line.get("body", {}), text) or f"answer: {text}"
                out = _output_line(custom_id, line.get("body", {}), answer, n)
                outputs.append(self.mangle(text, out) if self.mangle else out)
        self._rng.shuffle(outputs)
        batch.status = status
        batch.counts["completed"] = len(outputs)
        batch.counts["failed"] = len(errors)
        if outputs:
            batch.output_file_id = self._add_file(f"{batch.id}_output.jsonl", outputs)
        if errors:
            batch.error_file_id = self._add_file(f"{batch.id}_error.jsonl", errors)

    def _view(self, batch: FakeBatch) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": batch.id, "object": "batch", "endpoint": batch.endpoint,
            "input_file_id": batch.input_file_id, "completion_window": "24h",
            "status": batch.status, "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id, "metadata": batch.metadata,
            "request_counts": dict(batch.counts), "errors": None,
        }  # fmt: skip
        if self.counts_override is not None:
            view["request_counts"] = self.counts_override
        if batch.status == "failed" and batch.refused is not None:
            message = (
                f"The provided model deployment '{batch.refused}' does not exist or is not a "
                "Global-Batch deployment."
            )
            if batch.refused.startswith("url:"):
                message = "The URL provided for this request does not match the batch endpoint."
            elif batch.refused.startswith("route:"):
                message = f"Unsupported URL {batch.refused[6:]}: this endpoint has no such route."
            view["errors"] = {
                "object": "list",
                "data": [{"code": "model_not_found", "message": message, "line": 1}],
            }
        return view


def _last_user_text(messages: list[Any]) -> str:
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    content = users[-1].get("content") if users else ""
    return content if isinstance(content, str) else json.dumps(content)


def _input_text(body: dict[str, Any]) -> str:
    """The last user text of a Responses body's ``input`` (a string, or message items whose
    content is a string or ``input_text`` parts)."""
    items = body.get("input")
    if isinstance(items, str):
        return items
    users = [i for i in items or [] if isinstance(i, dict) and i.get("role") == "user"]
    content = users[-1].get("content") if users else ""
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


def _responses_line(
    custom_id: Any, body: dict[str, Any], text: str, answer: str, n: int
) -> dict[str, Any]:
    """A batch output line holding a non-streamed Responses body, shaped as OpenAI's."""
    items = body.get("input")
    prompt = len(json.dumps(items).split()) + len(str(body.get("instructions") or "").split())
    output: list[dict[str, Any]] = []
    reasoning = 0
    if "THINK" in text:
        summary = [{"type": "summary_text", "text": f"**Thinking about** {text}"}]
        output.append({"type": "reasoning", "id": f"rs_b{n}", "summary": summary})
        reasoning = 7
    status, details = "completed", None
    if "REFUSE" in text:
        part: dict[str, Any] = {"type": "refusal", "refusal": "I can't help with that."}
    else:
        if "LONG" in text:
            status, details, answer = "incomplete", {"reason": "max_output_tokens"}, answer[:8]
        elif "FILTER" in text:
            status, details, answer = "incomplete", {"reason": "content_filter"}, ""
        part = {"type": "output_text", "text": answer, "annotations": []}
    output.append({
        "type": "message", "id": f"msg_b{n}", "status": status, "role": "assistant",
        "content": [part],
    })  # fmt: skip
    completion = len(answer.split()) + reasoning
    cached = prompt // 2 if "CACHED" in text else 0
    response = {
        "id": f"resp_b{n}", "object": "response", "created_at": 1700000000 + n,
        "status": status, "incomplete_details": details, "error": None,
        "model": body.get("model"), "output": output, "store": body.get("store", True),
        "usage": {
            "input_tokens": prompt, "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": prompt + completion,
        },
    }  # fmt: skip
    return {
        "id": f"batch_req_{n}",
        "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": f"req_{n}", "body": response},
        "error": None,
    }


def _structured(body: dict[str, Any], text: str) -> str | None:
    from tests.fakes import structured

    schema = structured.requested(body)
    if schema is None:
        return None
    value = structured.broken(schema) if "INVALID" in text else structured.instance(schema)
    return json.dumps(value)


def _output_line(custom_id: Any, body: dict[str, Any], answer: str, n: int) -> dict[str, Any]:
    prompt = sum(len(str(m.get("content", "")).split()) + 4 for m in body.get("messages") or [])
    completion = len(answer.split())
    return {
        "id": f"batch_req_{n}",
        "custom_id": custom_id,
        "response": {
            "status_code": 200,
            "request_id": f"req_{n}",
            "body": {
                "id": f"chatcmpl-b{n}", "object": "chat.completion",
                "model": body.get("model"),
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": answer}}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                          "total_tokens": prompt + completion},
            },
        },
        "error": None,
    }  # fmt: skip


def _error_line(custom_id: Any, code: str, message: str) -> dict[str, Any]:
    return {
        "id": f"batch_req_err_{custom_id}",
        "custom_id": custom_id,
        "response": None,
        "error": {"code": code, "message": message},
    }
