"""The one confirm-above-a-dollar-amount prompt (summarize and batch submit share it), driven
through an injected environment that says stdin and stderr are terminals."""

from __future__ import annotations

import io

import pytest

from chatcli.environment import Environment
from chatcli.errors import UsageError
from chatcli.features.spending import confirm_spend


def _terminal(answer: str) -> tuple[Environment, io.StringIO]:
    err = io.StringIO()
    env = Environment(io.StringIO(answer), io.StringIO(), err, stdin_isatty=True,
                      stdout_isatty=True, stderr_isatty=True)  # fmt: skip
    return env, err


@pytest.mark.parametrize("answer", ["y\n", "yes\n", "Y\n"])
def test_yes_on_a_terminal_goes_on(answer: str) -> None:
    env, err = _terminal(answer)
    confirm_spend(env, "the estimate is", 2.5, 1.0, yes=False, hint="pass --yes")
    assert err.getvalue() == (
        "chatcli: the estimate is $2.50, above confirm_above_usd ($1.00). Go on? [y/N] "
    )


def test_anything_else_on_a_terminal_cancels() -> None:
    env, _ = _terminal("\n")
    with pytest.raises(UsageError, match="cancelled: nothing was sent"):
        confirm_spend(env, "the estimate is", 2.5, 1.0, yes=False, hint="pass --yes")


def test_off_a_terminal_refused_with_the_hint_and_under_the_limit_silent() -> None:
    err = io.StringIO()
    env = Environment(io.StringIO("y\n"), io.StringIO(), err)
    with pytest.raises(UsageError) as refused:
        confirm_spend(env, "this run may cost up to", 0.004, 0.001, yes=False, hint="add --yes")
    assert refused.value.message == (
        "this run may cost up to $0.004, above confirm_above_usd ($0.001)"
    )
    assert refused.value.hint == "add --yes"
    confirm_spend(env, "x", 0.0005, 0.001, yes=False, hint="h")  # within the limit
    confirm_spend(env, "x", None, 0.001, yes=False, hint="h")  # unknown cost: not asked
    confirm_spend(env, "x", 9.0, 0.001, yes=True, hint="h")  # --yes
    assert err.getvalue() == ""
