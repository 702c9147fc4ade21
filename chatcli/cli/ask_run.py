"""What ``chatcli ask`` does once its options are parsed: gather input, send, print, record."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chatcli.context import Env, Globals, SessionChoice, open_session, resolve
from chatcli.errors import APIError, UsageError
from chatcli.output import Answer, Notifier, Writer, quiet_keys, stream_to

if TYPE_CHECKING:
    from chatcli.session import ChatSession


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
    over_budget: bool = False


def run(g: Globals, opts: AskOptions) -> None:
    """Run one ``ask``; raises chatcli errors for the funnel in ``__main__``."""
    if opts.cont and opts.session:
        raise UsageError("use either -c/--continue or --session NAME, not both")
    from chatcli import budget
    from chatcli.inputs import gather
    from chatcli.providers import connect
    from chatcli.store import open_default

    env = resolve(g)
    content = gather(opts.prompt, opts.files).content()
    choice = SessionChoice(
        cont=opts.cont,
        name=opts.session,
        persist=bool(opts.cont or opts.session),
        system=opts.system,
        role=opts.role,
        temperature=opts.temperature,
        max_tokens=opts.max_tokens,
        stream=opts.stream,
        command="ask",
    )
    notifier = Notifier()
    with open_default() as store:
        budget.check(store, env.profile, over_budget=opts.over_budget, warn=notifier.note)
        provider = connect(env.profile, env.config.model_info, debug=env.debug)
        session = open_session(env, g, choice, store, provider)
        writer = None if opts.json else _writer(opts.markdown or env.profile.markdown)
        with quiet_keys(sys.stdout):
            answer = stream_to(session.send(content), writer, notifier)
        _report(env, opts, session, answer, notifier)


def _writer(mode: str) -> Writer:
    from chatcli.render import make_writer

    return make_writer(mode, sys.stdout)


def _report(
    env: Env, opts: AskOptions, session: ChatSession, answer: Answer, notifier: Notifier
) -> None:
    reason = answer.finish.reason if answer.finish else None
    turn = session.last_turn
    if opts.json and turn is not None:
        obj = {
            "answer": turn.text,
            "model": turn.model,
            "profile": env.profile.name,
            "usage": {
                "prompt_tokens": turn.prompt_tokens,
                "completion_tokens": turn.completion_tokens,
                "estimated": turn.estimated,
            },
            "cost_usd": turn.cost_usd,
            "finish_reason": turn.finish_reason,
            "session": session.name,
        }
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    if reason == "length":
        notifier.note("the answer was cut at the token limit (finish_reason=length)")
    elif reason == "content_filter":
        raise APIError(
            "the answer was stopped by the provider's content filter",
            hint="rephrase the question",
        )
