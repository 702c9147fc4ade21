"""What ``chatcli ask`` does once its options are parsed: gather input, send, print, record.

Every ask is a conversation in the store (marked one-shot when it has no name), so ``ask -c``
continues the last exchange, whatever made it; ``--no-log`` or ``log = false`` in
``[defaults]`` keep the text out of the store (the usage log still counts tokens and cost).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chatcli.errors import APIError
from chatcli.output import Answer, Notifier, Writer, stream_to
from chatcli.settings.resolve import ChatFlags, Globals

if TYPE_CHECKING:
    from chatcli.session import ChatSession


@dataclass(frozen=True)
class AskInput:
    """What ``ask`` sends and how it prints, besides the conversation's settings."""

    prompt: list[str]
    files: list[Path]
    json: bool = False
    extract: bool = False  # -x: print only the fenced code of the answer
    over_budget: bool = False


def run(g: Globals, flags: ChatFlags, what: AskInput) -> None:
    """Run one ``ask``; raises chatcli errors for the funnel in ``__main__``."""
    from chatcli.features.conversation import open_conversation, pick
    from chatcli.features.usage import budget
    from chatcli.inputs import gather
    from chatcli.store import open_default

    notifier = Notifier()
    with open_default() as store:
        pick(store, flags)  # -c with --session is refused before stdin is read
        content = gather(what.prompt, what.files).content()
        opened = open_conversation(g, flags, store, command="ask", one_shot=True)
        for note in opened.notes:
            notifier.note(note)
        settings = opened.settings
        budget.check(store, settings.profile, over_budget=what.over_budget, warn=notifier.note)
        quiet = what.json or what.extract
        writer = None if quiet else _writer(settings.markdown)
        answer = stream_to(opened.session.send(content), writer, notifier)
        _report(what, opened.session, answer, notifier)


def _writer(mode: str) -> Writer:
    from chatcli.render import make_writer

    return make_writer(mode, sys.stdout)


def _report(what: AskInput, session: ChatSession, answer: Answer, notifier: Notifier) -> None:
    reason = answer.finish.reason if answer.finish else None
    turn = session.last_turn
    code = None
    if what.extract and turn is not None:
        from chatcli.features.ask.extract import code_blocks

        blocks = code_blocks(turn.text)
        if not blocks:
            notifier.note("the answer has no fenced code block; printing it whole")
            blocks = [turn.text.strip() + "\n"]
        code = "".join(blocks)
    if what.json and turn is not None:
        obj = {
            "answer": turn.text,
            "model": turn.model,
            "profile": session.profile,
            "usage": {
                "prompt_tokens": turn.prompt_tokens,
                "completion_tokens": turn.completion_tokens,
                "estimated": turn.estimated,
            },
            "cost_usd": turn.cost_usd,
            "finish_reason": turn.finish_reason,
            "session": session.name,
        }
        if code is not None:
            obj["code"] = code
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    elif code is not None:
        sys.stdout.write(code)
    if reason == "length":
        notifier.note("the answer was cut at the token limit (finish_reason=length)")
    elif reason == "content_filter":
        raise APIError(
            "the answer was stopped by the provider's content filter",
            hint="rephrase the question",
        )
