"""Inputs of ``batch submit`` -> the provider's JSONL lines, planned into parts, with totals.

Inputs are read lazily (a JSONL file line by line, a CSV row by row, text files one at a time)
and every request becomes one JSONL line (``custom_id``, ``method``, ``url``, ``body``) as soon
as it is read, so 10,000 prompts never sit in memory at once. While lines stream past, the
``Builder`` assigns them to parts under the provider's per-file limits, hashes them, and counts
their input tokens for the estimate shown before anything is sent.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatcli import reading
from chatcli.errors import UsageError
from chatcli.events import Message
from chatcli.store.jobs import NewRequest

MAX_REQUESTS = 50_000
MAX_BYTES = 200 * 1024 * 1024
"""The Batch API's limits per input file: 50,000 requests and 200 MB."""

JSONL_SUFFIXES = (".jsonl", ".ndjson")
CSV_SUFFIXES = (".csv", ".tsv")
MAX_CELL = 64 * 1024 * 1024  # one CSV cell; a request that large is refused later anyway
_KNOWN_KEYS = ("id", "prompt", "messages", "system", "model", "schema")


@dataclass(frozen=True)
class BatchInput:
    """One request as the user wrote it: messages, an optional model and extra body fields."""

    input_id: str
    messages: list[Message]
    model: str | None = None
    system: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    schema: Any = None  # the line's own "schema" (a SPEC string or a JSON Schema object)


def check_paths(paths: list[str]) -> list[Path]:
    """Every input must exist and be a file, checked before anything is built."""
    if not paths:
        raise UsageError("no input given", hint="chatcli batch submit prompts.jsonl")
    out = []
    for name in paths:
        path = Path(name)
        if not path.is_file():
            if path.is_dir():
                raise UsageError(f"input {path} is a directory, not a file")
            if not path.exists():
                raise UsageError(f"input {path} does not exist")
            raise UsageError(  # a pipe, <(cmd), a device: read once, gone for the resume
                f"input {path} is not a regular file",
                hint="save it to a file first: a job reads its inputs again when it resumes",
            )
        out.append(path)
    return out


def read_inputs(paths: list[Path], prompt: str | None, column: str | None) -> Iterator[BatchInput]:
    """The requests of every input file, in order."""
    for path in paths:
        suffix = path.suffix.lower()
        if suffix in JSONL_SUFFIXES:
            yield from _jsonl(path, prompt)
        elif suffix in CSV_SUFFIXES:
            yield from _csv(path, column or "prompt", prompt)
        else:
            yield _text(path, prompt)


def _with_prompt(prompt: str | None, text: str) -> str:
    return f"{prompt}\n\n{text}" if prompt else text


def _read(path: Path) -> str:
    """The file's text, decoded like every other text input (UTF-8, UTF-16 with a BOM,
    GB18030); anything else is a UsageError (exit 2) naming the file."""
    from chatcli.inputs import decode_text

    return decode_text(reading.read_file(path, reading.TEXT), f"file {path}")


def _jsonl(path: Path, prompt: str | None) -> Iterator[BatchInput]:
    with io.StringIO(_read(path)) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise UsageError(f"{where}: not a JSON object ({exc})") from None
            if not isinstance(obj, dict):
                raise UsageError(f"{where}: each line must be a JSON object")
            yield _from_object(obj, where, str(lineno), prompt)


def _from_object(
    obj: dict[str, Any], where: str, default_id: str, prompt: str | None
) -> BatchInput:
    messages = obj.get("messages")
    text = obj.get("prompt")
    if messages is None and not isinstance(text, str):
        raise UsageError(f'{where}: needs "prompt" (a string) or "messages" (a list)')
    if messages is not None:
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise UsageError(f'{where}: "messages" must be a list of message objects')
    else:
        messages = [{"role": "user", "content": _with_prompt(prompt, str(text))}]
    model = obj.get("model")
    system = obj.get("system")
    if model is not None and not isinstance(model, str):
        raise UsageError(f'{where}: "model" must be a string')
    if system is not None and not isinstance(system, str):
        raise UsageError(f'{where}: "system" must be a string')
    params = {k: v for k, v in obj.items() if k not in _KNOWN_KEYS}
    input_id = str(obj.get("id", default_id))
    return BatchInput(input_id, messages, model, system, params, obj.get("schema"))


def _csv(path: Path, column: str, prompt: str | None) -> Iterator[BatchInput]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    csv.field_size_limit(MAX_CELL)  # the module's default, 128 KiB, is a long prompt
    with io.StringIO(_read(path), newline="") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        try:
            fields = reader.fieldnames or []
            if column not in fields:
                raise UsageError(
                    f"{path} has no column {column!r} (columns: {', '.join(fields) or 'none'})",
                    hint="name the prompt column with --column NAME",
                )
            for number, row in enumerate(reader, 1):
                text = row.get(column) or ""
                if not text.strip():
                    continue
                input_id = row.get("id") or str(number)
                message: Message = {"role": "user", "content": _with_prompt(prompt, text)}
                yield BatchInput(input_id, [message])
        except csv.Error as exc:
            raise UsageError(f"{path}:{reader.line_num}: not valid CSV ({exc})") from None


def _text(path: Path, prompt: str | None) -> BatchInput:
    from chatcli.inputs import decode_text

    text = decode_text(reading.read_file(path, reading.TEXT), f"file {path}")
    if not text.strip():
        raise UsageError(f"input {path} is empty")
    return BatchInput(str(path), [{"role": "user", "content": _with_prompt(prompt, text)}])


@dataclass
class Totals:
    """What a build amounts to: requests, parts and the estimate shown before sending."""

    requests: int = 0
    parts: list[tuple[int, int, int]] = field(default_factory=list)  # (part, requests, bytes)
    tokens: int = 0
    exact: bool = True
    input_cost: float | None = 0.0
    output_cost: float | None = 0.0  # the most the replies can cost (max_tokens known)
    models: set[str] = field(default_factory=set)
    digest: Any = field(default_factory=hashlib.sha256)

    @property
    def input_hash(self) -> str:
        return str(self.digest.hexdigest())


class Builder:
    """Turns inputs into JSONL lines for one profile; fills ``totals`` as lines are made.

    ``price`` maps (model, prompt tokens, completion tokens) to a cost (batch or normal prices);
    ``deployment`` maps a model to what the body names (Azure deployments; identity elsewhere).
    ``responses_path`` (``/v1/responses``) marks every line for the Responses API (``route``),
    ``store`` being the profile's setting for it.
    """

    def __init__(
        self,
        *,
        default_model: str,
        system: str | None,
        temperature: float | None,
        max_tokens: int | None,
        chat_path: str,
        deployment: Callable[[str], str],
        model_info: Callable[[str], Any],
        price: Callable[[str, int, int], float | None],
        max_requests: int | None = None,
        max_bytes: int | None = None,
        schemas: Callable[[Any, str], Any] | None = None,
        responses_path: str | None = None,
        store: bool = False,
        completion: Callable[[str], bool] | None = None,
    ) -> None:
        self.default_model = default_model
        self.system = system
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.chat_path = chat_path
        self.deployment = deployment
        self.model_info = model_info
        self.price = price
        self.max_requests = MAX_REQUESTS if max_requests is None else max_requests
        self.max_bytes = MAX_BYTES if max_bytes is None else max_bytes
        self.schemas = schemas  # (line's "schema", where) -> features.schema Schema | None
        self.responses_path = responses_path
        self.store = store
        # model -> it takes max_completion_tokens and no temperature (known so, or learnt)
        self.completion = completion or (lambda m: bool(self.model_info(m).reasoning))
        self.totals = Totals()

    def body(self, item: BatchInput) -> tuple[str, dict[str, Any]]:
        """The model and chat-completions body of one input."""
        from chatcli.tokens import count_messages

        model = item.model or self.default_model
        info = self.model_info(model)
        messages = list(item.messages)
        system = item.system if item.system is not None else self.system
        if system and not (messages and messages[0].get("role") == "system"):
            messages.insert(0, {"role": "system", "content": system})
        body: dict[str, Any] = {"model": self.deployment(model), "messages": messages}
        completion = self.completion(model)
        if self.temperature is not None and not completion:
            body["temperature"] = self.temperature
        params = dict(item.params)
        if completion:  # as `ask` does: such models refuse a temperature
            params.pop("temperature", None)
        max_tokens = params.pop("max_tokens", None) or self.max_tokens
        if max_tokens is not None:
            body["max_completion_tokens" if completion else "max_tokens"] = max_tokens
        body.update(params)
        count = count_messages(messages, info.tokenizer)
        t = self.totals
        t.tokens += count.n
        t.exact = t.exact and count.exact
        t.models.add(model)
        cost = self.price(model, count.n, 0)
        t.input_cost = None if cost is None or t.input_cost is None else t.input_cost + cost
        out = self.price(model, 0, max_tokens) if isinstance(max_tokens, int) else None
        t.output_cost = None if out is None or t.output_cost is None else t.output_cost + out
        return model, body

    def build(self, inputs: Iterable[BatchInput]) -> Iterator[NewRequest]:
        """One ``NewRequest`` per input, numbered from 0, split into parts under the limits."""
        t = self.totals
        part, in_part, part_bytes = 1, 0, 0
        for idx, item in enumerate(inputs):
            model, body = self.body(item)
            obj = {"custom_id": f"r{idx}", "method": "POST", "url": self.chat_path, "body": body}
            schema = self.schemas(item.schema, f"input {item.input_id}") if self.schemas else None
            if schema is not None:
                from chatcli.features.schema.batch import attach

                attach(obj, schema)
            if self.responses_path is not None:
                from chatcli.features.batch.route import mark

                mark(obj, self.responses_path, store=self.store, completion=self.completion(model))
            line = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
            size = len(line.encode("utf-8")) + 1
            if in_part and (in_part >= self.max_requests or part_bytes + size > self.max_bytes):
                t.parts.append((part, in_part, part_bytes))
                part, in_part, part_bytes = part + 1, 0, 0
            in_part += 1
            part_bytes += size
            t.requests += 1
            t.digest.update(line.encode("utf-8") + b"\n")
            yield NewRequest(idx, part, item.input_id, model, line)
        if in_part:
            t.parts.append((part, in_part, part_bytes))
