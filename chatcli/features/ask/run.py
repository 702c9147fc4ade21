"""What ``chatcli ask`` does once its options are parsed: gather input, send, print, record."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chatcli.errors import ChatcliError, UsageError
from chatcli.output import Notifier, Writer, check_finish, stream_to
from chatcli.pricing import json_usd
from chatcli.settings.resolve import Env, Globals, SessionChoice, open_session, resolve

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
    if opts.session is not None:
        from chatcli.store import check_session_name

        check_session_name(opts.session)  # before anything is sent and paid for
    from chatcli.features.usage import budget
    from chatcli.inputs import gather
    from chatcli.providers import connect
    from chatcli.store import open_default

    env = resolve(g)
    content = gather(opts.prompt, opts.files, profile=env.profile).content()
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
        try:
            finish = stream_to(session.send(content), writer, notifier)
        except ChatcliError as exc:
            if opts.json and session.last_turn is not None:  # a cut answer, kept: say so
                _print_json(env, session, {"incomplete": True, "error": exc.message})
            elif session.last_turn is not None and session.name:
                notifier.note(f"the partial answer was kept in session {session.name!r}")
            raise
        _report(env, opts, session)
        check_finish(finish, notifier)


def _writer(mode: str) -> Writer:
    from chatcli.render import make_writer

    return make_writer(mode, sys.stdout)


def _report(env: Env, opts: AskOptions, session: ChatSession) -> None:
    turn = session.last_turn
    if opts.json and turn is not None:
        _print_json(env, session, {})


def _print_json(env: Env, session: ChatSession, extra: dict[str, object]) -> None:
    """The ``--json`` object of the last turn (``extra`` says when it is incomplete)."""
    turn = session.last_turn
    assert turn is not None
    obj = {
        "answer": turn.text,
        "model": turn.model,
        "profile": env.profile.name,
        "usage": {
            "prompt_tokens": turn.prompt_tokens,
            "completion_tokens": turn.completion_tokens,
            "estimated": turn.estimated,
        },
        "cost_usd": json_usd(turn.cost_usd),
        "finish_reason": turn.finish_reason,
        "session": session.name,
        **extra,
    }
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
