"""Hints for errors raised below the command layer, in the words of the command line.

``store`` and ``session`` raise plain facts (``NoSuchSession``, ``TooLong``); what to type next
is the CLI's business, added here by ``__main__`` and the REPL when an error has no hint.
"""

from __future__ import annotations

import re

from chatcli.errors import ChatcliError, NoAnswer, NoSuchSession, SessionExists, TooLong

_HINTS: dict[type[ChatcliError], str] = {
    NoSuchSession: "see: chatcli sessions list",
    SessionExists: "pick another name, or continue it with --session",
    TooLong: "use `chatcli summarize` for long text, or a model with a larger window (-m)",
}


def window_hint(exc: ChatcliError, model: str | None, known: int | None) -> str | None:
    """For an endpoint's "longer than the context window" answer: how to tell chatcli the
    window of ``model`` (``known``: the one chatcli assumed, None when it knew none), so it
    trims the history to fit; the size the endpoint stated, when it said it."""
    from chatcli.providers.errorbody import ContextTooLong

    if not isinstance(exc, ContextTooLong):
        return None
    name = model or "MODEL"
    size = str(exc.window) if exc.window else "N"
    where = f'context_window = {size} in [models."{name}"] of the config'
    if known is not None and exc.window and exc.window < known:
        return f"the endpoint's window is {exc.window:,}, not {known:,}: set {where}"
    if known is not None:
        return (
            f"chatcli assumed {known:,} tokens for {name}; if the endpoint has fewer, set {where}"
        )
    said = f"the endpoint says {exc.window:,} tokens" if exc.window else "its size"
    return (
        f"chatcli does not know {name}'s context window ({said}): set {where}, "
        "and chatcli leaves the oldest turns out to fit"
    )


_TOO_MANY_TOOLS = re.compile(
    r"array_above_max_length|\barray too long\b|\btoo many (?:tools|functions)\b", re.I
)
"""What an endpoint says when it takes tools, but not that many (OpenAI: "Invalid 'tools':
array too long. Expected an array with maximum length 128")."""


def too_many_tools(message: str) -> bool:
    """Whether an endpoint's refusal of the tools it was sent is about how many there were,
    not that it takes none (a model that takes tools must not be blamed for it)."""
    return bool(_TOO_MANY_TOOLS.search(message))


def too_many_tools_hint(on: dict[str, int] | None = None) -> str:
    """What to do when the endpoint took fewer tools than were on; ``on``: the tools on per
    server, to name the ones to turn off."""
    counts = sorted((on or {}).items(), key=lambda item: -item[1])
    said = ", ".join(f"{server} {n:,}" for server, n in counts)
    total = f"{sum(n for _, n in counts):,} tools were on ({said}); " if counts else ""
    return (
        f"{total}the endpoint takes fewer per request (OpenAI's: at most 128): turn on single "
        "tools with -T SERVER.TOOL instead of whole servers, or fewer servers (in chat: "
        "/tools off NAME)"
    )


def hint_for(exc: ChatcliError) -> str | None:
    """The error's own hint, else the command line's hint for its kind."""
    if exc.hint:
        return exc.hint
    if isinstance(exc, NoAnswer):
        if exc.limit:
            return "raise --max-tokens (or max_tokens in the config): it counts the reasoning too"
        return "ask for less reasoning (--reasoning low), or split the task"
    if (window := window_hint(exc, None, None)) is not None:
        return window
    return next((h for kind, h in _HINTS.items() if isinstance(exc, kind)), None)
