"""The way to the terminal: ``out``/``err`` for every text a command prints besides the answer's
own stream, stderr notices, and the stream consumer shared by ``ask`` and the REPL.

Text that came from a server, a document, a file name or the store may carry escape sequences;
``out`` and ``err`` (and ``Notifier``) take it to the environment's streams through
``safetext.sanitize`` when the stream is a terminal (stderr lines always: they are for people).
Off a terminal ``out`` writes exactly what it is given, like the answer's raw bytes.

A real process's stderr is an ``environment.Stderr``: once it fails (its reader gone, a full
device, closed) it is marked dead and every write here is dropped, never raised, so a lost
notice never ends a command nor changes its exit code.

stdout carries the answer (and what a command reports) and nothing else; notices go to stderr. On a
terminal, notices with the same key (a retry countdown) overwrite each other in place; off a
terminal only the first of such a run is printed, so logs stay short. While the live Markdown
view draws, a notice is printed above its live region as a whole line (only the first of a
keyed run: a line above the live region cannot be updated in place), so no frame erases it.
A reasoning summary goes to stderr too, never stdout (``thinking``: dim above the answer on a
terminal, plain text off one).
"""

from __future__ import annotations

import contextlib
import re
import weakref
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any, Protocol, TextIO

from chatcli.errors import APIError, Interrupted, Refused
from chatcli.events import Finish, Notice, ReasoningDelta, StreamEvent, TextDelta, ToolNote
from chatcli.safetext import hidden, one_line, readable, redact, sanitize, traceback_text
from chatcli.terminal import is_dumb, isatty, modes

if TYPE_CHECKING:
    from chatcli.environment import Environment
    from chatcli.thinking import Thinking


_OPEN_LINES: weakref.WeakKeyDictionary[IO[str], bool] = weakref.WeakKeyDictionary()
"""The streams on which an in-place line (a retry countdown, no newline yet) is open. It is
kept per stream, not per ``Notifier``: a command may make several notifiers, and any line
written to stderr (an error, a hint, another notifier's notice) must first end it."""


def end_open_line(stream: IO[str]) -> None:
    """Erase the in-place line open on ``stream``, if any, so the next line starts clean."""
    if _OPEN_LINES.pop(stream, False):
        with contextlib.suppress(OSError, ValueError):
            stream.write("\r\x1b[2K")
            stream.flush()


def line_was_open(stream: IO[str]) -> bool:
    """Whether an in-place line was open on ``stream`` (it is forgotten: the caller ends it)."""
    return _OPEN_LINES.pop(stream, False)


def out(env: Environment, text: str, *, flush: bool = False) -> None:
    """Write ``text`` to the command's stdout: sanitised there when it is a terminal, keys
    masked either way (server, document, file-name and stored text all come this way), in a
    form the stream can encode (``fitted``)."""
    safe = sanitize(text) if env.stdout_isatty else redact(text)
    env.stdout.write(fitted(env.stdout, safe))
    if flush:
        env.stdout.flush()


def fitted(stream: IO[str], text: str) -> str:
    """``text`` as ``stream`` can carry it. A file name's undecodable bytes are shown as the
    UTF-8 they spell or as ``\\xNN`` (``safetext.readable``). A character the stream's
    encoding lacks (an ASCII ``PYTHONIOENCODING``, ``LC_ALL=C`` without UTF-8 mode, a Big5
    locale) is left to the stream's error handler (``\\u4f60``, set in ``__main__``), except
    in a JSON document (every ``--json`` output, ``sessions export --format json``, a JSONL
    line): there Python's ``\\U0001f600`` or ``\\xe9`` would not be JSON, so such a character
    becomes the JSON escape ``json.dumps`` gives it (``\\ud83d\\ude00``), which any parser
    reads back as the character, as does a hidden one (``json_text``). Only text that needs it
    is looked at twice."""
    if text.isascii():
        return text
    shown = readable(text)
    encoding = getattr(stream, "encoding", None) or "utf-8"
    if shown is text and (_UTF8.match(encoding) or _encodes(text, encoding)):
        return text
    if not _is_json(text):
        return shown
    return _NON_ASCII.sub(lambda m: _json_run(m.group(), encoding), text)


def json_text(value: object, **options: Any) -> str:
    """``value`` as the JSON text of every JSON document chatcli writes (each ``--json``
    output, ``sessions export --format json``, a JSONL line of ``batch results``): what
    ``json.dumps`` gives (UTF-8 kept as it is unless ``ensure_ascii=True`` is passed, with its
    other ``options``), but with each character a terminal would not show as it is
    (``safetext.hidden``: DEL, C1 controls such as U+009B, a CSI on many terminals, bidi
    overrides, zero-width and other format characters) written as its ``\\uXXXX`` escape
    (a surrogate pair beyond the BMP), as ``json.dumps`` leaves only C0 controls escaped.
    Such text then holds nothing the output layer strips on a terminal nor anything unseen
    for the next program off one, and a parser reads back the exact value. A file name's
    undecodable bytes read as ``fitted`` shows them."""
    import json

    options.setdefault("ensure_ascii", False)
    text = json.dumps(value, **options)
    if text.isascii() and "\x7f" not in text:
        return text
    return _JSON_ODD.sub(lambda m: _json_run(m.group()), text)


def _json_run(run: str, encoding: str | None = None) -> str:
    """A run of a JSON text's non-ASCII characters (or DEL: they stand only inside its
    strings) as JSON escapes where needed: a hidden character always, one ``encoding``
    lacks when given; escaped bytes of a file name as ``readable`` spells them."""
    if run.isprintable() and (encoding is None or _encodes(run, encoding)):
        return run
    import json

    pieces = []
    for ch in readable(run):
        if ch == "\\":  # from a ``\\xNN`` of ``readable``: a backslash in a JSON string
            pieces.append("\\\\")
        elif hidden(ch, keep="") or (
            encoding is not None and not ch.isascii() and not _encodes(ch, encoding)
        ):
            pieces.append(json.dumps(ch)[1:-1])
        else:
            pieces.append(ch)
    return "".join(pieces)


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_JSON_ODD = re.compile(r"[^\x00-\x7e]+")  # non-ASCII, and DEL
_UTF8 = re.compile(r"(?i)utf[-_]?8$")


def _encodes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _is_json(text: str) -> bool:
    """Whether ``text`` is one JSON document, or JSON lines."""
    body = text.strip()
    if body[:1] not in ("{", "["):
        return False
    import json

    try:
        json.loads(body)
    except ValueError:
        lines = [line for line in body.splitlines() if line.strip()]
        try:
            for line in lines:
                json.loads(line)
        except ValueError:
            return False
    return True


def out_bytes(env: Environment, data: bytes) -> None:
    """Raw bytes to stdout off a terminal (``speak > file.mp3``): the caller refuses a
    terminal first."""
    env.stdout.flush()
    env.stdout.buffer.write(data)
    env.stdout.buffer.flush()


def emit(env: Environment, text: str, stream: IO[str] | None = None) -> None:
    """``out``, or the same rule for another stream (a results file, ``-o -``)."""
    if stream is None:
        out(env, text)
    else:
        stream.write(fitted(stream, sanitize(text) if isatty(stream) else redact(text)))


def flush_out(env: Environment) -> None:
    """Flush the command's stdout (progressive output: each file as it is done)."""
    env.stdout.flush()


def err(env: Environment, line: str, *, dim: bool = False) -> None:
    """Write one line (newline added) to the command's stderr, sanitised; ``dim``: faint on a
    terminal that shows it (the REPL's own remarks)."""
    end_open_line(env.stderr)
    text = sanitize(line)
    if dim and env.stderr_isatty and not is_dumb():
        text = f"\x1b[2m{text}\x1b[0m"
    env.stderr.write(text + "\n")
    env.stderr.flush()


def ask(env: Environment, prompt: str, *, hidden: bool = False) -> str:
    """One line typed on the terminal after ``prompt`` (on stderr, no newline; ``hidden``: not
    echoed while typed, a pasted key must not stay on screen); "" at end of input. Unlike
    getpass, nothing typed ahead is discarded."""
    stdin = env.stdin
    if stdin is None:
        return ""
    echo = 0
    if hidden:
        import termios

        echo = termios.ECHO
    # echo goes off before the prompt shows, so a quick paste is not echoed either
    with modes(stdin, local_off=echo):
        env.stderr.write(sanitize(prompt))
        env.stderr.flush()
        line = stdin.readline()
    if hidden:
        env.stderr.write("\n")
        env.stderr.flush()
    return line


def notifier_for(env: Environment) -> Notifier:
    """The notifier of the command's stderr."""
    return Notifier(env.stderr, env.stderr_isatty)


@contextlib.contextmanager
def log_to(env: Environment, *, debug: bool = False) -> Iterator[None]:
    """For the block, lines logged to the ``chatcli`` logger go to ``env``'s stderr,
    sanitised: that is how the layers that are not handed the environment (the transport's
    --debug trace, the store's recovery notices, the config file's warnings) speak.

    What the libraries log (the MCP SDK, pypdf, httpx2) and the warnings they raise carry the
    servers' and documents' text (an SSE event name, a content type, a PDF font's name), and
    Python would print them raw, tracebacks included. They come here too: with ``debug``, one
    sanitised line each (``logger: message``, and the traceback's lines); without it, nothing
    (chatcli says itself what failed). ``logging`` is imported here, not at start-up (it costs
    ``--help`` a tenth)."""
    import logging

    notifier = notifier_for(env)
    if debug:
        _mask_uncaught(env.stderr)

    def say(line: str) -> None:
        with contextlib.suppress(OSError, ValueError):  # a hung-up terminal
            notifier.end_line()
            err(env, line)

    class Log(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            notice = getattr(record, "notice", None)  # a retry countdown: updated in place
            if isinstance(notice, Notice):
                with contextlib.suppress(OSError, ValueError):
                    notifier.notice(notice)
            else:
                say(record.getMessage())

    class Library(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if not debug:
                return
            say(f"{record.name}: {one_line(record.getMessage(), 2000)}")
            if record.exc_info and record.exc_info[1] is not None:
                for line in traceback_text(record.exc_info[1]).rstrip("\n").split("\n"):
                    say(line)

    logger, root = logging.getLogger("chatcli"), logging.getLogger()
    handler, library = Log(logging.DEBUG), Library(logging.WARNING)
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    root.addHandler(library)  # instead of ``logging.lastResort``, which writes raw
    logging.captureWarnings(True)  # ``warnings.warn`` of libraries: to ``py.warnings``
    try:
        yield
    finally:
        logging.captureWarnings(False)
        root.removeHandler(library)
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _mask_uncaught(stream: IO[str]) -> None:
    """With ``--debug`` a bug's exception leaves ``__main__`` for Python to print: through
    ``safetext.traceback_text`` too (its message may quote a URL's password or a key), on
    the command's stderr."""
    import sys

    def hook(kind: type[BaseException], exc: BaseException, tb: object) -> None:
        stream.write(traceback_text(exc))
        stream.flush()

    sys.excepthook = hook


class Writer(Protocol):
    """Where answer text goes: ``render.RawWriter`` or ``render.MarkdownStream``."""

    def feed(self, text: str) -> None: ...
    def finish(self) -> None: ...
    def abort(self) -> None: ...
    def above(self, write: Callable[[], None]) -> bool: ...


class Notifier:
    """Prints ``Notice`` events and one-line notes to ``stream`` (the command's stderr:
    ``notifier(env)``), sanitised."""

    def __init__(self, stream: TextIO, tty: bool | None = None) -> None:
        self.stream = stream
        tty = isatty(stream) if tty is None else tty
        self.tty = tty and not is_dumb()  # in-place lines move the cursor
        self._open_key: str | None = None  # the key of the last notice, while its run lasts
        self.show_reasoning = True  # False: reasoning summaries are not streamed (ask --json)
        self._thinking: Thinking | None = None  # the reasoning summary being shown

    @property
    def _line_open(self) -> bool:
        """An in-place line (no newline yet) is on this stream, whichever notifier wrote it."""
        return _OPEN_LINES.get(self.stream, False)

    @_line_open.setter
    def _line_open(self, value: bool) -> None:
        if value:
            _OPEN_LINES[self.stream] = True
        else:
            _OPEN_LINES.pop(self.stream, None)

    def _over(self, writer: Writer | None) -> Writer | None:
        """What a line must go above: the reasoning's live view while it draws, else the
        answer's writer."""
        live = self._thinking.live if self._thinking is not None else None
        return live if live is not None else writer

    def notice(self, event: Notice, writer: Writer | None = None) -> None:
        """Print ``event``; ``writer`` is the answer's writer, whose live region (if it has
        one on this terminal) the notice must go above."""
        event = Notice(sanitize(event.message), event.key)  # notices quote server text
        writer = self._over(writer)
        repeat = event.key is not None and event.key == self._open_key
        if writer is not None and self.tty and not self._line_open:
            if repeat:
                return

            def write() -> None:
                self.stream.write(f"chatcli: {sanitize(event.message)}\n")
                self.stream.flush()

            if writer.above(write):
                self._open_key = event.key
                return
        if repeat:
            if self.tty:
                self.stream.write(f"\r\x1b[2Kchatcli: {sanitize(event.message)}")
                self.stream.flush()
            return
        self.end_line()
        if event.key is not None and self.tty:
            # marked open before it is written: a Ctrl-C right after the write (the user saw
            # it) must still find it open, so the next line ends it (a loaded CI run met it)
            self._line_open = True
            self._open_key = event.key
            self.stream.write(f"chatcli: {sanitize(event.message)}")
        else:
            self.stream.write(f"chatcli: {sanitize(event.message)}\n")
            self._open_key = event.key
        self.stream.flush()

    def line(self, text: str, writer: Writer | None = None) -> None:
        """A whole line of its own (a tool call's), above the live region if there is one."""

        def write() -> None:
            self.stream.write(sanitize(text) + "\n")
            self.stream.flush()

        self.end_line()
        writer = self._over(writer)
        if writer is None or not self.tty or not writer.above(write):
            write()

    def reasoning(self, text: str, writer: Writer | None, *, answer_began: bool) -> None:
        """A piece of the reply's reasoning summary, on stderr (see ``thinking``)."""
        if not self.show_reasoning or not text:
            return
        if self._thinking is None:
            from chatcli.thinking import Thinking

            self.end_line()
            self._thinking = Thinking(self.stream, tty=self.tty)
        self._thinking.feed(text, writer, answer_began=answer_began)

    def reasoning_done(self, writer: Writer | None = None, *, failed: bool = False) -> None:
        """The summary shown so far is over: the answer begins, or the reply ended."""
        thinking, self._thinking = self._thinking, None
        if thinking is None:
            return
        if failed:
            thinking.abort()
        else:
            thinking.close(writer)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Ctrl-Z: the reasoning's live view erased for the block (see ``jobcontrol``)."""
        live = self._thinking.live if self._thinking is not None else None
        with live.paused() if live is not None else contextlib.nullcontext():
            yield

    def text_arrived(self) -> None:
        """Answer text came after a notice: a later notice with the same key starts a new run."""
        if not self._line_open:
            self._open_key = None

    def note(self, message: str) -> None:
        self.end_line()
        self.stream.write(f"chatcli: {sanitize(message)}\n")
        self.stream.flush()

    def end_line(self) -> None:
        """Finish an in-place countdown line before anything else is written."""
        if self._line_open and self.tty:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
        self._line_open = False
        self._open_key = None


def consume(
    events: Iterator[StreamEvent], writer: Writer | None, notifier: Notifier
) -> Finish | None:
    """Feed text to ``writer`` as it arrives and notices to stderr; the finish event, if any
    (usage and timings are the session's to record)."""
    finish: Finish | None = None
    first = True
    for event in events:
        if isinstance(event, TextDelta):
            if first:
                first = False
                notifier.end_line()
            notifier.reasoning_done(writer)
            notifier.text_arrived()
            if writer is not None:
                writer.feed(event.text)
        elif isinstance(event, ReasoningDelta):
            notifier.reasoning(event.text, writer, answer_began=not first)
        elif isinstance(event, Notice):
            notifier.notice(event, writer)
        elif isinstance(event, ToolNote):
            notifier.line(event.text, writer)
        elif isinstance(event, Finish):
            finish = event
    notifier.reasoning_done(writer)
    return finish


def check_finish(finish: Finish | None, notifier: Notifier, what: str = "answer") -> None:
    """The one policy for how a reply ended, for every command: cut at the token limit is a
    notice; stopped by the content filter, refused by the model or ended by an error is an
    ``APIError`` (exit 5; the REPL shows it and goes on)."""
    reason = finish.reason if finish is not None else None
    if reason == "length":
        notifier.note(f"the {what} was cut at the token limit (finish_reason=length)")
    elif reason == "content_filter":
        fired = f" ({finish.filtered})" if finish is not None and finish.filtered else ""
        raise APIError(
            f"the {what} was stopped by the provider's content filter{fired}",
            hint="rephrase the request",
        )
    elif reason == "refusal" and finish is not None:
        words = one_line(finish.refusal or "", 500)
        raise Refused(f"the model refused: {words}", hint="rephrase the request")
    elif reason == "error":
        raise APIError(
            f"the endpoint ended the {what} with an error (finish_reason=error); "
            "what arrived is kept, marked incomplete"
        )


def close(events: Iterator[StreamEvent]) -> None:
    """Close a stream generator so the provider drops the HTTP stream and the turn is recorded."""
    closer = getattr(events, "close", None)
    if closer is not None:
        closer()


def stream_to(
    events: Iterator[StreamEvent], writer: Writer | None, notifier: Notifier
) -> Finish | None:
    """``consume`` with the clean-up every caller needs: on any failure the stream is closed
    (dropping the HTTP connection; the session records the partial reply) and the writer
    aborted, so the terminal is left whole; Ctrl-C comes out as ``Interrupted``."""
    from chatcli.jobcontrol import suspendable

    # Ctrl-Z: the terminal restored, the stream going on after fg
    with suspendable(_Screen(writer, notifier)):
        try:
            finish = consume(events, writer, notifier)
        except BaseException as exc:
            close(events)
            with contextlib.suppress(OSError, ValueError):
                notifier.reasoning_done(failed=True)
            if writer is not None:
                with contextlib.suppress(OSError, ValueError):  # a hung-up terminal
                    writer.abort()
            if isinstance(exc, KeyboardInterrupt):
                raise Interrupted("interrupted") from None
            raise
        if writer is not None:
            writer.finish()
    return finish


class _Screen:
    """What Ctrl-Z hands back: the reasoning's live view and the answer's, each if drawing."""

    def __init__(self, writer: Writer | None, notifier: Notifier) -> None:
        self.writer = writer
        self.notifier = notifier

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        paused = getattr(self.writer, "paused", None)
        with self.notifier.paused(), paused() if paused is not None else contextlib.nullcontext():
            yield


@contextlib.contextmanager
def quiet_keys(stream: TextIO) -> Iterator[None]:
    """While an answer streams to the terminal ``stream``, typed keys are not echoed into it
    (Ctrl-C would leave ``^C`` on the answer's line: ECHO and ECHOCTL off) and Ctrl-C does not
    discard output already written but not yet shown (NOFLSH): the last frame would lose its
    end. Keys still reach the shell afterwards; the settings are restored whatever happens."""
    try:
        import termios
    except ImportError:  # not a POSIX terminal
        yield
        return
    off = termios.ECHO | getattr(termios, "ECHOCTL", 0)
    with modes(stream, local_off=off, local_on=termios.NOFLSH):
        yield
