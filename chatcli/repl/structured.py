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
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from chatcli.errors import Interrupted, UsageError

if TYPE_CHECKING:
    from chatcli.events import Content
    from chatcli.features.schema.spec import Schema
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


def send(repl: Repl, content: Content, schema: Schema) -> None:
    """One structured turn: the valid JSON on stdout, indented, then the footer of all its
    requests."""
    from chatcli.features.schema.turn import Turn
    from chatcli.session import combined

    turn = Turn(repl.session, repl.ctx.store, repl.notifier)
    try:
        answer = turn.ask(content, schema)
    except Interrupted:
        repl.notifier.end_line()
        repl.say("interrupted: no JSON was printed", dim=True)
        return
    from chatcli.output import out

    out(repl.environment, json.dumps(answer.data, ensure_ascii=False, indent=2) + "\n", flush=True)
    repl.footer(combined(turn.replies) if turn.replies else None)
