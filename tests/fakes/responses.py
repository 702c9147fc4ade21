"""The fake's Responses API (``POST /v1/responses``, Azure's ``/openai/v1/responses``).

Off unless a test turns it on (``FakeOpenAI.responses = True``): like a relay without the
route, the fake then answers 404 and records nothing, so every test that points the implicit
``openai`` profile at the fake also goes through chatcli's fallback to chat completions.

When on, a request consumes the same script as chat (``Reply``, ``Error``, ``CutStream``,
``SilentStream``, ``StreamError``, ``Malformed``, ``Delay``, ``Raw``), so one scripted reply
can be asked for over either API. Streams follow the official event order (created,
in_progress, output items with their parts, deltas and ``.done`` events, then completed /
incomplete / failed), every event with its ``event:`` name and ``sequence_number``. A
``Reply``'s ``reasoning`` is the reasoning summary (sent when the request asks for one),
``finish_reason`` "length" / "content_filter" an ``incomplete`` response, "error" a failed
one. Requests are checked as OpenAI checks them: ``max_output_tokens`` >= 16, function call
outputs answering calls made, ``temperature`` refused by ``completion_only`` models, and
``text.format`` / ``tools`` refused in the fake's ``structured`` / ``tools_mode`` modes.
A reasoning item carries ``encrypted_content`` when the request's ``include`` asks for
``reasoning.encrypted_content``; one sent back as input is checked as OpenAI checks it: with
``store`` false it needs that content (and only the fake's own is taken), and an item must
follow it.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from typing import Any

from tests.fakes import structured
from tests.fakes.hostile import Raw, serve_raw


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for part in content if isinstance(content, list) else []:
        if isinstance(part, dict) and part.get("type") in ("input_text", "output_text"):
            parts.append(str(part.get("text", "")))
        elif isinstance(part, dict) and part.get("type") == "input_image":
            parts.append("[image]")
    return " ".join(parts)


def input_items(req: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's input as a list of items (a string input is one user message)."""
    value = req.get("input")
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    return [i for i in value if isinstance(i, dict)] if isinstance(value, list) else []


def problem(req: dict[str, Any], fake: Any) -> tuple[str, str | None] | None:
    """What OpenAI would refuse in this request: (message, param), or None."""
    if "input" not in req:
        return "Missing required parameter: 'input'.", "input"
    if not isinstance(req.get("model"), str):
        return "Missing required parameter: 'model'.", "model"
    limit = req.get("max_output_tokens")
    if isinstance(limit, int) and limit < 16:
        return (
            "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, "
            f"but got {limit} instead.",
            "max_output_tokens",
        )
    if "messages" in req or "max_tokens" in req or "response_format" in req:
        key = next(k for k in ("messages", "max_tokens", "response_format") if k in req)
        return f"Unsupported parameter: '{key}'.", key
    if req["model"] in fake.completion_only and "temperature" in req:
        return (
            "Unsupported parameter: 'temperature' is not supported with this model.",
            "temperature",
        )
    found = _reasoning_problem(req)
    if found is not None:
        return found, "input"
    calls: set[str] = set()
    for item in input_items(req):
        if item.get("type") == "function_call":
            calls.add(str(item.get("call_id")))
        elif item.get("type") == "function_call_output" and item.get("call_id") not in calls:
            return (
                f"No tool call found for function call output with call_id {item.get('call_id')}.",
                "input",
            )
    for tool in req.get("tools") or []:
        if not (isinstance(tool, dict) and tool.get("type") == "function" and tool.get("name")):
            return "Missing required parameter: 'tools[0].name'.", "tools"
    return None


ENCRYPTED = "reasoning.encrypted_content"
_SEAL = "fake-sealed:"


def seal(item_id: str) -> str:
    """The encrypted content the fake gives a reasoning item (and takes back only so)."""
    return base64.b64encode((_SEAL + item_id).encode()).decode()


def _reasoning_problem(req: dict[str, Any]) -> str | None:
    """What OpenAI says of reasoning items sent back as input: one without its encrypted
    content when nothing is stored, content it did not make, one with no item after it."""
    items = input_items(req)
    for i, item in enumerate(items):
        if item.get("type") != "reasoning":
            continue
        item_id = str(item.get("id"))
        content = item.get("encrypted_content")
        if content is None and req.get("store") is False:
            return (
                f"Item with id '{item_id}' not found. Items are not persisted when `store` is "
                "set to false. Try again with `store` set to true, or remove this item from "
                "your input."
            )
        if content is not None and content != seal(item_id):
            return f"The encrypted content for item {item_id} could not be verified."
        if i + 1 >= len(items) or items[i + 1].get("type") == "reasoning":
            return (
                f"Item '{item_id}' of type 'reasoning' was provided without its required "
                "following item."
            )
    return None


def default_text(req: dict[str, Any]) -> str:
    """Echo the last user message, or say what the tools answered after function calls."""
    items = input_items(req)
    results: list[str] = []
    while items and items[-1].get("type") == "function_call_output":
        results.insert(0, str(items.pop().get("output", "")))
    if results:
        return "tools said: " + " | ".join(results)
    users = [i for i in items if i.get("role") == "user"]
    last = _text_of(users[-1].get("content")) if users else ""
    return f"echo({len(users)}): {last}"


def serve(handler: Any, req: dict[str, Any]) -> None:
    """Answer one Responses request through the fake server's request handler."""
    from tests.fakes.server import (
        CutStream,
        Delay,
        Error,
        Malformed,
        Reply,
        SilentStream,
        StreamError,
    )

    fake = handler.fake
    found = problem(req, fake)
    if found is not None:
        handler._send_error(400, found[0], param=found[1])
        return
    fmt = (req.get("text") or {}).get("format") if isinstance(req.get("text"), dict) else None
    if structured.refused(fake.structured, fmt):
        handler._send_error(
            400,
            "Invalid parameter: 'text.format' of type 'json_schema' is not supported with "
            "this model.",
            param="text.format",
        )
        return
    if "tools" in req and fake.tools_mode == "refuse":
        handler._send_error(400, "Unsupported parameter: 'tools'.", param="tools")
        return
    item = fake._next("chat")
    while isinstance(item, Delay):
        handler._sleep(item.seconds)
        item = item.then
    if item is None:
        item = fake.default_reply
    if item.delay:
        handler._sleep(item.delay)
    stream = bool(req.get("stream"))
    if isinstance(item, Error):
        handler._scripted_error(item)
    elif isinstance(item, Raw):
        serve_raw(handler, item)
    elif isinstance(item, Malformed):
        if not item.sse:
            handler._send_bytes(item.status, item.body.encode(), item.content_type)
            return
        _Answer(handler, req, Reply(text="")).open()
        handler._write_chunk(f"event: response.output_text.delta\ndata: {item.body}\n\n".encode())
        handler._end_stream()
    elif isinstance(item, CutStream | SilentStream | StreamError):
        answer = _Answer(handler, req, Reply(text=item.text))
        answer.open()
        answer.message()
        if isinstance(item, CutStream):
            time.sleep(0.05)
            handler._cut()
        elif isinstance(item, StreamError):
            error = {"type": "error", "code": item.code, "message": item.message, "param": None}
            answer.event("error", error)
            handler._end_stream()
        else:
            handler._sleep(item.silence)
            answer.finish()
    elif isinstance(item, Reply):
        if item.tool_calls and (
            "tools" not in req or fake.tools_mode == "drop" or req.get("tool_choice") == "none"
        ):
            item = dataclasses.replace(item, tool_calls=None)
        _Answer(handler, req, item).send(stream)
    else:  # RejectStreamOptions means nothing here: the default reply
        _Answer(handler, req, fake.default_reply).send(stream)


class _Answer:
    """One Responses answer: its output items, usage and status, as a whole body or events."""

    def __init__(self, handler: Any, req: dict[str, Any], reply: Any) -> None:
        from tests.fakes.server import generate_words, split_chunks

        self.handler = handler
        self.fake = handler.fake
        self.req = req
        self.reply = reply
        n = next(self.fake._counter)
        self.id = f"resp_fake{n:06d}"
        self.model = reply.model or self.fake.serve_model or str(req.get("model"))
        self.sequence = 0
        if reply.words is not None:
            text = generate_words(reply.words)
        elif reply.text is not None:
            text = reply.text
        elif reply.tool_calls or reply.refusal:
            text = ""
        else:
            text = self._structured() or default_text(req)
        self.chunks = split_chunks(text)
        self.status, self.incomplete = "completed", None
        if reply.finish_reason in ("length", "content_filter"):
            reason = "max_output_tokens" if reply.finish_reason == "length" else "content_filter"
            self.status, self.incomplete = "incomplete", reason
        limit = req.get("max_output_tokens")
        if isinstance(limit, int) and len(self.chunks) > limit:
            self.chunks = self.chunks[:limit]
            self.status, self.incomplete = "incomplete", "max_output_tokens"
        if reply.finish_reason == "error":
            self.status = "failed"
        asked = req.get("reasoning")
        self.summary = reply.reasoning if isinstance(asked, dict) and asked.get("summary") else None
        self.calls = [
            {
                "type": "function_call",
                "id": f"fc_fake{next(self.fake._counter):06d}",
                "call_id": f"call_fake{next(self.fake._counter):06d}",
                "name": str(call.get("name", "")),
                "arguments": call["arguments"]
                if isinstance(call.get("arguments"), str)
                else json.dumps(call.get("arguments", {}), ensure_ascii=False),
                "status": "completed",
            }
            for call in reply.tool_calls or []
        ]

    def _structured(self) -> str | None:
        schema = structured.requested(self.req) if self.fake.structured == "honour" else None
        if schema is None:
            users = [i for i in input_items(self.req) if i.get("role") == "user"]
            schema = structured.in_prompt(_text_of(users[-1].get("content"))) if users else None
        if schema is None:
            return None
        make = structured.broken if self.reply.structured == "invalid" else structured.instance
        return json.dumps(make(schema), ensure_ascii=False)

    # -- the body ---------------------------------------------------------------------------

    def usage(self) -> dict[str, Any] | None:
        reply = self.reply
        if not reply.usage:
            return None
        words = sum(len(_text_of(i.get("content")).split()) + 4 for i in input_items(self.req))
        words += len(str(self.req.get("instructions") or "").split())
        prompt = reply.prompt_tokens if reply.prompt_tokens is not None else words
        output = (
            reply.completion_tokens if reply.completion_tokens is not None else len(self.chunks)
        )
        return {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": reply.cached_tokens or 0},
            "output_tokens": output,
            "output_tokens_details": {"reasoning_tokens": reply.reasoning_tokens or 0},
            "total_tokens": prompt + output,
        }

    def _reasoning_item(self) -> dict[str, Any]:
        summary = [{"type": "summary_text", "text": self.summary}] if self.summary else []
        item: dict[str, Any] = {"type": "reasoning", "id": f"rs_{self.id}", "summary": summary}
        if ENCRYPTED in (self.req.get("include") or []):
            item["encrypted_content"] = seal(item["id"])
        return item

    def _message_item(self, status: str = "completed") -> dict[str, Any]:
        part: dict[str, Any]
        if self.reply.refusal:
            part = {"type": "refusal", "refusal": self.reply.refusal}
        else:
            part = {"type": "output_text", "text": "".join(self.chunks), "annotations": []}
        return {"type": "message", "id": f"msg_{self.id}", "role": "assistant",
                "status": status, "content": [part]}  # fmt: skip

    def output(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if self.reply.reasoning:
            items.append(self._reasoning_item())
        if self.chunks or self.reply.refusal or not self.calls:
            items.append(self._message_item())
        return items + self.calls

    def response(
        self, status: str, *, output: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "response",
            "created_at": int(time.time()),
            "status": status,
            "error": None,
            "incomplete_details": None,
            "model": self.model,
            "output": output if output is not None else [],
            "parallel_tool_calls": True,
            "store": bool(self.req.get("store", True)),
            "usage": None,
        }
        if self.reply.service_tier is not None:
            body["service_tier"] = self.reply.service_tier
        return body

    def final(self) -> dict[str, Any]:
        body = self.response(self.status, output=self.output())
        body["usage"] = self.usage()
        if self.status == "incomplete":
            body["incomplete_details"] = {"reason": self.incomplete}
        if self.status == "failed":
            body["error"] = {"code": "server_error", "message": "The model failed to answer."}
            body["output"] = []
        return body

    # -- the stream -------------------------------------------------------------------------

    def event(self, kind: str, data: dict[str, Any]) -> None:
        payload = {"type": kind, "sequence_number": self.sequence, **data}
        self.sequence += 1
        line = json.dumps(payload, ensure_ascii=False)
        self.handler._write_chunk(f"event: {kind}\ndata: {line}\n\n".encode())

    def open(self) -> None:
        self.handler._start_stream()
        self.event("response.created", {"response": self.response("in_progress")})
        self.event("response.in_progress", {"response": self.response("in_progress")})
        self.index = 0

    def reasoning(self) -> None:
        if not self.reply.reasoning:
            return
        from tests.fakes.server import split_chunks

        item = self._reasoning_item()
        at = {"item_id": item["id"], "output_index": self.index}
        self.event("response.output_item.added", {"output_index": self.index,
                                                  "item": {**item, "summary": []}})  # fmt: skip
        if self.summary:
            part = {"type": "summary_text", "text": ""}
            self.event("response.reasoning_summary_part.added",
                       {**at, "summary_index": 0, "part": part})  # fmt: skip
            for piece in split_chunks(self.summary):
                self.event("response.reasoning_summary_text.delta",
                           {**at, "summary_index": 0, "delta": piece})  # fmt: skip
            self.event("response.reasoning_summary_text.done",
                       {**at, "summary_index": 0, "text": self.summary})  # fmt: skip
            done = {**part, "text": self.summary}
            self.event("response.reasoning_summary_part.done",
                       {**at, "summary_index": 0, "part": done})  # fmt: skip
        self.event("response.output_item.done", {"output_index": self.index, "item": item})
        self.index += 1

    def message(self) -> None:
        from tests.fakes.server import _ServerStopping

        if not (self.chunks or self.reply.refusal or not self.calls):
            return
        item = self._message_item()
        at = {"item_id": item["id"], "output_index": self.index, "content_index": 0}
        self.event("response.output_item.added",
                   {"output_index": self.index, "item": {**self._message_item("in_progress"),
                                                         "content": []}})  # fmt: skip
        if self.reply.refusal:
            self.event("response.content_part.added",
                       {**at, "part": {"type": "refusal", "refusal": ""}})  # fmt: skip
            from tests.fakes.server import split_chunks

            for piece in split_chunks(self.reply.refusal):
                self.event("response.refusal.delta", {**at, "delta": piece})
            self.event("response.refusal.done", {**at, "refusal": self.reply.refusal})
        else:
            empty = {"type": "output_text", "text": "", "annotations": []}
            self.event("response.content_part.added", {**at, "part": empty})
            start = time.monotonic()
            rate = self.reply.words_per_second
            for i, piece in enumerate(self.chunks):
                if rate:
                    wait = start + i / rate - time.monotonic()
                    if wait > 0:
                        self.handler._sleep(wait)
                if self.fake._stopping.is_set():
                    raise _ServerStopping
                self.event("response.output_text.delta", {**at, "delta": piece, "logprobs": []})
            self.event("response.output_text.done", {**at, "text": "".join(self.chunks)})
        self.event("response.content_part.done", {**at, "part": item["content"][0]})
        self.event("response.output_item.done", {"output_index": self.index, "item": item})
        self.index += 1

    def function_calls(self) -> None:
        for call in self.calls:
            at = {"item_id": call["id"], "output_index": self.index}
            self.event("response.output_item.added", {"output_index": self.index,
                       "item": {**call, "arguments": "", "status": "in_progress"}})  # fmt: skip
            args = call["arguments"]
            for start in range(0, len(args), 12):
                self.event("response.function_call_arguments.delta",
                           {**at, "delta": args[start : start + 12]})  # fmt: skip
            self.event("response.function_call_arguments.done", {**at, "arguments": args})
            self.event("response.output_item.done", {"output_index": self.index, "item": call})
            self.index += 1

    def finish(self) -> None:
        final = self.final()
        kind = {"completed": "response.completed", "incomplete": "response.incomplete",
                "failed": "response.failed"}[self.status]  # fmt: skip
        self.event(kind, {"response": final})
        self.handler._end_stream()

    def send(self, stream: bool) -> None:
        """The whole body, or the stream in the official order."""
        if not stream:
            self.handler._send_json(200, self.final())
            return
        self.open()
        self.reasoning()
        self.message()
        self.function_calls()
        self.finish()
