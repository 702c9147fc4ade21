"""The exceptions chatcli raises on purpose, and the exit code each one maps to.

Everything a user can cause or meet ends up as one of these, and ``__main__.main`` is the only place
that turns them into a stderr line and an exit code (SPEC §7)::

    ChatcliError (1)          any other error
    ├── UsageError (2)        bad flag, argument or input (binary stdin, file too large, ...)
    ├── ConfigError (3)       missing/malformed config, unknown profile, no key found
    ├── AuthError (4)         401 / 403
    ├── APIError (5)          429 after retries, other 4xx, 5xx, content filter, malformed response
    ├── NetworkError (6)      cannot connect, timeout, stream went silent
    ├── StoreError (1)        the database is corrupt, newer than this chatcli, locked or unwritable
    └── Interrupted (130)     Ctrl-C
"""

from __future__ import annotations


class ChatcliError(Exception):
    """Base of every expected failure: a one-line message, an optional hint, an exit code."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(ChatcliError):
    """The user asked for something malformed: a bad flag value, binary stdin, an empty prompt."""

    exit_code = 2


class ConfigError(ChatcliError):
    """The configuration cannot be used: malformed TOML, unknown profile, no API key found."""

    exit_code = 3


class AuthError(ChatcliError):
    """The endpoint refused the key (401) or the permission (403)."""

    exit_code = 4


class APIError(ChatcliError):
    """The endpoint answered, but not with something usable, even after retries."""

    exit_code = 5

    def __init__(self, message: str, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint)
        self.status = status


class NetworkError(ChatcliError):
    """No usable connection: refused, DNS, proxy, TLS, or a stream that went silent too long."""

    exit_code = 6


class StoreError(ChatcliError):
    """The SQLite database cannot be used as it is; the file is left untouched for the user."""


class Interrupted(ChatcliError):
    """The user pressed Ctrl-C; what arrived so far has been kept."""

    exit_code = 130
