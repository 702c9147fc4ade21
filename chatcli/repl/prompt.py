"""The input line: a prompt_toolkit ``PromptSession`` with chatcli's keys and a private history.

Enter sends; Alt+Enter (Escape, Enter) and Ctrl+J insert a newline, because a chat message often
has several lines and Enter must stay the quick way to send. A bracketed paste is inserted whole
by prompt_toolkit, whatever newlines it holds, so a pasted block is one message. Ctrl+X Ctrl+E
opens ``$VISUAL`` or ``$EDITOR`` (prompt_toolkit's ``open_in_editor``). Ctrl-R searches the
history backwards as in bash: Enter accepts the match into the line (a second Enter sends it),
Escape or Ctrl-G leave the search. Ctrl-Z suspends the REPL like any shell program (``fg``
brings the prompt back). The history file lives in the data dir and is created 0600 in a 0700
directory: it holds everything the user typed.
"""

from __future__ import annotations

import os
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.filters import is_searching
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output

from chatcli.environment import Environment
from chatcli.repl.output import is_tall, prompt_output
from chatcli.settings.paths import ensure_private_dir

HISTORY_NAME = "history"


def key_bindings() -> KeyBindings:
    """Enter sends; Alt+Enter and Ctrl+J insert a newline; Ctrl+X Ctrl+E opens the editor.
    These win over prompt_toolkit's defaults."""
    kb = KeyBindings()

    # While Ctrl-R searches, Enter is prompt_toolkit's "accept the match", not "send".
    @kb.add("enter", filter=~is_searching)
    def _send(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        size = event.app.output.get_size()
        if is_tall(buffer.text, size.rows, size.columns):
            # Taller than the pane: the prompt is left empty and the loop writes the message
            # whole (``output.echo_tall``), so it shows once, from its first line.
            text = buffer.text
            buffer.append_to_history()
            buffer.reset()
            event.app.exit(result=text)
            return
        buffer.validate_and_handle()

    @kb.add("escape", "enter", filter=~is_searching)
    @kb.add("c-j", filter=~is_searching)
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    @kb.add("c-x", "c-e")
    def _editor(event: KeyPressEvent) -> None:
        """Edit in $VISUAL/$EDITOR; the text comes back to the prompt to read before sending
        (bash would run it at once, but a message quit by mistake cannot be unsent)."""
        event.current_buffer.open_in_editor(validate_and_handle=False)

    return kb


def private_history(data_dir: Path) -> FileHistory:
    """The input history kept across runs, readable by the owner only."""
    ensure_private_dir(data_dir)
    path = data_dir / HISTORY_NAME
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    path.chmod(0o600)
    return FileHistory(str(path))


def _continuation(width: int, line_number: int, wrap_count: int) -> FormattedText:
    return FormattedText([("class:continuation", "." * (width - 1) + " ")])


def make_prompt(
    history: FileHistory,
    environment: Environment,
    *,
    input: Input | None = None,
    output: Output | None = None,
) -> PromptSession[str]:
    """The prompt the REPL reads every message and slash command from (drawn on the
    environment's stdout unless ``output`` replaces it)."""
    return PromptSession(
        history=history,
        complete_while_typing=False,
        multiline=True,
        key_bindings=key_bindings(),
        prompt_continuation=_continuation,
        enable_suspend=True,
        input=input,
        output=output or prompt_output(environment),
    )
