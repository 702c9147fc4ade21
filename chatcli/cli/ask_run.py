"""What ``chatcli ask`` does once its options are parsed: gather input, send, print, record."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chatcli.cli.common import Env, Globals, resolve
from chatcli.cli.output import Answer, Notifier, Writer, close, consume
from chatcli.errors import APIError, Interrupted, UsageError

if TYPE_CHECKING:
    from chatcli.session import ChatSession
    from chatcli.store import Content, Store


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
    from chatcli.cli.inputs import gather

    env = resolve(g)
    user = gather(opts.prompt, opts.files)
    system = opts.system
    if opts.role:
        role_prompt = env.config.role(opts.role)
        system = system or role_prompt
    system = system if system is not None else env.profile.system
    _send(env, opts, user.content(), system)


def open_store() -> Store:
    """The database in the data dir (created on first use)."""
    from chatcli import paths
    from chatcli.store import Store

    return Store.open(paths.data_dir())


def _session(env: Env, opts: AskOptions, store: Store, system: str | None) -> ChatSession:
    """A one-shot session, or the stored one that -c / --session names."""
    from chatcli.providers import connect
    from chatcli.session import ChatSession

    provider = connect(env.profile, env.config.model_info, debug=env.debug)
    temperature = opts.temperature if opts.temperature is not None else env.profile.temperature
    common = {
        "profile": env.profile.name,
        "model": env.model,
        "model_info": env.config.model_info,
        "temperature": temperature,
        "max_tokens": opts.max_tokens or env.profile.max_tokens,
        "stream": opts.stream,
        "command": "ask",
    }
    row = None
    if opts.cont:
        row = store.latest_session()
    elif opts.session:
        row = store.get_session(opts.session)
    if row is not None:
        session = ChatSession.resume(store, row, provider, **common)  # type: ignore[arg-type]
        if opts.system or opts.role:
            session.set_system(system, opts.role)
        return session
    return ChatSession(
        provider,
        store=store,
        persist=bool(opts.cont or opts.session),
        name=opts.session,
        system=system,
        role=opts.role,
        **common,  # type: ignore[arg-type]
    )


def _send(env: Env, opts: AskOptions, content: Content, system: str | None) -> None:
    notifier = Notifier()
    with open_store() as store:
        from chatcli import budget

        warning = budget.check(store, env.profile, over_budget=opts.over_budget)
        if warning:
            notifier.note(warning)
        session = _session(env, opts, store, system)
        writer = None if opts.json else _writer(opts.markdown or env.profile.markdown)
        events = session.send(content)
        try:
            answer = consume(events, writer, notifier)
        except KeyboardInterrupt:
            close(events)
            if writer is not None:
                writer.abort()
            raise Interrupted("interrupted") from None
        except BaseException:
            close(events)
            if writer is not None:
                writer.abort()
            raise
        if writer is not None:
            writer.finish()
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
