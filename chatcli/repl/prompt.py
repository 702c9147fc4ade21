"""The input line: a prompt_toolkit ``PromptSession`` with chatcli's keys and a private history.

Enter sends; Alt+Enter (Escape, Enter) and Ctrl+J insert a newline, because a chat message often
has several lines and Enter must stay the quick way to send. A bracketed paste is inserted whole
by prompt_toolkit, whatever newlines it holds, so a pasted block is one message. Ctrl+X Ctrl+E
opens ``$VISUAL`` or ``$EDITOR`` (else the first of ``EDITORS`` there is); an editor that cannot
be run or exits with an error leaves the text as it was and says why in one line (prompt_toolkit's
``open_in_editor`` would silently try other editors, or do nothing). Ctrl-R searches the
history backwards as in bash: Enter accepts the match into the line (a second Enter sends it),
Escape or Ctrl-G leave the search. Ctrl-Z suspends the REPL like any shell program (``fg``
brings the prompt back). The history file lives in the data dir and is created 0600 in a 0700
directory: it holds everything the user typed, with keys masked as the database masks them
(``MaskedHistory``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.application import run_in_terminal
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.document import Document
from prompt_toolkit.filters import is_searching
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output

from chatcli.environment import Environment
from chatcli.output import err
from chatcli.repl.output import is_tall, prompt_output
from chatcli.settings.paths import ensure_private_dir

HISTORY_NAME = "history"

EDITORS = ("/usr/bin/editor", "/usr/bin/nano", "/usr/bin/pico", "/usr/bin/vi", "/usr/bin/emacs")
"""Editors tried, in this order, when neither ``$VISUAL`` nor ``$EDITOR`` is set (as
prompt_toolkit does)."""


def editor_command() -> tuple[list[str], str] | str:
    """The editor's command line (``$VISUAL`` or ``$EDITOR``, split as a shell would) and how
    to name it to the user; or why there is none."""
    for name in ("VISUAL", "EDITOR"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                argv = shlex.split(value)
            except ValueError as exc:
                return f"${name} ({value}) cannot be read as a command: {exc}"
            return (argv, f"${name} ({value})") if argv else f"${name} ({value}) is empty"
    for path in EDITORS:
        if os.access(path, os.X_OK):
            return [path], path
    return "no editor found: set $VISUAL or $EDITOR"


def run_editor(path: str) -> str | None:
    """Edit the file ``path`` in the user's editor; None when it went well, else one line
    saying which editor failed and why."""
    found = editor_command()
    if isinstance(found, str):
        return found
    argv, name = found
    try:
        status = subprocess.call([*argv, path])
    except FileNotFoundError:
        return f"the editor {name} was not found"
    except OSError as exc:
        return f"the editor {name} could not be run: {exc.strerror or exc}"
    if status < 0:
        return f"the editor {name} was killed by signal {-status}"
    if status:
        return f"the editor {name} exited with status {status}"
    return None


def _report_editor(path: str, environment: Environment) -> bool:
    """Run the editor on ``path`` (while the prompt is out of the way); on failure, one line
    above the prompt saying so. Whether the edit is to be taken."""
    failure = run_editor(path)
    if failure is not None:
        err(environment, f"chatcli: {failure}; the text in the prompt is unchanged")
    return failure is None


async def edit_in_editor(buffer: Buffer, environment: Environment) -> None:
    """Ctrl+X Ctrl+E: the buffer's text in the editor, and back into the buffer once the
    editor exits well; otherwise the text stays as it was and a line says why."""
    fd, path = tempfile.mkstemp(suffix=".txt", prefix="chatcli-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as f:
            f.write(buffer.text)
        edit = functools.partial(_report_editor, path, environment)
        if not await run_in_terminal(edit, in_executor=True):
            return
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            err(environment, f"chatcli: the edited text could not be read back: {exc.strerror}; "
                "the text in the prompt is unchanged")  # fmt: skip
            return
        text = text.removesuffix("\n")  # the newline editors end a file with
        buffer.document = Document(text, cursor_position=len(text))
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


@dataclass
class Placement:
    """Where the last message sent sits on the screen: the rows of the pane above the reply's
    first row, as far as the terminal told (a cursor position report); None when it did not.
    The live view keeps no more live rows than that (``render``): a pane made narrower
    rewraps its rows and pushes the top ones into the scrollback, and near the top of a pane
    (a new one, or after ``/clear``) those would be live rows, left there twice."""

    rows_above: int | None = None


def _rows_above(event: KeyPressEvent) -> int | None:
    """Rows above the prompt, plus the message's first row (more rows are only safer)."""
    from prompt_toolkit.renderer import HeightIsUnknownError

    try:
        return event.app.renderer.rows_above_layout + 1
    except HeightIsUnknownError:  # no cursor position report (yet): unknown
        return None


def key_bindings(environment: Environment, placement: Placement | None = None) -> KeyBindings:
    """Enter sends; Alt+Enter and Ctrl+J insert a newline; Ctrl+X Ctrl+E opens the editor
    (its failures said on ``environment``'s stderr). These win over prompt_toolkit's defaults.
    ``placement`` learns where each message sent sits on the screen."""
    kb = KeyBindings()

    # While Ctrl-R searches, Enter is prompt_toolkit's "accept the match", not "send".
    @kb.add("enter", filter=~is_searching)
    def _send(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if placement is not None:
            placement.rows_above = _rows_above(event)
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
        event.app.create_background_task(edit_in_editor(event.current_buffer, environment))

    return kb


class MaskedHistory(FileHistory):
    """``FileHistory`` with every key chatcli knows masked (``safetext.redact``, as the
    database stores a message) in what it writes, and in what it reads back: a key pasted
    into a message is not kept in the file, nor brought back on screen by Up in a later run
    (a file written before this masking is masked as it is read)."""

    def load_history_strings(self) -> Iterable[str]:
        from chatcli.safetext import redact

        return [redact(text) for text in super().load_history_strings()]

    def append_string(self, string: str) -> None:
        from chatcli.safetext import redact

        super().append_string(redact(string))


def private_history(data_dir: Path) -> FileHistory:
    """The input history kept across runs, readable by the owner only, keys masked."""
    ensure_private_dir(data_dir)
    path = data_dir / HISTORY_NAME
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    path.chmod(0o600)
    return MaskedHistory(str(path))


def _continuation(width: int, line_number: int, wrap_count: int) -> FormattedText:
    return FormattedText([("class:continuation", "." * (width - 1) + " ")])


def make_prompt(
    history: FileHistory,
    environment: Environment,
    *,
    input: Input | None = None,
    output: Output | None = None,
    placement: Placement | None = None,
) -> PromptSession[str]:
    """The prompt the REPL reads every message and slash command from (drawn on the
    environment's stdout unless ``output`` replaces it); ``placement``: see ``Placement``."""
    return PromptSession(
        history=history,
        complete_while_typing=False,
        multiline=True,
        key_bindings=key_bindings(environment, placement),
        prompt_continuation=_continuation,
        enable_suspend=True,
        input=input or utf8_input(environment),
        output=output or prompt_output(environment),
    )


def utf8_input(environment: Environment) -> Input | None:
    """The terminal's keys read as UTF-8 where the locale reads only ASCII (``LC_ALL=C``
    without UTF-8 mode), as arguments are (``__main__._text_arguments``): prompt_toolkit
    would decode them by the locale and hand back each byte of a ``中`` as a surrogate
    escape, which no message can be sent or stored with. Bytes that are not UTF-8 become
    U+FFFD. None elsewhere: prompt_toolkit's own input."""
    import codecs
    import sys

    stdin = environment.stdin
    encoding = getattr(stdin, "encoding", None)
    if stdin is None or sys.platform == "win32" or not environment.stdin_isatty or not encoding:
        return None
    with contextlib.suppress(LookupError):
        if codecs.lookup(encoding).name == "ascii":
            from prompt_toolkit.input.posix_utils import PosixStdinReader
            from prompt_toolkit.input.vt100 import Vt100Input

            keys = Vt100Input(stdin)
            keys.stdin_reader = PosixStdinReader(stdin.fileno(), "replace", encoding="utf-8")
            return keys
    return None
