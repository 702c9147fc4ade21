"""The one "confirm above a dollar amount" prompt of the bulk commands (summarize, batch):
above the profile's ``confirm_above_usd`` a run asks on a terminal and is refused off one unless
``--yes`` is given. One wording, one money format (``pricing.money``), one terminal test (stdin
and stderr both terminals, as the command's environment says)."""

from __future__ import annotations

from chatcli.environment import Environment
from chatcli.errors import UsageError
from chatcli.output import ask
from chatcli.pricing import money


def confirm_spend(
    env: Environment, what: str, usd: float | None, limit: float, *, yes: bool, hint: str
) -> None:
    """Go on when ``usd`` (None: unknown) is within ``limit`` or ``yes``; else ask "Go on?" on
    a terminal (a usage error when declined) or raise a usage error with ``hint`` off one.
    ``what`` names the run: "this run may cost up to", "the estimate is"."""
    if yes or usd is None or usd <= limit:
        return
    said = f"{what} {money(usd)}, above confirm_above_usd ({money(limit)})"
    if env.stdin is not None and env.stdin_isatty and env.stderr_isatty:
        if ask(env, f"chatcli: {said}. Go on? [y/N] ").strip().lower() in ("y", "yes"):
            return
        raise UsageError("cancelled: nothing was sent")
    raise UsageError(said, hint=hint)
