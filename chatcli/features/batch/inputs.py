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


def check_paths(
    paths: list[str], note: Callable[[str], None] = lambda _message: None
) -> list[Path]:
    """Every input must exist and be a file, checked before anything is built; a file given
    twice, however spelt (``a.jsonl ./a.jsonl``, a link: the same device and inode), is read
    once, with a ``note``."""
    if not paths:
        raise UsageError("no input given", hint="chatcli batch submit prompts.jsonl")
    out = []
    seen: dict[tuple[int, int], str] = {}  # (device, inode) -> the name first given
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
        found = path.stat()
        key = (found.st_dev, found.st_ino)
        if key in seen:
            note(f"{name}: the same input as {seen[key]}, read once")
            continue
        seen[key] = name
        out.append(path)
    return out


def read_inputs(
    paths: list[Path],
    prompt: str | None,
    column: str | None,
    note: Callable[[str], None] = lambda _message: None,
) -> Iterator[BatchInput]:
    """The requests of every input file, in order. Every id is one request's own (a second
    use is refused, naming both places); a blank prompt is skipped, said in one ``note`` per
    file; ``--column`` without a CSV or TSV input is refused rather than ignored."""
    if column is not None and not any(p.suffix.lower() in CSV_SUFFIXES for p in paths):
        raise UsageError(
            "--column names the prompt column of a CSV or TSV input, and no input is one",
            hint='JSONL lines name their prompt with "prompt" or "messages"',
        )
    qualify = len(paths) > 1  # line and row numbers repeat from file to file
    used: dict[str, str] = {}  # id -> where it was first used
    for path in paths:
        suffix = path.suffix.lower()
        blank: list[int] = []
        if suffix in JSONL_SUFFIXES:
            found = _jsonl(path, prompt, blank, qualify)
        elif suffix in CSV_SUFFIXES:
            found = _csv(path, column or "prompt", prompt, blank, qualify)
        else:
            found = iter([(_text(path, prompt), str(path))])
        for item, where in found:
            if item.input_id in used:
                raise UsageError(
                    f"{where}: the id {item.input_id!r} is used twice "
                    f"(first at {used[item.input_id]})",
                    hint="give every request its own id: results are matched to inputs by it",
                )
            used[item.input_id] = where
            yield item
        if blank:
            note(_skipped(path, blank, csv_file=suffix in CSV_SUFFIXES, column=column))


def _skipped(path: Path, lines: list[int], *, csv_file: bool, column: str | None) -> str:
    """One line naming the inputs of ``path`` skipped for a blank prompt, by line."""
    name = f'"{column or "prompt"}"'
    if len(lines) == 1:
        what = f"its {name} cell is empty" if csv_file else f"its {name} is blank"
        return f"{path}:{lines[0]}: skipped: {what}"
    shown = ", ".join(map(str, lines[:10]))
    if len(lines) > 10:
        shown += f" … and {len(lines) - 10} more"
    what = f"rows whose {name} cell is empty" if csv_file else f"lines whose {name} is blank"
    return f"{path}: skipped {len(lines)} {what}, at lines {shown}"


def _with_prompt(prompt: str | None, text: str) -> str:
    return f"{prompt}\n\n{text}" if prompt else text


def _read(path: Path) -> str:
    """A JSONL or CSV file's text, decoded like every other text input (UTF-8, UTF-16 with a
    BOM, GB18030); anything else is a UsageError (exit 2) naming the file."""
    from chatcli.inputs import decode_text

    try:
        return decode_text(reading.read_file(path, reading.TEXT), f"file {path}")
    except UsageError as exc:
        if exc.hint is not None and exc.hint.startswith("chatcli reads"):
            exc.hint = (
                f"a {path.suffix} input must be text; give a document under its own name, "
                "as one request (chatcli batch submit report.pdf --prompt ...)"
            )
        raise


def _jsonl(
    path: Path, prompt: str | None, blank: list[int], qualify: bool
) -> Iterator[tuple[BatchInput, str]]:
    """(input, FILE:LINE) of every line; a line whose prompt is blank goes to ``blank``."""
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
            default_id = where if qualify else str(lineno)
            item = _from_object(obj, where, default_id, prompt)
            if item is None:
                blank.append(lineno)
            else:
                yield item, where


def _from_object(
    obj: dict[str, Any], where: str, default_id: str, prompt: str | None
) -> BatchInput | None:
    """One JSONL line's request (None: its "prompt" is blank)."""
    messages = obj.get("messages")
    text = obj.get("prompt")
    if messages is not None and "prompt" in obj:
        raise UsageError(f'{where}: give "prompt" or "messages", not both')
    if messages is None and not isinstance(text, str):
        raise UsageError(f'{where}: needs "prompt" (a string) or "messages" (a list)')
    if messages is not None:
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise UsageError(f'{where}: "messages" must be a list of message objects')
        messages = _prompted(messages, prompt, where)
    elif not str(text).strip():
        return None
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


def _prompted(messages: list[Message], prompt: str | None, where: str) -> list[Message]:
    """``--prompt`` put before the first user message's content (text, or a text part before
    a list of parts), as it goes before a "prompt" line's text; never silently dropped."""
    if not prompt:
        return messages
    for i, message in enumerate(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            new: Any = _with_prompt(prompt, content)
        elif isinstance(content, list):
            new = [{"type": "text", "text": prompt}, *content]
        else:
            break
        return [*messages[:i], {**message, "content": new}, *messages[i + 1 :]]
    raise UsageError(
        f'{where}: --prompt goes before the first user message, and "messages" has no user '
        "message with text content",
    )


def _csv(
    path: Path, column: str, prompt: str | None, blank: list[int], qualify: bool
) -> Iterator[tuple[BatchInput, str]]:
    """(input, FILE:LINE) of every row; a row whose prompt cell is empty goes to ``blank``."""
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
                line = reader.line_num  # where the row ends: its line, unless a cell spans lines
                text = row.get(column) or ""
                if not text.strip():
                    blank.append(line)
                    continue
                where = f"{path}:{line}"
                input_id = row.get("id") or (f"{path}:{number}" if qualify else str(number))
                message: Message = {"role": "user", "content": _with_prompt(prompt, text)}
                yield BatchInput(input_id, [message]), where
        except csv.Error as exc:
            raise UsageError(f"{path}:{reader.line_num}: not valid CSV ({exc})") from None


def _text(path: Path, prompt: str | None) -> BatchInput:
    """A text file or a document (PDF, DOCX, ODT, EPUB, HTML, RTF: told by content, read by the
    documents reader ``ask -f`` and ``summarize`` use), one request; a document's own bytes
    are never sent."""
    from chatcli.inputs import to_text

    data = reading.read_file(path, reading.TEXT)
    try:
        text = to_text(data, f"file {path}")
    except UsageError as exc:
        if exc.hint is not None and exc.hint.startswith("chatcli reads"):
            exc.hint = (
                "chatcli batch submit reads text and documents (PDF, DOCX, ODT, EPUB, HTML, RTF)"
            )
        raise
    except (RecursionError, MemoryError, ValueError, LookupError) as exc:  # a hostile file
        raise UsageError(f"cannot read {path}: {type(exc).__name__}") from None
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
