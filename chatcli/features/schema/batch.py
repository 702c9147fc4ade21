"""``--schema`` in ``batch``: each line asks for structured output and is checked when its
answer comes back.

A line's schema is ``batch submit --schema SPEC`` or its own ``"schema"`` key in JSONL (a field
list, a file, ``@NAME`` or a JSON Schema object). The request body gets the strict
``response_format``; the stored line keeps the user's schema under ``chatcli_schema``, taken
off before the line is uploaded (``wire_line``), so the check after the provider answers, a
``batch retry`` and ``batch results`` all know it. An answer that does not validate makes the
request failed, with the reason; a valid one is stored as its JSON (optional nulls dropped),
which ``batch results`` prints under ``data``. The local runner falls back like ``ask`` when
the endpoint refuses ``response_format`` (``Fallback``); the Batch API reports such lines failed.
Lines are stored in the chat form; a request made from one carries the format as its
``ChatRequest.response_format`` (``format_of``), which each wire protocol encodes its way
(``response_format`` for chat, ``text.format`` for the Responses API).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatcli.errors import ChatcliError, UsageError
from chatcli.features.schema import check
from chatcli.features.schema.spec import Schema, is_object, load
from chatcli.store.jobs import RequestResult

if TYPE_CHECKING:
    from chatcli.providers.base import ChatRequest, ResponseFormat
    from chatcli.store import Store

KEY = "chatcli_schema"
_MARK = f'"{KEY}"'


class Resolver:
    """Line schemas -> ``Schema``, each distinct one loaded and checked once."""

    def __init__(self, config_schemas: dict[str, Any], config_dir: Path | None,
                 default: str | None = None, multi: bool = False) -> None:  # fmt: skip
        self.config_schemas = config_schemas
        self.config_dir = config_dir
        self.multi = multi
        self._cache: dict[str, Schema] = {}
        self.default = None if default is None else self._load(default, "--schema")

    def _load(self, spec: Any, where: str) -> Schema:
        key = json.dumps(spec, sort_keys=True)
        if key not in self._cache:
            try:
                if isinstance(spec, str):
                    schema = load(spec, self.config_schemas, multi=self.multi,
                                  config_dir=self.config_dir)  # fmt: skip
                elif isinstance(spec, dict):
                    check.check_schema(spec, "the line's schema")
                    schema = Schema(spec, "response", "the line's schema", not is_object(spec))
                else:
                    raise UsageError('"schema" must be a field list, a file, @NAME or an object')
            except ChatcliError as exc:
                exc.message = f"{where}: {exc.message.removeprefix('--schema: ')}"
                raise
            self._cache[key] = schema
        return self._cache[key]

    def __call__(self, spec: Any, where: str) -> Schema | None:
        """The schema of a line (its own, else ``--schema``), or None."""
        return self.default if spec is None else self._load(spec, where)


def attach(line: dict[str, Any], schema: Schema) -> None:
    """Ask for structured output in ``line``'s body and keep the user's schema beside it."""
    from chatcli.features.schema.turn import response_format
    from chatcli.providers.chat import response_format as wire

    line["body"]["response_format"] = wire(response_format(schema))
    line[KEY] = schema.to_json()


def format_of(value: Any) -> ResponseFormat | None:
    """The ``ResponseFormat`` a stored chat body's ``response_format`` asks for (the inverse of
    ``providers.chat.response_format``), or None when it asks for none or nothing known."""
    from chatcli.providers.base import ResponseFormat

    if not isinstance(value, dict):
        return None
    if value.get("type") == "json_object":
        return ResponseFormat("response", {}, strict=False, json_object=True)
    spec = value.get("json_schema")
    if value.get("type") != "json_schema" or not isinstance(spec, dict):
        return None
    schema = spec.get("schema")
    return ResponseFormat(
        str(spec.get("name") or "response"),
        schema if isinstance(schema, dict) else {},
        strict=bool(spec.get("strict", True)),
    )


def wire_line(line: str) -> str:
    """The line as the provider gets it (without chatcli's own key)."""
    if _MARK not in line:
        return line
    obj = json.loads(line)
    obj.pop(KEY, None)
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def schema_of(line: str, seen: dict[str, Schema] | None = None) -> Schema | None:
    """The schema a stored line's answer must match, if it has one (``seen``: the schemas
    read so far, so the lines of a big job share one each)."""
    if _MARK not in line:
        return None
    saved = json.loads(line).get(KEY)
    if not isinstance(saved, dict):
        return None
    key = json.dumps(saved, sort_keys=True)
    if seen is None or key not in seen:
        schema = Schema.from_json(saved)
        if seen is None:
            return schema
        seen[key] = schema
    return seen[key]


def structured(lines: Iterable[tuple[int, str, str]]) -> set[int]:
    """The indexes of the ``(idx, model, line)`` rows that ask for structured output."""
    return {idx for idx, _model, line in lines if _MARK in line}


def checked(result: RequestResult, schema: Schema | None) -> RequestResult:
    """``result`` with its answer checked against ``schema``: failed with the reason when
    it is not valid (or cannot be checked: the answer was paid for, so whatever happens it is
    stored, with its usage, and the job goes on), else the answer is the JSON as ``results``
    prints it."""
    if schema is None or not result.ok:
        return result
    from chatcli.features.schema.turn import judge

    try:
        problems, data = judge(result.answer or "", schema)
    except Exception as exc:  # a line stored by an older chatcli, with a schema never checked
        problems, data = [f"it could not be checked ({check.failure(exc)})"], None
    if problems:
        reason = f"the answer is not valid against the schema: {check.summary(problems)}"
        return dataclasses.replace(result, ok=False, error=reason)
    answer = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return dataclasses.replace(result, answer=answer)


class Fallback:
    """The local runner's ``response_format`` refusals: each refused line goes down the
    ladder of ``turn.LEVELS`` (a ``json_object`` with the schema in the prompt, then the
    prompt alone), remembered per profile and model as ``ask`` does, said once per model."""

    def __init__(self, store: Store, profile: str, notice: Callable[[str], None]) -> None:
        self.store = store
        self.profile = profile
        self.notice = notice
        self._level: dict[str, int] = {}
        self._told: set[str] = set()  # models whose refusal was said
        self._lock = threading.Lock()

    def _start(self, model: str) -> int:
        from chatcli.features.schema.turn import QUIRKS
        from chatcli.store import quirks

        with self._lock:
            if model not in self._level:
                refused = [quirks.noted(self.store, self.profile, model, q) for q in QUIRKS]
                self._level[model] = 2 if refused[1] is not None else int(refused[0] is not None)
            return self._level[model]

    def prepare(self, request: ChatRequest, schema: Schema | None) -> ChatRequest:
        """``request`` as it should go out, on the step the endpoint takes."""
        if schema is None:
            return request
        return at_level(request, schema, self._start(request.model))

    def refused(
        self, exc: ChatcliError, request: ChatRequest, schema: Schema | None
    ) -> ChatRequest | None:
        """The request to send again when ``exc`` is a refusal of its ``response_format``."""
        from chatcli.errors import APIError
        from chatcli.features.schema import turn
        from chatcli.store import quirks

        fmt = request.response_format
        if (
            schema is None
            or fmt is None
            or not isinstance(exc, APIError)
            or exc.status not in (400, 422)
            or not turn.names_response_format(exc.message)
        ):
            return None
        level = 1 if fmt.json_object else 0
        if turn.rejects_schema(exc.message):  # this request only: nothing to remember
            return _down(request, schema, level)
        with self._lock:
            first = self._level.get(request.model, 0) <= level
            self._level[request.model] = max(self._level.get(request.model, 0), level + 1)
            tell = request.model not in self._told
            self._told.add(request.model)
        if first:
            model, kind = request.model, turn.LEVELS[level]
            quirks.note(self.store, self.profile, model, turn.QUIRKS[level], exc.message)
        if tell:
            model, kind = request.model, turn.LEVELS[level]
            self.notice(
                f"{self.profile} refuses response_format {kind} for {model} "
                f"({exc.message}); asking with the schema in the prompt and checking it here "
                "(remembered)"
            )
        return _down(request, schema, level)


def _down(request: ChatRequest, schema: Schema, level: int) -> ChatRequest:
    """``request`` (sent as step ``level``) one step down (its prompt asks already from 1)."""
    if level == 0:
        return at_level(request, schema, 1)
    return dataclasses.replace(request, response_format=None)


def at_level(request: ChatRequest, schema: Schema, level: int) -> ChatRequest:
    """``request`` asking for the JSON as step ``level`` of ``turn.LEVELS`` does."""
    from chatcli.features.schema.turn import request_format

    if level == 0:
        return request
    asked = prompt_only(request, schema)
    return dataclasses.replace(asked, response_format=request_format(schema, level))


def prompt_only(request: ChatRequest, schema: Schema) -> ChatRequest:
    """``request`` without ``response_format``, its last user message asking for the JSON."""
    from chatcli.features.schema.turn import with_instructions

    messages = list(request.messages)
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user":
            content = with_instructions(messages[i].get("content") or "", schema)
            messages[i] = {**messages[i], "content": content}
            break
    return dataclasses.replace(request, messages=messages, response_format=None)
