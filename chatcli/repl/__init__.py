"""``chatcli chat``: the interactive REPL on top of ChatSession and the renderer (SPEC §4).

- ``prompt``: the prompt_toolkit input line, its key bindings and the private history file;
- ``loop``: the read / send / stream loop, the footer and the resume summary;
- ``commands``: the slash commands and their Tab completion.

``run`` wires them to the config, the store and a provider, as ``cli.ask_run`` does for ``ask``.
Every session is persisted: each completed turn is written at once, so a killed REPL loses at
most the reply in flight and ``chatcli chat -c`` picks up from there.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from chatcli.errors import UsageError
from chatcli.settings.resolve import Globals, SessionChoice, open_session, resolve

if TYPE_CHECKING:
    from prompt_toolkit.input import Input
    from prompt_toolkit.output import Output

    from chatcli.providers.chat import ChatProvider
    from chatcli.repl.loop import Repl
    from chatcli.store import Store


@dataclass
class ChatOptions:
    """The parsed options of ``chat``."""

    session: str | None = None
    cont: bool = False
    system: str | None = None
    role: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    markdown: str | None = None
    over_budget: bool = False


def run(
    g: Globals,
    opts: ChatOptions,
    *,
    input: Input | None = None,
    output: Output | None = None,
) -> None:
    """Run the REPL until Ctrl-D or ``/exit``; ``input``/``output`` replace the terminal in
    tests."""
    if opts.cont and opts.session:
        raise UsageError("use either -c/--continue or --session NAME, not both")
    if input is None and not sys.stdin.isatty():
        raise UsageError(
            "chatcli chat needs a terminal on stdin",
            hint='pipe text into `chatcli ask` instead: ... | chatcli ask "question"',
        )
    from chatcli.store import open_default

    with open_default() as store:
        prepare(g, opts, store, input=input, output=output).run()


def prepare(
    g: Globals,
    opts: ChatOptions,
    store: Store,
    *,
    input: Input | None = None,
    output: Output | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> Repl:
    """Config, provider, session, prompt (with history and completer) and the REPL on top."""
    from chatcli.providers import connect
    from chatcli.repl.commands import SlashCompleter
    from chatcli.repl.loop import Repl, ReplSetup
    from chatcli.repl.prompt import make_prompt, private_history
    from chatcli.settings import paths

    env = resolve(g)

    def connect_profile(name: str) -> ChatProvider:
        return connect(env.config.profile(name), env.config.model_info, debug=env.debug)

    provider = connect_profile(env.profile.name)
    choice = SessionChoice(
        cont=opts.cont,
        name=opts.session,
        system=opts.system,
        role=opts.role,
        temperature=opts.temperature,
        max_tokens=opts.max_tokens,
    )
    session = open_session(env, g, choice, store, provider)
    ctx = ReplSetup(
        config=env.config,
        store=store,
        connect=connect_profile,
        markdown=opts.markdown or env.profile.markdown,
        over_budget=opts.over_budget,
    )
    prompt = make_prompt(private_history(paths.data_dir()), input=input, output=output)
    repl = Repl(ctx, session, provider, prompt, stdout=stdout, stderr=stderr)
    prompt.completer = SlashCompleter(repl)
    return repl
