"""Daily and monthly spending limits (``daily_budget_usd`` / ``monthly_budget_usd``).

Users pay per token; a runaway script should stop before the bill does. Spending is summed
from the usage log over every profile (it is one wallet): a notice at 80 % of a limit, a refusal
at 100 % unless the user says ``--over-budget``. Requests whose price is unknown count as 0
here, and the notice says the figure is a lower bound; a model about to be used that has no
known price is named once per command (its requests cannot be counted).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from chatcli.errors import BudgetExceeded
from chatcli.pricing import ModelInfo, money
from chatcli.settings.loading import Profile
from chatcli.store import Store

WARN_AT = 0.8


@dataclass(frozen=True)
class Spending:
    """One active limit and what the usage log says is spent against it."""

    name: str  # "daily" or "monthly"
    spent: float
    limit: float
    unknown: bool  # some requests had no known price: ``spent`` is a lower bound

    def figure(self) -> str:
        return (
            f"{money(self.spent)}{' or more' if self.unknown else ''} "
            f"of your {self.name} budget {money(self.limit)}"
        )


def spending(store: Store, profile: Profile) -> list[Spending]:
    """Every configured limit with its spending so far (empty when no budget is set)."""
    limits = [
        ("daily", profile.daily_budget_usd, date.today()),
        ("monthly", profile.monthly_budget_usd, date.today().replace(day=1)),
    ]
    active = [(name, limit, since) for name, limit, since in limits if limit]
    if not active:
        return []
    rows = store.usage_rows(min(since for _, _, since in active))
    out = []
    for name, limit, since in active:
        assert limit is not None
        spent_rows = [r for r in rows if r.created_at.astimezone().date() >= since]
        spent = sum(r.cost_usd or 0.0 for r in spent_rows)
        out.append(Spending(name, spent, limit, any(r.cost_usd is None for r in spent_rows)))
    return out


def check(
    store: Store,
    profile: Profile,
    *,
    over_budget: bool,
    warn: Callable[[str], None],
    model: str,
    model_info: Callable[[str], ModelInfo],
    go_on: str = "pass --over-budget to go on",
) -> None:
    """Raise when a limit is spent (unless ``over_budget``); ``warn`` near a limit, and (once
    per ``warn``'s notifier) when ``model``, about to be used, has no known price
    (``model_info``: the config's, with its ``[models]`` prices).

    ``go_on`` says how to continue from where the user is (a flag, or ``/budget`` in the REPL).
    """
    spent = spending(store, profile)
    if spent:
        _unpriced(spent[0].name, model, model_info, warn)
    for s in spent:
        if s.spent >= s.limit and not over_budget:
            raise BudgetExceeded(
                f"{s.figure()} is spent",
                hint=f"{go_on}, or raise {s.name}_budget_usd in the config",
            )
        if s.spent >= WARN_AT * s.limit:
            warn(f"{s.figure()} is spent ({s.spent / s.limit:.0%})")


_TOLD: weakref.WeakKeyDictionary[object, set[str]] = weakref.WeakKeyDictionary()
"""The models already named as unpriced, per notifier (one command; one REPL session)."""


def _unpriced(
    name: str, model: str, model_info: Callable[[str], ModelInfo], warn: Callable[[str], None]
) -> None:
    """Say once that the ``name`` budget cannot count ``model``: it has no known price."""
    owner = getattr(warn, "__self__", warn)
    try:
        told = _TOLD.setdefault(owner, set())
    except TypeError:  # not weakly referable: say it each time rather than never
        told = set()
    if model in told or _priced(model, model_info):
        return
    told.add(model)
    warn(
        f"the {name} budget cannot count {model}: its price is unknown "
        f'(set [models."{model}"] input_price and output_price)'
    )


def _priced(model: str, model_info: Callable[[str], ModelInfo]) -> bool:
    """Whether requests to ``model`` get a cost: a token price (or per-image/minute price)."""
    return _has_price(model_info(model))


def _has_price(info: ModelInfo) -> bool:
    return (
        info.input_price is not None
        or info.output_price is not None
        or bool(info.image_prices)
        or info.minute_price is not None
        or info.char_price is not None
    )
