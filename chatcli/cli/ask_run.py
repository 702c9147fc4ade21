"""What ``chatcli ask`` does once its options are parsed: gather input, send, print, record."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from chatcli.cli.common import Env, Globals, resolve
from chatcli.cli.output import Notifier, Writer
from chatcli.errors import APIError, Interrupted, UsageError
from chatcli.events import Finish, Notice, StreamEvent, TextDelta, Usage


@dataclass
class AskOptions:
    """The parsed options of ``ask``."""

    prompt: list[str]
    files: list[Path]
    system: str | None = None
    role: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = True
    markdown: str | None = None
    json: bool = False
    cont: bool = False
    session: str | None = None


@dataclass
class Answer:
    """What came back, for --json and the finish checks."""

    text: list[str] = field(default_factory=list)
    usage: Usage | None = None
    finish: Finish | None = None
    ttft: float | None = None


def consume(events: Iterator[StreamEvent], writer: Writer | None, notifier: Notifier) -> Answer:
    """Feed text to ``writer`` as it arrives; notices to stderr; collect usage and finish."""
    answer = Answer()
    started = time.perf_counter()
    for event in events:
        if isinstance(event, TextDelta):
            if answer.ttft is None:
                answer.ttft = time.perf_counter() - started
                notifier.end_line()
            answer.text.append(event.text)
            if writer is not None:
                writer.feed(event.text)
        elif isinstance(event, Notice):
            notifier.notice(event)
        elif isinstance(event, Usage):
            answer.usage = event
        elif isinstance(event, Finish):
            answer.finish = event
    return answer


def run(g: Globals, opts: AskOptions) -> None:
    """Run one ``ask``; raises chatcli errors for the funnel in ``__main__``."""
    if opts.cont and opts.session:
        raise UsageError("use either -c/--continue or --session NAME, not both")
    from chatcli.cli.inputs import gather

    env = resolve(g)
    user = gather(opts.prompt, opts.files)
    system = opts.system
    if opts.role:
        role_prompt = env.config.role(opts.role)
        system = system or role_prompt
    system = system if system is not None else env.profile.system
    _send(env, opts, user.content(), system)


def _send(env: Env, opts: AskOptions, content: object, system: str | None) -> None:
    from chatcli.providers import connect
    from chatcli.providers.base import ChatRequest

    provider = connect(env.profile, env.config.model_info, debug=env.debug)
    messages: list[dict[str, object]] = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": content})
    temperature = opts.temperature if opts.temperature is not None else env.profile.temperature
    request = ChatRequest(
        model=env.model,
        messages=messages,
        temperature=temperature,
        max_tokens=opts.max_tokens or env.profile.max_tokens,
        stream=opts.stream,
    )
    notifier = Notifier()
    writer = None if opts.json else _writer(opts.markdown or env.profile.markdown)
    events = provider.chat(request)
    try:
        answer = consume(events, writer, notifier)
    except KeyboardInterrupt:
        events.close()
        if writer is not None:
            writer.abort()
        raise Interrupted("interrupted") from None
    except BaseException:
        events.close()
        if writer is not None:
            writer.abort()
        raise
    if writer is not None:
        writer.finish()
    _report(env, opts, answer, notifier)


def _writer(mode: str) -> Writer:
    from chatcli.render import make_writer

    return make_writer(mode, sys.stdout)


def _report(env: Env, opts: AskOptions, answer: Answer, notifier: Notifier) -> None:
    reason = answer.finish.reason if answer.finish else None
    if opts.json:
        from chatcli.models import cost_usd

        usage = answer.usage
        cost = (
            cost_usd(env.config.model_info(env.model), usage.prompt_tokens, usage.completion_tokens)
            if usage
            else None
        )
        obj = {
            "answer": "".join(answer.text),
            "model": (answer.finish.model if answer.finish else None) or env.model,
            "profile": env.profile.name,
            "usage": {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "estimated": usage.estimated,
            }
            if usage
            else None,
            "cost_usd": cost,
            "finish_reason": reason,
            "session": None,
        }
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    if reason == "length":
        notifier.note("the answer was cut at the token limit (finish_reason=length)")
    elif reason == "content_filter":
        raise APIError(
            "the answer was stopped by the provider's content filter",
            hint="rephrase the question",
        )
