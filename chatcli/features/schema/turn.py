"""One structured turn: ask for JSON matching a schema, check it, retry once, or fail.

The request carries the strict form of the schema (``response_format`` / ``text.format``).
Whatever comes back is validated locally against the user's own schema, because relays drop
``response_format`` without a word and strict mode does not cover every keyword. An answer that
does not validate gets one retry, a follow-up turn quoting the validation errors and the schema
(so a model that never saw the schema sees it now); a second failure is ``SchemaMismatch``
(exit 5). Both replies stay in the session, so nothing paid for is lost, but only a valid
answer is ever returned to be printed.

How the JSON is asked for goes down a ladder (``LEVELS``) as the endpoint refuses: a strict
``json_schema``; a ``json_object`` with the schema in the prompt (models and relays without
structured outputs); the schema in the prompt alone. A 400 saying a format is not supported is
noted for the profile and model in the database (``store.quirks``), so the next run starts on
the step that works, and the user is told once, when it is found. Any other 400 naming
``response_format`` ("Invalid schema for response_format": this schema only) takes the next
step for this answer alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chatcli.errors import APIError, ChatcliError, SchemaMismatch
from chatcli.features.flow import take_turn
from chatcli.features.schema import check
from chatcli.features.schema.spec import Schema
from chatcli.features.schema.strict import strip_nulls
from chatcli.output import Notifier
from chatcli.providers.base import ResponseFormat

if TYPE_CHECKING:
    from chatcli.events import Content, StreamEvent
    from chatcli.session import ChatSession, TurnResult
    from chatcli.store import Store

LEVELS = ("json_schema", "json_object", "prompt")
"""How the JSON is asked for, best first."""
QUIRKS = ("no_json_schema", "no_response_format")
"""``store.quirks`` names: the endpoint refuses ``LEVELS[i]`` (so it starts at ``i + 1``)."""

First = Callable[["Content", "ResponseFormat | None"], Iterator["StreamEvent"]]
"""The first request of a structured turn, given the message and the format to ask with: a
new message by default; the REPL's ``/regenerate``, ``/edit`` and ``/retry`` ask theirs."""


@dataclass(frozen=True)
class Answer:
    """A valid answer: the data (user's schema, optional nulls dropped) and the reply text."""

    data: Any
    text: str


def names_response_format(message: str) -> bool:
    """Whether an error blames structured output (the only reason to fall back)."""
    lowered = message.lower()
    return any(word in lowered for word in ("response_format", "json_schema", "text.format"))


_REFUSING = (
    "not supported", "unsupported", "does not support", "unrecognized", "unknown", "not allowed",
    "not permitted", "extra inputs", "extra_forbidden", "unexpected keyword",
)  # fmt: skip


def rejects_schema(message: str) -> bool:
    """Whether a 400 naming ``response_format`` is about this request rather than the
    parameter itself ("Invalid schema for response_format ...": a keyword or a depth its strict
    mode does not allow; anything that does not say the parameter is unsupported). That says
    nothing about the next request, so it is not remembered."""
    lowered = message.lower()
    return "invalid schema" in lowered or not any(word in lowered for word in _REFUSING)


def request_format(
    schema: Schema, level: int, notifier: Notifier | None = None
) -> ResponseFormat | None:
    """The ``response_format`` of step ``level`` of ``LEVELS``."""
    if level == 0:
        return response_format(schema, notifier)
    if level == 1:
        return ResponseFormat(schema.name, {}, strict=False, json_object=True)
    return None


def response_format(schema: Schema, notifier: Notifier | None = None) -> ResponseFormat:
    """The strict form to send; says on stderr when the schema cannot be strict."""
    strict = schema.strict()
    if strict.why_not and notifier is not None:
        notifier.note(
            f"the schema cannot be sent in strict mode ({strict.why_not}); the endpoint is "
            "asked without it and the answer is checked here"
        )
    return ResponseFormat(schema.name, strict.schema, strict.strict)


def schema_text(schema: Schema) -> str:
    return json.dumps(schema.root, ensure_ascii=False)


def with_instructions(content: Content, schema: Schema) -> Content:
    """``content`` asking for the JSON in words (for endpoints without ``response_format``)."""
    words = (
        "\n\nReply with only one JSON object, no other text and no code fence, that is valid "
        f"against this JSON Schema:\n{schema_text(schema)}"
    )
    if isinstance(content, str):
        return content + words
    return [*content, {"type": "text", "text": words.lstrip()}]


def retry_message(problems: list[str], schema: Schema) -> str:
    """The follow-up that asks again, naming what was wrong."""
    listed = "\n".join(f"- {p}" for p in problems[:10])
    return (
        f"Your reply is not valid against the required JSON Schema:\n{listed}\n"
        "Reply again with only the corrected JSON object, no other text and no code fence. "
        f"The JSON Schema:\n{schema_text(schema)}"
    )


def judge(text: str, schema: Schema) -> tuple[list[str], Any]:
    """The validation errors of a reply (empty when valid) and its data as printed. A reply
    the validator fails on (the schema was checked before sending, so this should not
    happen) is not valid either: never an exception after the answer was paid for."""
    try:
        raw = check.parse_reply(text)
        data = schema.unwrap(strip_nulls(raw, schema.root))
        return schema.errors(data), data
    except check.NotJSON as exc:
        return [str(exc)], None
    except check.Unchecked as exc:
        return [f"the reply could not be checked against the schema ({exc})"], None
    except RecursionError:  # a hostile reply: nested beyond what can be walked
        return ["the reply nests too deeply to be checked"], None


class Turn:
    """Structured turns of one session (``ask`` makes one; the REPL one per ``/schema``)."""

    def __init__(self, session: ChatSession, store: Store | None, notifier: Notifier) -> None:
        self.session = session
        self.store = store
        self.notifier = notifier
        self.replies: list[TurnResult] = []  # every reply of the last ``ask``, partial ones too
        self.sent: list[Content] = []  # the messages the last ``ask`` sent (its retry's too)

    def _start(self) -> int:
        """The first step of ``LEVELS`` this profile and model have not refused."""
        if self.store is None:
            return 0
        from chatcli.store import quirks

        s = self.session
        for level in (1, 0):
            if quirks.noted(self.store, s.profile, s.model, QUIRKS[level]) is not None:
                return level + 1
        return 0

    def _remember(self, level: int, exc: APIError) -> None:
        s = self.session
        if self.store is not None:
            from chatcli.store import quirks

            quirks.note(self.store, s.profile, s.model, QUIRKS[level], exc.message)

    def _send(
        self, content: Content, fmt: ResponseFormat | None, first: First | None = None
    ) -> str:
        start = first or (lambda c, f: self.session.send(c, response_format=f))
        self.sent.append(content)
        try:
            take_turn(lambda: start(content, fmt), None, self.notifier)
        finally:  # refused, filtered or cut: what came back was paid for all the same
            turn = self.session.last_turn
            if turn is not None and not any(turn is r for r in self.replies):
                self.replies.append(turn)
        return turn.text if turn is not None else ""

    def _first(
        self, content: Content, schema: Schema, first: First | None
    ) -> tuple[str, ResponseFormat | None]:
        """The first reply, going down ``LEVELS`` while the endpoint refuses a format; the
        reply and the format that was taken (the retry asks the same way)."""
        level = self._start()
        refused: list[tuple[int, APIError]] = []
        this_schema = False  # a 400 about this schema only: a step down for this answer
        while True:
            fmt = request_format(schema, level, self.notifier if level == 0 else None)
            try:
                text = self._send(
                    content if level == 0 else with_instructions(content, schema), fmt, first
                )
                break
            except APIError as exc:
                if level == 2 or exc.status not in (400, 422):
                    raise
                if not names_response_format(exc.message):
                    raise
                if rejects_schema(exc.message):
                    this_schema = True
                else:
                    self._remember(level, exc)
                    refused.append((level, exc))
                level += 1
        if refused:
            s, (last, error) = self.session, refused[-1]
            names = " or ".join(LEVELS[i] for i, _ in refused)
            instead = "a JSON object" if last == 0 and level == 1 else "the JSON"
            self.notifier.note(
                f"{s.profile} refuses response_format {names} for {s.model} ({error.message}); "
                f"asking for {instead} with the schema in the prompt and checking it here "
                "(remembered; `chatcli verify` checks again)"
            )
        elif this_schema:
            self.notifier.note(
                "the endpoint did not take the schema in strict mode; asking for the JSON with "
                "the schema in the prompt and checking it here instead"
            )
        return text, fmt

    def ask(self, content: Content, schema: Schema, first: First | None = None) -> Answer:
        """Send ``content`` (or ask ``first``); the valid answer, or ``SchemaMismatch`` after
        one retry. A first reply cut at the token limit is not retried: the retry, asked with
        the same limit, would be cut too."""
        self.replies, self.sent = [], []
        text, fmt = self._first(content, schema, first)
        problems, data = judge(text, schema)
        if not problems:
            return Answer(data, text)
        turn = self.session.last_turn
        if turn is not None and turn.finish_reason == "length":
            raise self._mismatch(problems, schema)
        self.notifier.note(
            f"the answer is not valid against {schema.source} ({check.summary(problems)}); "
            "asking once more"
        )
        text = self._send(retry_message(problems, schema), fmt)
        problems, data = judge(text, schema)
        if not problems:
            return Answer(data, text)
        raise self._mismatch(problems, schema)

    def _mismatch(self, problems: list[str], schema: Schema) -> SchemaMismatch:
        """The failure of the last reply, with hints: raise the token limit, where it is kept."""
        name, turn = self.session.name, self.session.last_turn
        hints = []
        if turn is not None and turn.finish_reason == "length":
            hints.append("the answer was cut at the token limit: raise --max-tokens")
        if name:
            hints.append(f"the replies are kept: chatcli sessions show {name}")
        return SchemaMismatch(
            f"the answer is not valid against {schema.source}: {check.summary(problems)}",
            problems,
            hint="; ".join(hints) or None,
        )


def json_fields(replies: list[TurnResult], error: ChatcliError | None = None) -> dict[str, Any]:
    """What ``ask --schema --json`` puts over the last reply's fields: ``usage`` and
    ``cost_usd`` of every reply (a retried first one included: the command paid for both),
    ``data: null`` and the ``error`` when it failed, and as plain ``--json`` says them, the
    model's words when it refused (``refusal``, with an empty ``answer``) and ``incomplete``
    for a reply that was cut."""
    from chatcli.pricing import json_usd

    last = replies[-1]
    costs = [r.cost_usd for r in replies]
    fields: dict[str, Any] = {
        "usage": {
            "prompt_tokens": sum(r.prompt_tokens for r in replies),
            "completion_tokens": sum(r.completion_tokens for r in replies),
            "cached_tokens": sum(r.cached_tokens for r in replies),
            "reasoning_tokens": sum(r.reasoning_tokens for r in replies),
            "estimated": any(r.estimated for r in replies),
        },
        "cost_usd": None if None in costs else json_usd(sum(c for c in costs if c is not None)),
    }
    if error is None:
        return fields
    fields["data"] = None
    if last.finish_reason == "refusal":
        fields.update(answer="", refusal=last.text)
    elif last.interrupted and not isinstance(error, SchemaMismatch):
        fields["incomplete"] = True
    fields["error"] = error.message
    return fields
