"""Probes that tell whether an endpoint really serves the model it claims.

Relays resell "gpt-4o" that is sometimes a cheaper model renamed. No single answer proves
anything, so several independent probes each report pass / warn / fail / skip with the evidence
they saw, and ``verdict`` weighs them:

1. ``model``: the model the response names (relays can rewrite it, so a pass is weak).
2. ``prompt_tokens``: the reported count of a fixed mixed English/Chinese/code prompt against an
   exact local count with the claimed model's tokenizer; other tokenizers split such text very
   differently. Skipped when no exact tokenizer is available offline (``chatcli.tokens``).
3. ``max_tokens``: a long answer capped at 7 tokens must stop at exactly 7, ``finish_reason``
   "length"; proxies that re-tokenise or ignore the cap miss it.
4. ``stream_usage``: the usage chunk of a stream must arrive and agree with the non-streamed count.
5. ``tool_calls``: a prompt that needs a tool must produce a call with valid JSON arguments. No
   call at all is only a warning: relays often strip ``tools`` while serving the real model.
   Malformed calls fail: that is what small models imitating the format do.
6. ``reasoning``: three short questions weaker models tend to get wrong, answered in a strict
   ``ANSWER: <number>`` line (a refusal that mentions a number is not an answer); weak evidence,
   so at worst a warning, never a failure.
7. ``system_fingerprint``: the official API names its backend configuration (``fp_...``) in
   every response; resellers serving another vendor's model rarely invent one. Weak.
8. ``logprobs``: the official API returns per-token log probabilities on request (not for
   reasoning models); substitutes behind a relay often cannot. Medium.
9. ``seed``: the same request twice with one ``seed`` should give the same answer while the
   fingerprint stays the same. Weak (determinism is best effort even at OpenAI).
10. ``json_schema``: a prompt that invites prose, sent with a strict ``json_schema``
   ``response_format``: an endpoint that honours strict mode answers JSON valid against it.
   Relays that drop ``response_format`` answer prose (warn); a 4xx naming it is a refusal (warn,
   and ``--schema`` then asks in the prompt instead). Medium.

Each check carries its ``strength``: how much a pass or failure says about the model.
Probes 1-3 and 7 share one non-streamed request; in all ten short requests are made.
Every request goes through the ``Provider`` protocol's raw requests (``raw_complete``,
``raw_stream``) because the probes need the raw JSON (``model``, ``usage``, ``tool_calls``)
that the stream-event API of ``chat`` deliberately leaves out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from chatcli.errors import APIError, ChatcliError
from chatcli.events import Message, Notice
from chatcli.pricing import ModelInfo
from chatcli.providers.base import ChatRequest, Provider
from chatcli.providers.shapes import excerpt
from chatcli.safetext import one_line
from chatcli.tokens import count_messages, exact_available, unavailable_reason

Status = Literal["pass", "warn", "fail", "skip"]
Strength = Literal["weak", "medium", "strong"]

STRENGTH: dict[str, Strength] = {
    "model": "weak",
    "prompt_tokens": "strong",
    "max_tokens": "medium",
    "stream_usage": "weak",
    "tool_calls": "medium",
    "reasoning": "weak",
    "system_fingerprint": "weak",
    "logprobs": "medium",
    "seed": "weak",
    "json_schema": "medium",
}
"""How much each probe's result says: a tokenizer mismatch is near proof, a name is not."""

TOKEN_TOLERANCE = 2
"""Reported and local prompt counts may differ by this much (other tokenizers differ by more
on the probe prompt: o200k_base and cl100k_base by 6)."""

PROBE_PROMPT = (
    "Explain in detail, in at least 300 words, what this function does and how to test it. "
    "然后用中文再解释一遍，并给出三个测试用例。\n\n"
    "```python\n"
    "def fib(n: int) -> int:\n"
    '    """Return the n-th Fibonacci number."""\n'
    "    a, b = 0, 1\n"
    "    for _ in range(n):\n"
    "        a, b = b, a + b\n"
    "    return a\n"
    "```"
)
PROBE_MESSAGES: list[Message] = [{"role": "user", "content": PROBE_PROMPT}]
MAX_TOKENS = 7

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
        },
    },
}
TOOL_PROMPT = "What is the weather in Paris right now, in celsius? Use the get_weather tool."

QUESTIONS: tuple[tuple[str, str, int], ...] = (
    (
        "letters",
        'How many times does the letter "r" occur in the word "strawberry"?',
        3,
    ),
    (
        "arithmetic",
        "A train leaves at 9:40 and arrives at 13:15 on the same day. How many minutes does "
        "the trip take?",
        215,
    ),
    (
        "trick",
        "Alice has 3 brothers and 2 sisters. How many sisters does each of Alice's brothers have?",
        3,
    ),
)
ANSWER_FORMAT = "Reply with exactly one line of the form ANSWER: <number> and nothing else."
_ANSWER = re.compile(r"ANSWER:\s*(-?\d+)\.?", re.IGNORECASE)
SEED = 424242
SEED_PROMPT = "Write one sentence of eight random words."
ANSWER_TOKENS = 50
"""Room for a short answer; reasoning models get no cap, they spend tokens thinking first."""


@dataclass(frozen=True)
class Check:
    """One probe's result."""

    name: str
    status: Status
    evidence: str

    @property
    def strength(self) -> Strength:
        """How much this probe's result says about the model."""
        return STRENGTH.get(self.name, "weak")


@dataclass(frozen=True)
class Verdict:
    """The conclusion, and whether it counts as consistent (exit 0) or not (exit 1)."""

    text: str
    consistent: bool


@dataclass(frozen=True)
class Target:
    """What is being verified: the endpoint, the claimed model and what we know about it.

    ``tokenizers`` maps every tiktoken encoding chatcli knows to the models that use it, so a
    prompt count matching another encoding can name the family it points to.
    """

    provider: Provider
    model: str
    info: ModelInfo
    tokenizers: Mapping[str, list[str]]
    on_notice: Callable[[Notice], None] = lambda _notice: None
    on_usage: Callable[[ChatRequest, Mapping[str, Any] | None, str | None, str], None] = (
        lambda _r, _u, _m, _t: None
    )
    """Called once per answered request with its reported ``usage`` (None if it had none),
    the model the response named and the text it generated (answer, refusal and tool calls'
    names and arguments: what an estimate counts when usage is unreported), so the probes'
    tokens land in the usage log like any other's."""
    on_failed: Callable[[ChatRequest, BaseException, Mapping[str, Any] | None], None] = (
        lambda _r, _e, _u: None
    )
    """Called once per request that failed, with its error and the ``usage`` its answer
    reported (None if none): the usage log's rule for failures (``accounting.logs``) is the
    caller's to apply."""


def tokenizer_families(infos: Iterable[ModelInfo]) -> dict[str, list[str]]:
    """encoding -> model names using it, in table order."""
    families: dict[str, list[str]] = {}
    for info in infos:
        if info.tokenizer:
            families.setdefault(info.tokenizer, []).append(info.name)
    return families


# -- requests -------------------------------------------------------------------------------


def complete(target: Target, request: ChatRequest) -> dict[str, Any]:
    """One non-streamed completion as raw JSON; errors are ``chatcli.errors``."""
    try:
        obj = target.provider.raw_complete(request, target.on_notice)
    except (ChatcliError, KeyboardInterrupt) as exc:
        target.on_failed(request, exc, None)
        raise
    if not isinstance(obj, dict) or not isinstance(obj.get("choices"), list) or not obj["choices"]:
        error = APIError(
            f"no answer: the response has no choices: {excerpt(obj, 120)}",
            hint="the endpoint is not answering like an OpenAI-compatible API",
        )
        target.on_failed(request, error, _usage_of(obj) if isinstance(obj, dict) else None)
        raise error
    first = obj["choices"][0]  # an odd one is the probe's to judge; here it generated nothing
    message = first.get("message") if isinstance(first, dict) else None
    generated = _generated(message) if isinstance(message, dict) else ""
    target.on_usage(request, _usage_of(obj), _model_of(obj), generated)
    return obj


def stream(target: Target, request: ChatRequest) -> tuple[list[dict[str, Any]], bool]:
    """Stream ``request`` asking for usage; the raw chunks, and False if it was not streamed."""
    try:
        chunks, streamed = target.provider.raw_stream(request, target.on_notice)
    except (ChatcliError, KeyboardInterrupt) as exc:
        target.on_failed(request, exc, None)
        raise
    usage = next((u for u in map(_usage_of, chunks) if u is not None), None)
    deltas = (_delta(chunk) for chunk in chunks)
    generated = "".join(_generated(delta) for delta in deltas)
    target.on_usage(request, usage, next(filter(None, map(_model_of, chunks)), None), generated)
    return chunks, streamed


def _delta(chunk: Mapping[str, Any]) -> Mapping[str, Any]:
    """A streamed chunk's first choice's delta (empty when the chunk has another shape)."""
    choices = chunk.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    delta = first.get("delta") if isinstance(first, dict) else None
    return delta if isinstance(delta, dict) else {}


def _generated(message: Mapping[str, Any]) -> str:
    """The text a message (or a streamed delta) generated, of whatever shape it came in: its
    content, refusal, reasoning, and tool calls' names and arguments."""
    parts: list[str] = []
    for key in ("content", "refusal", "reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            parts.extend(
                p["text"] for p in value if isinstance(p, dict) and isinstance(p.get("text"), str)
            )
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            parts.extend(
                v for v in (function.get("name"), function.get("arguments")) if isinstance(v, str)
            )
    return "".join(parts)


def _usage_of(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    usage = obj.get("usage")
    return usage if isinstance(usage, dict) else None


def _model_of(obj: Mapping[str, Any]) -> str | None:
    model = obj.get("model")
    return model if isinstance(model, str) and model else None


def _refused(exc: APIError) -> bool:
    """A 4xx answer to one probe's request is evidence about that probe; 429 and 5xx are not."""
    return exc.status is not None and 400 <= exc.status < 500 and exc.status != 429


def _usage(obj: Mapping[str, Any], key: str) -> int | None:
    usage = obj.get("usage")
    value = usage.get(key) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _message(obj: Mapping[str, Any]) -> dict[str, Any]:
    message = obj["choices"][0].get("message")
    return message if isinstance(message, dict) else {}


# -- probes ---------------------------------------------------------------------------------

_VERSION = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4})$")


def base_name(name: str) -> str:
    """``openai/gpt-4o-2024-08-06`` -> ``gpt-4o``: no vendor prefix, no date or version stamp."""
    return _VERSION.sub("", name.rsplit("/", 1)[-1].lower())


def probe_model(target: Target, obj: Mapping[str, Any]) -> Check:
    """The model the response names against the one asked for."""
    answered = obj.get("model")
    if not isinstance(answered, str) or not answered:
        return Check("model", "warn", "the response names no model")
    if answered == target.model:
        return Check("model", "pass", f"the response names {answered}")
    if base_name(answered) == base_name(target.model):
        return Check("model", "pass", f"the response names {answered}, a version of {target.model}")
    return Check("model", "fail", f"asked for {target.model}, the response names {answered}")


def probe_prompt_tokens(target: Target, obj: Mapping[str, Any]) -> Check:
    """Reported prompt tokens of the fixed prompt against exact local counts per tokenizer."""
    name = "prompt_tokens"
    encoding = target.info.tokenizer
    if not exact_available(encoding):
        return Check(name, "skip", unavailable_reason(encoding, target.model))
    assert encoding is not None
    reported = _usage(obj, "prompt_tokens")
    if reported is None:
        return Check(name, "warn", "the response reports no usage.prompt_tokens")
    expected = count_messages(PROBE_MESSAGES, encoding).n
    if abs(reported - expected) <= TOKEN_TOLERANCE:
        return Check(name, "pass", f"reported {reported}; {encoding} counts {expected}")
    for other, users in target.tokenizers.items():
        if other == encoding or not exact_available(other):
            continue
        count = count_messages(PROBE_MESSAGES, other).n
        if abs(reported - count) <= TOKEN_TOLERANCE:
            return Check(
                name,
                "fail",
                f"reported {reported}, but {encoding} counts {expected}; {other} counts "
                f"{count}: the tokenizer of {', '.join(users[:3])}",
            )
    if reported < expected:
        return Check(
            name,
            "fail",
            f"reported {reported}, fewer than the {expected} {encoding} counts: another tokenizer",
        )
    return Check(
        name,
        "warn",
        f"reported {reported}, {reported - expected} more than the {expected} {encoding} "
        "counts: a hidden system prompt, or another tokenizer",
    )


def probe_max_tokens(target: Target, obj: Mapping[str, Any]) -> Check:
    """Whether a long answer capped at ``MAX_TOKENS`` stopped at exactly that many tokens."""
    name = "max_tokens"
    finish = obj["choices"][0].get("finish_reason")
    completion = _usage(obj, "completion_tokens")
    if completion is None:
        return Check(name, "warn", f"no usage.completion_tokens reported (finish_reason {finish})")
    if completion == MAX_TOKENS and finish == "length":
        return Check(name, "pass", f"stopped at exactly {MAX_TOKENS} tokens (finish_reason length)")
    said = f"{completion} completion tokens, finish_reason {finish}"
    if completion > MAX_TOKENS:
        return Check(name, "fail", f"asked for at most {MAX_TOKENS} tokens, got {said}")
    if finish == "length":
        return Check(name, "fail", f"cut short of the {MAX_TOKENS} tokens asked for: {said}")
    return Check(name, "warn", f"asked for a long answer capped at {MAX_TOKENS}, got {said}")


def probe_stream_usage(target: Target, first: Mapping[str, Any]) -> Check:
    """The same request streamed: a usage chunk should arrive and agree with the first count."""
    name = "stream_usage"
    request = ChatRequest(target.model, PROBE_MESSAGES, temperature=0, max_tokens=MAX_TOKENS)
    try:
        chunks, streamed = stream(target, request)
    except APIError as exc:
        if not _refused(exc):
            raise
        return Check(name, "warn", f"the endpoint refused stream_options.include_usage: {exc}")
    if not streamed:
        return Check(name, "warn", "the endpoint answered stream: true with one JSON body")
    usage = next((c for c in reversed(chunks) if _usage(c, "prompt_tokens") is not None), None)
    if usage is None:
        return Check(name, "warn", "no usage chunk in the stream (include_usage ignored)")
    streamed_prompt = _usage(usage, "prompt_tokens")
    plain_prompt = _usage(first, "prompt_tokens")
    if plain_prompt is None or streamed_prompt == plain_prompt:
        return Check(name, "pass", f"usage chunk arrived: {streamed_prompt} prompt tokens")
    return Check(
        name,
        "warn",
        f"streamed usage says {streamed_prompt} prompt tokens, not streamed {plain_prompt}: "
        "the same prompt counted differently",
    )


def probe_tool_calls(target: Target) -> Check:
    """A prompt that needs ``get_weather`` should produce a call with valid JSON arguments."""
    name = "tool_calls"
    request = ChatRequest(
        target.model,
        [{"role": "user", "content": TOOL_PROMPT}],
        temperature=0,
        max_tokens=None if target.info.reasoning else 100,
        extra={"tools": [WEATHER_TOOL], "tool_choice": "auto"},
    )
    try:
        obj = complete(target, request)
    except APIError as exc:
        if not _refused(exc):
            raise
        return Check(name, "warn", f"the endpoint refused the tools parameter: {exc}")
    message = _message(obj)
    calls = message.get("tool_calls")
    if not isinstance(calls, list) or not calls:
        text = str(message.get("content") or "")
        return Check(name, "warn", f"answered in text instead of calling the tool: {text[:60]!r}")
    function = calls[0].get("function") if isinstance(calls[0], dict) else None
    function = function if isinstance(function, dict) else {}
    called, raw = function.get("name"), function.get("arguments")
    if called != "get_weather":
        return Check(name, "fail", f"called {called!r}, a tool that was not offered")
    try:
        args = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        args = None
    if not isinstance(args, dict):
        return Check(name, "fail", f"the tool arguments are not a JSON object: {str(raw)[:60]!r}")
    if "paris" not in str(args.get("city", "")).lower():
        return Check(name, "fail", f"the tool arguments miss the city: {raw}")
    return Check(name, "pass", f"called get_weather({json.dumps(args, ensure_ascii=False)})")


def strict_answer(text: str) -> int | None:
    """The number of a reply that is exactly ``ANSWER: <n>`` (one line), else None.

    Anything else, even a reply containing the right number, is no answer: a refusal that
    mentions "policy 3" must not count as "3".
    """
    match = _ANSWER.fullmatch(text.strip())
    return int(match.group(1)) if match else None


def probe_reasoning(target: Target) -> Check:
    """Short questions weaker models often miss; weak evidence, so never worse than a warning."""
    wrong: list[str] = []
    for label, question, expected in QUESTIONS:
        request = ChatRequest(
            target.model,
            [{"role": "user", "content": f"{question} {ANSWER_FORMAT}"}],
            temperature=0,
            max_tokens=None if target.info.reasoning else ANSWER_TOKENS,
        )
        try:
            text = str(_message(complete(target, request)).get("content") or "")
        except APIError as exc:
            if not _refused(exc):
                raise
            wrong.append(f"{label}: refused ({exc.status})")
            continue
        answer = strict_answer(text)
        if answer is None:
            wrong.append(f"{label}: no ANSWER line in {text.strip()[:30]!r}")
        elif answer != expected:
            wrong.append(f"{label}: answered {answer}, expected {expected}")
    right = len(QUESTIONS) - len(wrong)
    if not wrong:
        return Check("reasoning", "pass", f"{right}/{len(QUESTIONS)} answered right")
    return Check(
        "reasoning",
        "warn",
        f"{right}/{len(QUESTIONS)} answered right ({'; '.join(wrong)}); weak evidence",
    )


def probe_fingerprint(obj: Mapping[str, Any]) -> Check:
    """The official API names its backend build in ``system_fingerprint`` (``fp_...``)."""
    name = "system_fingerprint"
    fingerprint = obj.get("system_fingerprint")
    if isinstance(fingerprint, str) and fingerprint.strip():
        return Check(name, "pass", f"system_fingerprint {fingerprint}")
    return Check(name, "warn", "the response has no system_fingerprint, which OpenAI sends")


def probe_logprobs(target: Target) -> Check:
    """Asked for ``logprobs``, the official API returns one per generated token."""
    name = "logprobs"
    if target.info.reasoning:
        return Check(name, "skip", f"{target.model} is a reasoning model: OpenAI has no logprobs")
    request = ChatRequest(
        target.model,
        [{"role": "user", "content": "Say hello in five words."}],
        temperature=0,
        max_tokens=10,
        extra={"logprobs": True, "top_logprobs": 2},
    )
    try:
        obj = complete(target, request)
    except APIError as exc:
        if not _refused(exc):
            raise
        return Check(name, "warn", f"the endpoint refused logprobs, which OpenAI accepts: {exc}")
    logprobs = obj["choices"][0].get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list) or not content:
        return Check(name, "warn", "asked for logprobs, the response has none")
    values = [t.get("logprob") for t in content if isinstance(t, dict)]
    if len(values) != len(content) or not all(
        isinstance(v, int | float) and v <= 0 for v in values
    ):
        return Check(name, "fail", "logprobs are malformed (missing or positive values)")
    return Check(name, "pass", f"{len(content)} tokens with log probabilities")


def probe_seed(target: Target) -> Check:
    """The same request twice with one ``seed``: the same answer while the fingerprint holds."""
    name = "seed"
    answers: list[tuple[str, object]] = []
    for _ in range(2):
        request = ChatRequest(
            target.model,
            [{"role": "user", "content": SEED_PROMPT}],
            temperature=None if target.info.reasoning else 1.0,
            max_tokens=None if target.info.reasoning else 20,
            extra={"seed": SEED},
        )
        try:
            obj = complete(target, request)
        except APIError as exc:
            if not _refused(exc):
                raise
            return Check(name, "warn", f"the endpoint refused seed, which OpenAI accepts: {exc}")
        answers.append((str(_message(obj).get("content") or ""), obj.get("system_fingerprint")))
    (first, fp1), (second, fp2) = answers
    if first == second:
        return Check(name, "pass", f"seed {SEED} gave the same answer twice")
    if fp1 != fp2:
        return Check(name, "skip", "the backend changed between the two requests (fingerprint)")
    return Check(name, "warn", f"seed {SEED} gave two different answers on one fingerprint")


JSON_SCHEMA_PROMPT = "Say hello in French, in one word and nothing else."
JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "greeting": {"type": "string"},
        "language": {"type": "string", "enum": ["en", "fr", "de", "other"]},
        "letters": {"type": "integer"},
    },
    "required": ["greeting", "language", "letters"],
    "additionalProperties": False,
}
REFUSED_JSON_SCHEMA = "the endpoint refused response_format json_schema"
"""How the json_schema check starts when the endpoint refuses it (``run`` remembers that)."""


def probe_json_schema(target: Target) -> Check:
    """Strict ``json_schema`` must give JSON valid against the schema, even for a prompt
    that asks for prose."""
    from chatcli.features.schema.check import NotJSON, errors, parse_reply
    from chatcli.features.schema.turn import names_response_format, rejects_schema
    from chatcli.providers.base import ResponseFormat

    name = "json_schema"
    request = ChatRequest(
        target.model,
        [{"role": "user", "content": JSON_SCHEMA_PROMPT}],
        temperature=0,
        max_tokens=None if target.info.reasoning else 100,
        response_format=ResponseFormat("greeting", JSON_SCHEMA, strict=True),
    )
    try:
        obj = complete(target, request)
    except APIError as exc:
        if not _refused(exc):
            raise
        if names_response_format(exc.message) and not rejects_schema(exc.message):
            return Check(name, "warn", f"{REFUSED_JSON_SCHEMA}: {exc.message}")
        return Check(name, "warn", f"the endpoint refused a strict json_schema request: {exc}")
    message = _message(obj)
    if isinstance(message.get("refusal"), str) and message["refusal"]:
        return Check(name, "skip", f"the model refused: {message['refusal'][:60]!r}")
    text = str(message.get("content") or "")
    try:
        data = parse_reply(text)
    except NotJSON:
        return Check(name, "warn", f"json_schema ignored: answered {text[:60]!r}")
    found = errors(data, JSON_SCHEMA)
    if found:
        return Check(name, "warn", f"strict json_schema not honoured: {found[0]}")
    shown = json.dumps(data, ensure_ascii=False)[:80]
    return Check(name, "pass", f"strict json_schema honoured: {shown}")


def run(target: Target, on_check: Callable[[Check], None] = lambda _check: None) -> list[Check]:
    """Every probe in order; ``on_check`` sees each result as soon as it is known.

    An error on the first request ends the run (nothing can be verified); later 4xx answers
    and answers of an odd shape become evidence of the probe that caused them (it fails);
    an outage (5xx, a 429 or a timeout answer left after the retries), network, auth and other
    errors end the run with their own exit code: an outage says nothing of the model.
    """
    checks: list[Check] = []

    def add(name: str, probe: Callable[[], Check]) -> None:
        try:
            check = probe()
        except APIError as exc:
            if exc.status is not None and (exc.status in (408, 429) or exc.status >= 500):
                raise
            check = Check(name, "fail", f"odd answer: {exc.message}")  # evidence, not the run
        except (LookupError, TypeError, ValueError, AttributeError) as exc:
            check = Check(name, "fail", f"odd answer: {type(exc).__name__} {one_line(str(exc))}")
        checks.append(check)
        on_check(check)

    try:
        first = complete(
            target,
            ChatRequest(target.model, PROBE_MESSAGES, temperature=0, max_tokens=MAX_TOKENS),
        )
    except APIError as exc:
        _responses_only_hint(exc, target.model)
        raise
    add("model", lambda: probe_model(target, first))
    add("prompt_tokens", lambda: probe_prompt_tokens(target, first))
    add("max_tokens", lambda: probe_max_tokens(target, first))
    add("system_fingerprint", lambda: probe_fingerprint(first))
    add("stream_usage", lambda: probe_stream_usage(target, first))
    add("tool_calls", lambda: probe_tool_calls(target))
    add("reasoning", lambda: probe_reasoning(target))
    add("logprobs", lambda: probe_logprobs(target))
    add("seed", lambda: probe_seed(target))
    add("json_schema", lambda: probe_json_schema(target))
    return checks


def _responses_only_hint(exc: APIError, model: str) -> None:
    """A model served over the Responses API only (OpenAI's pro and codex models): the
    probes read Chat Completions' fields, so verify cannot check it; say so instead of
    leaving the endpoint's words alone."""
    from chatcli.providers.wire import responses_only

    if responses_only(exc.status or 0, exc.message):
        exc.hint = (
            f"{model} is served over the Responses API only, and verify's probes use Chat "
            "Completions (they read its fields): verify cannot check this model"
        )


def verdict(model: str, checks: list[Check]) -> Verdict:
    """Any failure: likely not MODEL. Two or more warnings: suspicious. Otherwise consistent."""

    def names(status: Status) -> list[str]:
        return [c.name for c in checks if c.status == status]

    failed, warned, skipped = names("fail"), names("warn"), names("skip")
    if failed:
        return Verdict(f"likely not {model}: {', '.join(failed)} failed", False)
    if len(warned) >= 2:
        return Verdict(f"suspicious: {', '.join(warned)} warned", False)
    notes = [
        f"{', '.join(found)} {what}"
        for found, what in ((warned, "warned"), (skipped, "skipped"))
        if found
    ]
    suffix = f" ({'; '.join(notes)})" if notes else ""
    return Verdict(f"consistent with {model}{suffix}", True)
