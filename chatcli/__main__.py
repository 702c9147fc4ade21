"""Entry point: run the Typer app; the ONE place exceptions become messages and exit codes.

Every expected failure is a ``ChatcliError`` carrying its exit code (see ``errors``); click's
usage errors exit 2; Ctrl-C exits 130, SIGTERM 143 and SIGHUP 129 (``signals``: all three keep
the partial answer); a closed stdout (``| head -1``) exits quietly. Anything else is a bug: one
line and exit 1, or the full traceback with ``--debug``.

A signal while chatcli starts (before ``signals`` is installed: Python, typer and chatcli are
still importing, nothing is sent or at stake) ends it at once with the same exit code and
line: ``main`` installs that first, before importing anything of chatcli, and the module itself
imports only what the interpreter has loaded already, and ``signal``. A signal that lands while
a class is made is wrapped by Python 3.11 in a ``RuntimeError`` (``_by_signal`` unwraps it).
"""

from __future__ import annotations

import os
import sys

try:  # Ctrl-C while these load (``signal``'s enums take 1 ms; some may not be loaded yet)
    import contextlib
    import errno
    import functools
    import signal
    from types import FrameType
except KeyboardInterrupt:
    os.write(2, b"chatcli: interrupted\n")
    os._exit(130)

TYPE_CHECKING = False  # not ``typing``'s: importing typing is most of a start-up's first 10 ms
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from typer.core import TyperGroup

    from chatcli.environment import Environment
    from chatcli.errors import CommandStatus, ExitStatus

_STARTING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _stop_at_once(signum: int, frame: FrameType | None) -> None:
    """A signal during start-up: nothing was sent or is at stake, so chatcli ends now, as it
    would later (``chatcli: stopped by SIGTERM``, 128 + the signal's number), without
    unwinding half-done imports into a traceback."""
    said = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
    with contextlib.suppress(OSError):
        os.write(2, f"chatcli: {said}\n".encode())
    os._exit(128 + signum)


def _starting() -> None:
    """Route the signals chatcli handles to ``_stop_at_once`` (those ignored stay ignored:
    ``nohup``, a background job's SIGINT)."""
    for signum in _STARTING:
        with contextlib.suppress(ValueError, OSError):  # not the main thread
            if signal.getsignal(signum) is not signal.SIG_IGN:
                signal.signal(signum, _stop_at_once)


def _started() -> None:
    """Start-up is over: SIGTERM and SIGHUP as ``signals`` handles them, Ctrl-C as the
    ``KeyboardInterrupt`` every command expects."""
    from chatcli import signals

    signals.install()
    with contextlib.suppress(ValueError, OSError):
        if signal.getsignal(signal.SIGINT) is _stop_at_once:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _error(message: str, hint: str | None = None) -> None:
    from chatcli.output import end_open_line
    from chatcli.safetext import sanitize  # server text may carry terminal escapes

    message, hint = sanitize(message), (sanitize(hint) if hint else hint)
    end_open_line(sys.stderr)  # a retry countdown left in place
    try:
        sys.stderr.write(f"chatcli: error: {message}\n")
        if hint:
            sys.stderr.write(f"hint: {hint}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _stopped(default: int, lead: str = "\n") -> ExitStatus:
    """Say why chatcli stopped (Ctrl-C or a signal) and return the exit code that says so."""
    from chatcli import signals
    from chatcli.errors import ExitStatus
    from chatcli.output import line_was_open

    if line_was_open(sys.stderr):  # a retry countdown stays, ended by a newline
        lead = "\n"
    try:  # after a SIGHUP the terminal is gone: nothing can be said
        sys.stderr.write(f"{lead}chatcli: {signals.describe()}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return signals.exit_code(ExitStatus(default))


_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS}
_CLOSED = errno.EBADF  # ``>&-``: stdout closed (``environment.ClosedStdout``) or its fd invalid


def _cannot_write(exc: OSError) -> ExitStatus:
    """A full, failing or closed device under stdout or an output file: one line, exit 1.
    Output still buffered for stdout is dropped, so the interpreter's own final flush cannot
    fail again. Only stdout (or a named file) can be the stream that failed here: stderr never
    raises (``environment.Stderr`` drops what it cannot write)."""
    from chatcli.errors import ExitStatus

    if exc.filename:
        _error(f"cannot write {exc.filename}: {exc.strerror or exc}")
        return ExitStatus.ERROR
    if exc.errno == _CLOSED:
        _error("cannot write to stdout (closed)")
    else:
        _error(f"cannot write to stdout: {exc.strerror or exc}")
    _quiet_broken_pipe()
    return ExitStatus.ERROR


def _quiet_broken_pipe() -> ExitStatus:
    """stdout went away (``| head``): point it at /dev/null so the final flush cannot fail.
    A broken pipe that gets here is stdout's: stderr's reader going away never raises
    (``environment.Stderr``), the command goes on and keeps its own exit code."""
    from chatcli.errors import ExitStatus

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return ExitStatus.OK


@functools.cache
def command_tree() -> TyperGroup:
    """The click command tree Typer builds from ``cli.app``, once per process: building it
    walks every command's signature (about 13 ms), and a click command keeps no state between
    invocations (each gets a new context), so a process that runs several, as the tests do in
    process, builds it once."""
    from typing import cast

    from typer.main import get_command

    from chatcli.cli import app

    tree = cast("TyperGroup", get_command(app))  # what Typer builds for an app of commands
    _text_arguments(tree)
    return tree


_FILE_PARAMETERS = frozenset(("file", "files", "inputs", "config"))
"""Parameters that name files though not declared as ``Path`` (they take URLs or ``-`` too):
``ask -f``, ``summarize``/``transcribe`` FILES, ``batch submit`` INPUTS, ``--config``."""


def _text_arguments(command: Any) -> None:
    """Arguments are what the OS hands over: bytes the locale could not decode (a GBK file name
    from an archive made on Chinese Windows, UTF-8 under ``LC_ALL=C`` without UTF-8 mode) are
    surrogate escapes (``os.fsdecode``). A file name stays so: ``open`` and ``stat`` turn it
    back into the same bytes, and messages show it readable (``safetext.readable``). Every
    other parameter is text, sent and stored as UTF-8: its bytes are taken as the UTF-8 they
    are, or refused (exit 2) when they are none; this happens as click converts the value."""
    for param in getattr(command, "params", ()):
        declared = getattr(getattr(param, "type", None), "name", None)
        if param.name not in _FILE_PARAMETERS and declared != "path":
            param.type_cast_value = functools.partial(_as_text_first, param.type_cast_value)
    for sub in getattr(command, "commands", {}).values():
        _text_arguments(sub)


def _as_text_first(cast: Callable[[Any, Any], Any], ctx: Any, value: Any) -> Any:
    return cast(ctx, value if ctx.resilient_parsing else _as_text(value))


def _as_text(value: Any) -> Any:
    """``value`` (a string, or a tuple or list of them) with surrogate escapes read as UTF-8."""
    if isinstance(value, (tuple, list)):
        return type(value)(_as_text(item) for item in value)
    if not isinstance(value, str) or value.isascii():
        return value
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:  # bytes the locale could not decode, kept as surrogates
        pass
    try:
        return os.fsencode(value).decode("utf-8")
    except (UnicodeError, ValueError):
        from chatcli.errors import UsageError
        from chatcli.safetext import readable

        raise UsageError(
            f"argument '{readable(value)}' is not valid UTF-8",
            hint="text arguments are read as UTF-8: check the terminal's encoding",
        ) from None


def run(
    argv: list[str] | None = None, env: Environment | None = None
) -> ExitStatus | CommandStatus:
    """Run the CLI with ``argv`` in ``env`` (the process's own by default) and return the exit
    code instead of exiting."""
    from chatcli.environment import Environment, using
    from chatcli.safetext import forget_secrets

    forget_secrets()
    env = env or Environment.from_process()
    with using(env):
        return _run(argv, env)


def _run(argv: list[str] | None, env: Environment) -> ExitStatus | CommandStatus:
    from typer import Abort, Exit, TyperException

    from chatcli.environment import ENVIRONMENT
    from chatcli.errors import ChatcliError, CommandExited, ExitStatus, Interrupted, Reported
    from chatcli.hints import hint_for

    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    instruction = os.environ.get("_CHATCLI_COMPLETE")
    if instruction:  # a shell asking for completions (see cli.shell_completion)
        from chatcli.cli.shell_completion import complete

        return _status(complete(command_tree(), instruction, env))
    try:
        # The click command is run directly, not through Typer's main loop, which would turn a
        # closed stdout into exit 1 and Ctrl-C into an exit before we could say anything.
        # The environment is handed to the commands in the context's ``meta`` (shared by every
        # nested context), set before the options are parsed: eager ones (--version) print.
        command = command_tree()
        ctx = command.context_class(command, info_name="chatcli", **command.context_settings)
        ctx.meta[ENVIRONMENT] = env
        with ctx.scope(cleanup=False):
            command.parse_args(ctx, list(args))
        from chatcli.output import log_to

        # after the parse: --help and --version do not import logging
        with ctx, log_to(env, debug=debug):
            command.invoke(ctx)
        return ExitStatus.OK
    except CommandExited as exc:  # chatcli cmd: the status of the command it ran
        return exc.status
    except ChatcliError as exc:
        if debug:  # masked as every text: messages quote URLs and server text as raised
            from chatcli.safetext import traceback_text

            sys.stderr.write(traceback_text(exc))
        if isinstance(exc, Interrupted):  # the user's own Ctrl-C (or a signal) is not an error
            return _stopped(exc.exit_code, lead="")
        if not isinstance(exc, Reported):
            _error(exc.message, hint_for(exc))
        return exc.exit_code
    except Exit as exc:
        return _status(exc.exit_code or 0)
    except Abort:
        return _stopped(ExitStatus.INTERRUPTED)
    except TyperException as exc:  # click's usage errors, as Typer exports them
        where = getattr(exc, "ctx", None)
        hint = f"see '{where.command_path} --help'" if where is not None else None
        _error(exc.format_message(), hint)
        return _status(getattr(exc, "exit_code", ExitStatus.USAGE))
    except (KeyboardInterrupt, EOFError):
        return _stopped(ExitStatus.INTERRUPTED)
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except SystemExit as exc:
        # rich (under Typer's --help) turns a closed stdout into SystemExit(1), raised while
        # handling the BrokenPipeError: ``--help | head -1`` is a closed stdout like any other
        if isinstance(exc.__context__, BrokenPipeError):
            return _quiet_broken_pipe()
        if isinstance(exc.__context__, OSError) and exc.__context__.errno == _CLOSED:
            return _cannot_write(exc.__context__)
        raise
    except OSError as exc:
        if _by_signal(exc):
            return _stopped(ExitStatus.INTERRUPTED)
        if exc.errno not in _FULL and not (exc.errno == _CLOSED and not exc.filename):
            if debug:
                raise
            _error(f"unexpected {type(exc).__name__}: {exc}", "run again with --debug for details")
            return ExitStatus.ERROR
        return _cannot_write(exc)
    except Exception as exc:  # a bug: never a traceback unless asked for
        if _by_signal(exc):
            return _stopped(ExitStatus.INTERRUPTED)
        if debug:
            raise
        _error(f"unexpected {type(exc).__name__}: {exc}", "run again with --debug for details")
        return ExitStatus.ERROR


def _by_signal(exc: BaseException) -> bool:
    """Whether ``exc`` was caused by Ctrl-C or a signal: Python 3.11 wraps an exception raised
    while a class is made (``__set_name__``: a dataclass's fields) in a ``RuntimeError``, so
    a signal that lands while a module imports can come out as one."""
    from chatcli.errors import caused_by

    return caused_by(exc, KeyboardInterrupt)


def _status(code: int) -> ExitStatus:
    """A code from click or the completion protocol as one of ours (anything else: ERROR)."""
    from chatcli.errors import ExitStatus

    try:
        return ExitStatus(code)
    except ValueError:
        return ExitStatus.ERROR


def _tolerant_streams() -> None:
    """stdout and stderr that cannot encode a character (an ASCII-only locale, a cp1252
    console, a lone surrogate) write it as a ``\\uXXXX`` escape instead of failing mid-answer."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        failing = getattr(stream, "errors", None) in ("strict", "surrogateescape")
        if reconfigure is not None and failing:
            with contextlib.suppress(OSError, ValueError):
                reconfigure(errors="backslashreplace")


def main() -> None:
    """Console-script entry point."""
    _starting()  # first: a signal from here on ends chatcli cleanly
    code: int
    try:
        from chatcli.environment import standard_streams

        standard_streams()  # a closed or failing stderr never ends a command
        _started()
        _tolerant_streams()
        code = run()
        code = _flush(code)
    except KeyboardInterrupt:  # a signal between start-up and the command, or after it
        code = _stopped_outside()
    except Exception as exc:
        if not _by_signal(exc):
            raise
        code = _stopped_outside()
    sys.exit(code)


def _stopped_outside() -> int:
    """``_stopped`` for a signal that came outside the command (while typer imports, or
    while stdout is flushed), falling back to a bare line if even that is cut short (a
    second Ctrl-C)."""
    try:
        return _stopped(130, lead="")
    except (Exception, KeyboardInterrupt):
        from chatcli import signals

        received = signals.received() or signal.SIGINT
        _stop_at_once(received, None)
        raise  # not reached: ``_stop_at_once`` ends the process


def _flush(code: int) -> int:
    """``code`` once stdout is flushed, or the code that says it could not be."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _quiet_broken_pipe() or code
    except OSError as exc:  # `> /dev/full`: what was buffered could not be written
        code = code or (_cannot_write(exc) if exc.errno in _FULL | {_CLOSED} else 1)
        _quiet_broken_pipe()
    except ValueError:
        pass
    return code


if __name__ == "__main__":
    main()
