"""The exceptions chatcli raises on purpose, and the exit code each one maps to.

Everything a user can cause or meet ends up as one of these, and ``__main__.run`` is the only place
that turns them into a stderr line and an exit code (the README's table)::

    ChatcliError (1)          any other error
    ├── UsageError (2)        bad flag, argument or input (binary stdin, file too large, ...)
    │   ├── NoSuchSession, SessionExists   a session name that is not there, or is taken
    │   └── TooLong           one message alone exceeds the context window
    ├── ConfigError (3)       missing/malformed config, unknown profile, no key found
    ├── AuthError (4)         401 / 403
    ├── APIError (5)          429 after retries, other 4xx, 5xx, content filter, malformed response
    │   ├── Refused           the model refused to answer (the ``refusal`` field)
    │   ├── NoAnswer          cut at the token limit before any text (all of it spent reasoning)
    │   └── SchemaMismatch    ``--schema``: the answer is not JSON valid against the schema
    ├── NetworkError (6)      cannot connect, timeout, stream went silent
    ├── StoreError (1)        the database is corrupt, newer than this chatcli, locked or unwritable
    │   └── StoreBusy, StoreFull, StoreDamaged   locked past the busy timeout; no space;
    │                         damaged pages (paid answers: journal)
    ├── BudgetExceeded (1)    a daily or monthly budget is spent
    ├── Reported (any)        the command already printed what failed (doctor, verify)
    └── Interrupted (130)     Ctrl-C

    ConfigError
    └── IncompleteProfile (3) a profile lacks a required key (only the profile in use must be whole)

    CommandExited (any)       not an error: ``chatcli cmd`` ran the user's command, whose exit
                              status becomes chatcli's own (a ``CommandStatus``, 0-255)

Messages and hints here are the user's words for the CLI; ``store`` and ``session`` raise these
with plain facts, and the command layer adds the hints that name flags.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NewType


class ExitStatus(IntEnum):
    """The process exit codes (the README's table); the only numbers ``__main__.run`` returns."""

    OK = 0
    ERROR = 1
    USAGE = 2
    CONFIG = 3
    AUTH = 4
    API = 5
    NETWORK = 6
    HANGUP = 129  # SIGHUP: the terminal closed (``signals``)
    INTERRUPTED = 130
    TERMINATED = 143  # SIGTERM


class ChatcliError(Exception):
    """Base of every expected failure: a one-line message, an optional hint, an exit code."""

    exit_code: ExitStatus = ExitStatus.ERROR
    unsent: bool = False
    """True when the request this error ended never reached the endpoint (a refused
    connection, an unknown host, a refused certificate, a TLS/plain-HTTP mismatch, a proxy
    that would not pass it): nothing was spent, so it is no usage row (``accounting.logs``)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(ChatcliError):
    """The user asked for something malformed: a bad flag value, binary stdin, an empty prompt."""

    exit_code = ExitStatus.USAGE


class ConfigError(ChatcliError):
    """The configuration cannot be used: malformed TOML, unknown profile, no API key found."""

    exit_code = ExitStatus.CONFIG


class ConfigProblems(ConfigError):
    """Several problems in one file: the message names the first, ``problems`` holds all."""

    def __init__(self, problems: list[ConfigError]) -> None:
        first = problems[0]
        more = len(problems) - 1
        hint = first.hint
        if more:
            plural = "s" if more > 1 else ""
            hint = f"{more} more problem{plural}: `chatcli config validate` lists all"
        super().__init__(first.message, hint=hint)
        self.problems = problems


class AuthError(ChatcliError):
    """The endpoint refused the key (401) or the permission (403)."""

    exit_code = ExitStatus.AUTH


class APIError(ChatcliError):
    """The endpoint answered, but not with something usable, even after retries."""

    exit_code = ExitStatus.API

    def __init__(self, message: str, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint)
        self.status = status


class Refused(APIError):
    """The model declined the request (structured outputs' ``refusal``): its words, exit 5."""


class NoAnswer(APIError):
    """The reply reached the token limit before any text or tool call (a reasoning model that
    spent it all thinking): nothing to print, so a failure; ``limit`` is the ``max_tokens``
    asked for (None: the model's own)."""

    def __init__(self, message: str, limit: int | None = None) -> None:
        super().__init__(message)
        self.limit = limit


class SchemaMismatch(APIError):
    """``--schema``: after the retry the answer still does not validate; ``errors`` are the
    first validation errors, each one line."""

    def __init__(self, message: str, errors: list[str], hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.errors = errors


class NetworkError(ChatcliError):
    """No usable connection: refused, DNS, proxy, TLS, or a stream that went silent too long."""

    exit_code = ExitStatus.NETWORK


class StoreError(ChatcliError):
    """The SQLite database cannot be used as it is; the file is left untouched for the user."""


class StoreBusy(StoreError):
    """Another process held the database's write lock past the busy timeout."""


class StoreFull(StoreError):
    """The disk under the database is full (or failing): nothing more could be written."""


class StoreDamaged(StoreError):
    """The database file is damaged (or not a chatcli database): found at open, or only when a
    damaged page is touched, which may be after a paid answer (then it is journaled)."""


class Interrupted(ChatcliError):
    """The user pressed Ctrl-C; what arrived so far has been kept."""

    exit_code = ExitStatus.INTERRUPTED


class NoSuchSession(UsageError):
    """A session name that is not in the store."""


class SessionExists(UsageError):
    """A new session's name is taken."""


class TooLong(UsageError):
    """One message alone does not fit the model's context window."""


class BudgetExceeded(ChatcliError):
    """The configured daily or monthly limit is spent (exit 1, like other refusals)."""


class IncompleteProfile(ConfigError):
    """A profile lacks a required key; ``config set`` may write it while it is being built."""


class Reported(ChatcliError):
    """The command has already shown the user what failed (a report of checks); ``run`` exits
    with ``exit_code`` and prints nothing more."""

    def __init__(self, exit_code: ExitStatus = ExitStatus.ERROR) -> None:
        super().__init__("")
        self.exit_code = exit_code


CommandStatus = NewType("CommandStatus", int)
"""The exit status of a command chatcli ran for the user (``chatcli cmd``): the one number
``__main__.run`` returns that is not an ``ExitStatus``."""


class CommandExited(Exception):
    """``chatcli cmd`` ran the user's command; chatcli exits with its status, as a shell does."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = CommandStatus(status)


def unreadable(
    path: object,
    exc: OSError | UnicodeDecodeError,
    kind: str = "a file",
    *,
    lead: str = "",
    error: type[ChatcliError] = UsageError,
) -> ChatcliError:
    """The one wording of a file chatcli cannot read, for every site that reads one (inputs,
    audio, images, batch inputs, schemas, templates, MCP imports, the config file): missing, a
    directory where ``kind`` was expected, not UTF-8 text, or the system's reason. ``lead``
    names the option it came from ("--schema"); ``error`` is the class to raise (a
    ``ConfigError`` for the config file and templates: exit 3)."""
    if isinstance(exc, UnicodeDecodeError):
        message = f"{path} is not UTF-8 text"
    elif isinstance(exc, FileNotFoundError):
        message = f"no such file: {path}"
    elif isinstance(exc, IsADirectoryError):
        message = f"{path} is a directory, not {kind}"
    else:
        message = f"cannot read {path}: {exc.strerror or exc}"
    return error(f"{lead}: {message}" if lead else message)


def caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``exc`` is a ``kind`` or was caused by one, however deep in its chain of causes
    and contexts (libraries wrap: an SDK timeout around a slow head, Python 3.11's
    ``RuntimeError`` around a signal raised while a class is made)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
