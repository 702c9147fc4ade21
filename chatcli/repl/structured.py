"""``/schema SPEC``: the next turn of the chat answers with JSON valid against SPEC
(``chat --schema SPEC``: every turn, until ``/schema off``).

The REPL side of ``features.schema``: the command keeps the schema for one turn, and that
turn goes through the same ``Turn`` as ``ask --schema`` (strict ``response_format``, local
validation, one retry, the remembered fallback); the valid JSON is printed indented. Both the
question and the reply stay in the conversation like any other turn; the footer counts every
request the answer took (a retry included: ``… · 2 requests``), as a tool turn's does. Each
request passes the budget Gate, the retry too. A schema turn sends no tools (as ``ask``
refuses ``--schema`` with ``-T``), so ``/schema SPEC`` is refused while tools are on, and
``/tools on`` while a schema is set.

A structured turn asked again (``/regenerate``, ``/edit``, ``/retry``) is asked under the schema
it was asked under (remembered per message while the REPL runs: ``repl.asked``), else under
``chat --schema``'s, and checked the same way; a ``/schema SPEC`` set for the next turn applies
to it too.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from chatcli.errors import ChatcliError, Interrupted, UsageError

if TYPE_CHECKING:
    from chatcli.events import Content
    from chatcli.features.schema.spec import Schema
    from chatcli.features.schema.turn import First
    from chatcli.repl.loop import Repl

USAGE = "usage: /schema SPEC (fields 'name, age int', a file, inline JSON or @NAME), " \
    "/schema multi SPEC for a list of them, /schema off"  # fmt: skip


def command(repl: Repl, arg: str) -> None:
    """``/schema [multi] SPEC``, ``/schema off``, or ``/schema`` to show what is set."""
    from chatcli.features.schema.spec import load

    text = arg.strip()
    if not text:
        if repl.schema is not None:
            repl.say(f"the next reply will be JSON valid against {repl.schema.source}")
        elif repl.standing_schema is not None:
            repl.say(f"every reply is JSON valid against {repl.standing_schema.source}")
        else:
            repl.say(f"no schema set; {USAGE}")
        return
    if text == "off":
        repl.schema = repl.standing_schema = None
        repl.asked.clear()  # turns asked under one are asked again as text too
        repl.say("schema cleared: replies are text again", dim=True)
        return
    box = repl.tools
    if box is not None and box.enabled:  # a schema turn sends no tools: say so, do not drop them
        raise UsageError(
            "/schema cannot be used while tools are on yet: /tools off all turns them off"
        )
    multi = text.split(" ", 1)[0] == "multi"
    spec = text[len("multi") :].strip() if multi else text
    if not spec:
        raise UsageError(USAGE)
    config = repl.ctx.config
    repl.schema = load(spec, config.schemas, multi=multi, config_dir=config.path.parent)
    repl.say(
        f"the next reply will be JSON valid against {repl.schema.source} (/schema off cancels)",
        dim=True,
    )


def _row(repl: Repl) -> int | None:
    row = repl.session.row
    return row.id if row is not None else None


def _key(content: Content) -> str:
    return json.dumps(content, sort_keys=True)


def again(repl: Repl, content: Content | None) -> Schema | None:
    """The schema the message ``content`` is asked again under (``/regenerate``, ``/edit``,
    ``/retry``): a ``/schema`` set for the next turn, else the one it was asked under, else
    ``chat --schema``'s; None: it is asked as text."""
    if repl.schema is not None:
        return repl.schema
    if content is None or _key(content) not in repl.asked:
        return repl.standing_schema
    row, asked = repl.asked[_key(content)]
    if row is not None and row != _row(repl):  # the same words in another conversation
        return repl.standing_schema
    return asked


def edit(repl: Repl, number: int) -> First:
    """The first request of ``/edit N`` as a structured turn: turn ``number`` replaced."""
    return lambda content, fmt: repl.session.edit(number, content, response_format=fmt)


def retried(repl: Repl) -> Content | None:
    """The message ``/retry`` asks again (as ``ChatSession.retry`` picks it), or None."""
    s = repl.session
    try:
        if s.failed_edit is not None:
            return s.failed_edit.content
        if s.failed_turn is not None:
            return s.turn_content(s.failed_turn)
        if s.unanswered is not None:
            return s.unanswered
        turns = s.turns()
        if turns:
            return s.turn_content(turns[-1][0])
    except ChatcliError:  # for the retry itself to report
        return None
    users = [m for m in s.history if m.role == "user"]
    return users[-1].content if users else None


def send(repl: Repl, content: Content, schema: Schema, first: First | None = None) -> None:
    """One structured turn: the valid JSON on stdout, indented, then the footer of all its
    requests. ``first`` asks its first request (``/regenerate``, ``/edit``, ``/retry``; a new
    message by default). Each message it sends is remembered as asked under ``schema``."""
    from chatcli.features.schema.turn import Turn
    from chatcli.session import combined

    repl.schema = None  # a /schema is for one turn
    repl.tried = True
    turn = Turn(repl.session, repl.ctx.store, repl.notifier)
    try:
        answer = turn.ask(content, schema, first)
    except Interrupted:
        repl.notifier.end_line()
        repl.say("interrupted: no JSON was printed", dim=True)
        return
    finally:
        row = _row(repl)  # None: a new conversation, not stored yet (the message failed)
        for sent in (content, *turn.sent):
            repl.asked[_key(sent)] = (row, schema)
    from chatcli.output import json_text, out

    out(repl.environment, json_text(answer.data, indent=2) + "\n", flush=True)
    repl.footer(combined(turn.replies) if turn.replies else None)
