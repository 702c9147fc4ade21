"""The turn flow, written once for every command that sends a message and shows the reply
(``ask``, the REPL's messages, /retry, /regenerate and /edit, summarize's part and final
requests, ``cmd``, ``--schema`` turns): the request sent, the reply streamed to its writer with
notices on stderr, what the command reports about the turn, then the one policy for how a reply
ended (``output.check_finish``). Budgets are judged by the Gate in front of the provider
(``features.usage.budget.connect``), at every request a turn makes (tool rounds and retries
included); ``budget`` is an extra look before the turn, for a caller that wants one.

Before, each command wrote these four steps itself, and they drifted apart (summarize's parts
once skipped the finish check, so a part cut by ``length`` or a content filter silently became a
short summary). A new guard added here reaches every command.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from chatcli.errors import ChatcliError
from chatcli.events import Finish, StreamEvent
from chatcli.output import Notifier, Writer, check_finish, stream_to


def take_turn(
    send: Callable[[], Iterator[StreamEvent]],
    writer: Writer | None,
    notifier: Notifier,
    *,
    budget: Callable[[], None] | None = None,
    what: str = "answer",
    report: Callable[[], None] | None = None,
    failed: Callable[[ChatcliError], bool] | None = None,
    keys: AbstractContextManager[object] | None = None,
) -> Finish | None:
    """One turn: ``budget()``, if given (raises when a budget is spent), before anything is sent;
    ``send()`` makes the request's events, streamed into ``writer`` (None: collected by the
    session only); ``keys`` holds the terminal's key handling while it streams; ``report()``
    says what the command says about a finished turn (``--json``, the footer), before the
    finish policy may fail the command for a filtered or refused reply (``what`` names the
    reply in its message). A request that fails or is interrupted (Ctrl-C: ``Interrupted``)
    keeps its partial reply in the session; ``failed(error)`` says so as the command does and
    returns whether that was all (the REPL goes on: None is returned), else it is raised."""
    if budget is not None:
        budget()
    try:
        with keys if keys is not None else contextlib.nullcontext():
            finish = stream_to(send(), writer, notifier)
    except ChatcliError as exc:
        if failed is not None and failed(exc):
            return None
        raise
    if report is not None:
        report()
    check_finish(finish, notifier, what)
    return finish
