"""Daily and monthly spending limits (``daily_budget_usd`` / ``monthly_budget_usd``).

Users pay per token; a runaway script should stop before the bill does. Spending is summed
from the usage log over every profile (it is one wallet): a notice at 80 % of a limit, a refusal
at 100 % unless the user says ``--over-budget``. Requests whose price is unknown count as 0
here, and the notice says the figure is a lower bound.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from chatcli.errors import ChatcliError
from chatcli.pricing import money
from chatcli.settings.loading import Profile
from chatcli.store import Store

WARN_AT = 0.8


class BudgetExceeded(ChatcliError):
    """The configured daily or monthly limit is spent (exit 1, like other refusals)."""


def check(
    store: Store, profile: Profile, *, over_budget: bool, warn: Callable[[str], None]
) -> None:
    """Raise when a limit is spent (unless ``over_budget``); ``warn`` near a limit."""
    limits = [
        ("daily", profile.daily_budget_usd, date.today()),
        ("monthly", profile.monthly_budget_usd, date.today().replace(day=1)),
    ]
    active = [(name, limit, since) for name, limit, since in limits if limit]
    if not active:
        return
    rows = store.usage_rows(min(since for _, _, since in active))
    for name, limit, since in active:
        assert limit is not None
        spent_rows = [r for r in rows if r.created_at.astimezone().date() >= since]
        spent = sum(r.cost_usd or 0.0 for r in spent_rows)
        unknown = any(r.cost_usd is None for r in spent_rows)
        figure = (
            f"{money(spent)}{' or more' if unknown else ''} of your {name} budget {money(limit)}"
        )
        if spent >= limit and not over_budget:
            raise BudgetExceeded(
                f"{figure} is spent",
                hint=f"pass --over-budget to go on, or raise {name}_budget_usd in the config",
            )
        if spent >= WARN_AT * limit:
            warn(f"{figure} is spent ({spent / limit:.0%})")
