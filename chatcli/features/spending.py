"""The one "confirm above a dollar amount" prompt of the bulk commands (summarize, batch):
above the profile's ``confirm_above_usd`` a run asks on a terminal and is refused off one unless
``--yes`` is given. One wording, one money format (``pricing.money``), one terminal test.

A run whose cost cannot be estimated (no price for the model: a relay's own model) is asked
about the same way once it sends more than ``UNPRICED_REQUESTS`` requests: hundreds of paid
requests of unknown price are exactly what a user wants to confirm. The question goes to the
terminal: stdin and stderr when both are one; else, when stdin is piped (``cat FILE | chatcli
summarize``) but stderr is the user's terminal, it is read from ``/dev/tty``, as apt and ssh
do. With no terminal at all, or from a background job (``chatcli summarize ... &`` in a
terminal, which a question would stop until ``fg``), the run is refused without ``--yes``.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace
from typing import TextIO

from chatcli.environment import Environment
from chatcli.errors import UsageError
from chatcli.output import ask
from chatcli.pricing import money
from chatcli.terminal import in_background

UNPRICED_REQUESTS = 10
"""More requests than this at an unknown price are confirmed like a costly run."""


def confirm_spend(
    env: Environment,
    what: str,
    usd: float | None,
    limit: float,
    *,
    yes: bool,
    hint: str,
    requests: int = 1,
    unpriced: str = "",
) -> None:
    """Go on when ``usd`` is within ``limit`` or ``yes``; else ask "Go on?" on a terminal (a
    usage error when declined) or raise a usage error with ``hint`` off one. ``what`` names
    the run: "this run may cost up to", "the estimate is". ``usd`` None: the cost is unknown,
    asked about only when the run sends more than ``UNPRICED_REQUESTS`` ``requests``
    (``unpriced`` says why it is unknown: " (no price for qwen-max)")."""
    if yes:
        return
    if usd is None:
        if requests <= UNPRICED_REQUESTS:
            return
        said = (
            f"this run sends {requests:,} requests whose cost is unknown{unpriced}, so "
            f"confirm_above_usd ({money(limit)}) cannot be checked"
        )
    elif usd <= limit:
        return
    else:
        said = f"{what} {money(usd)}, above confirm_above_usd ({money(limit)})"
    question = f"chatcli: {said}. Go on? [y/N] "
    if env.stdin is not None and env.stdin_isatty and env.stderr_isatty:
        if in_background(env.stdin):  # a job started with `&`: asking would stop it
            raise UsageError(said, hint=hint)
        answer = ask(env, question)
    else:
        tty = open_terminal(env) if env.stderr_isatty else None
        if tty is None:
            raise UsageError(said, hint=hint)
        with contextlib.closing(tty):
            answer = ask(replace(env, stdin=tty, stdin_isatty=True), question)
    if answer.strip().lower() in ("y", "yes"):
        return
    raise UsageError("cancelled: nothing was sent")


def open_terminal(env: Environment) -> TextIO | None:
    """The user's terminal to read an answer from when stdin is piped: ``/dev/tty``, when the
    command's stderr (where the question goes) really is a terminal and this process is in
    its foreground (not a job started with ``&``); else None."""
    try:
        if not os.isatty(env.stderr.fileno()):
            return None
        tty = open("/dev/tty", encoding="utf-8")  # noqa: SIM115 - closed by the caller
    except (OSError, ValueError, AttributeError):  # no fileno (io.UnsupportedOperation), no tty
        return None
    if in_background(tty):  # a job started with `&`: reading there would stop it
        tty.close()
        return None
    return tty
