"""Hints for errors raised below the command layer, in the words of the command line.

``store`` and ``session`` raise plain facts (``NoSuchSession``, ``TooLong``); what to type next
is the CLI's business, added here by ``__main__`` and the REPL when an error has no hint.
"""

from __future__ import annotations

from chatcli.errors import ChatcliError, NoAnswer, NoSuchSession, SessionExists, TooLong

_HINTS: dict[type[ChatcliError], str] = {
    NoSuchSession: "see: chatcli sessions list",
    SessionExists: "pick another name, or continue it with --session",
    TooLong: "use `chatcli summarize` for long text, or a model with a larger window (-m)",
}


def hint_for(exc: ChatcliError) -> str | None:
    """The error's own hint, else the command line's hint for its kind."""
    if exc.hint:
        return exc.hint
    if isinstance(exc, NoAnswer):
        if exc.limit:
            return "raise --max-tokens (or max_tokens in the config): it counts the reasoning too"
        return "ask for less reasoning (--reasoning low), or split the task"
    return next((h for kind, h in _HINTS.items() if isinstance(exc, kind)), None)
