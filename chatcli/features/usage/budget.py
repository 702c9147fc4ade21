"""Daily and monthly spending limits (``daily_budget_usd`` / ``monthly_budget_usd``).

Users pay per token; a runaway script should stop before the bill does. Spending is summed
from the usage log over every profile (it is one wallet): a notice at 80 % of a limit, a refusal
at 100 % unless the user says ``--over-budget``. A limit of 0 means "spend nothing" (every paid
request is refused); no budget at all is the key left out. Requests whose price is unknown
count as 0 here, and the notice says the figure is a lower bound; a model about to be used that
has no known price is named once per command (its requests cannot be counted).

``connect`` is the one way a feature gets a provider that spends: every paid request it sends
(chat turns, verify's probes, doctor's request, uploads for transcription, speech, images, a
Batch API batch; every request of ``ask`` and the REPL: each tool round, each ``--schema`` or
``/schema`` retry, ``/retry``) first passes ``Gate``, whatever command sends it, so no command
can forget the check. ``check`` is the same judgement for a command that wants to refuse before
it does other work (``ask`` before MCP servers start, ``cmd``, ``batch submit``); the 80 %
notice is said once per command either way.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from chatcli.errors import BudgetExceeded
from chatcli.pricing import ModelInfo, money
from chatcli.settings.loading import Profile
from chatcli.store import Store, UsageRecord

if TYPE_CHECKING:
    from chatcli.environment import Clock
    from chatcli.providers.base import Provider

WARN_AT = 0.8
GO_ON = "pass --over-budget to go on"
REFRESH = 1.0
"""Seconds a ``Gate`` goes by the spending it read last before reading the usage log again
(a summary of hundreds of parts would otherwise read the month's log before each request);
what this process spends meanwhile is added to it as each request is logged (``Gate._logged``),
so only other processes' spending waits for the next read.
A conversation (``ask``, the REPL) passes ``refresh=0``: its requests go one at a time, and a
tool round or a schema retry right after a reply must see what that reply cost."""


@dataclass(frozen=True)
class Spending:
    """One active limit and what the usage log says is spent against it."""

    name: str  # "daily" or "monthly"
    spent: float
    limit: float
    unknown: bool  # some requests had no known price: ``spent`` is a lower bound

    def figure(self) -> str:
        return (
            f"{self._spent()}{' or more' if self.unknown else ''} "
            f"of your {self.name} budget {money(self.limit)}"
        )

    def _spent(self) -> str:
        """The amount spent, never shown as the limit while below it ($0.196 of $0.20 is
        $0.19, not $0.20: rounding up would say the budget is used up when it is not)."""
        shown = money(self.spent)
        if 0 <= self.spent < self.limit and shown == money(self.limit):
            cents = math.floor(self.spent * 100 + 1e-9) / 100
            shown = money(cents) if cents > 0 else shown
        return shown

    def percent(self) -> str:
        """The share spent, rounded down below the limit (99.6 % is 99 %, not 100 %)."""
        share = self.share
        if share < 1:
            return f"{math.floor(share * 100 + 1e-9)}%"  # 0.045 / 0.05 is 89.999…
        return f"{share:.0%}" if math.isfinite(share) else "over 100%"

    @property
    def share(self) -> float:
        """How much of the limit is spent (1.0: all of it); a limit of 0 is spent at once."""
        if self.limit > 0:
            return self.spent / self.limit
        return 1.0 if self.spent <= 0 else float("inf")

    def refusal(self) -> str:
        """What a refused request is told."""
        if self.limit <= 0:
            return (
                f"your {self.name} budget is $0 ({self.name}_budget_usd = 0): nothing may be "
                f"spent ({money(self.spent)}{' or more' if self.unknown else ''} so far)"
            )
        return f"{self.figure()} is spent"


def spending(
    store: Store, profile: Profile, model_info: Callable[[str], ModelInfo] | None = None
) -> list[Spending]:
    """Every configured limit with its spending so far (empty when no budget is set; a
    limit of 0 is a limit: nothing may be spent). With ``model_info``, requests logged
    without a known price are counted at the price known now (``pricing.later_cost``: a
    price set after them, as the "cannot count" notice asks), so they are not left out."""
    limits = [
        ("daily", profile.daily_budget_usd, date.today()),
        ("monthly", profile.monthly_budget_usd, date.today().replace(day=1)),
    ]
    active = [(name, limit, since) for name, limit, since in limits if limit is not None]
    if not active:
        return []
    out = []
    for name, limit, since in active:  # summed in SQL: never the month's rows in Python
        assert limit is not None
        spent, unpriced = store.usage_spent(since)
        if unpriced and model_info is not None:
            later = _priced_now(store, since, model_info)
            spent, unpriced = spent + later[0], unpriced - later[1]
        out.append(Spending(name, spent, limit, unpriced > 0))
    return out


def _priced_now(
    store: Store, since: date, model_info: Callable[[str], ModelInfo]
) -> tuple[float, int]:
    """What the requests logged since ``since`` without a known cost cost at today's prices,
    and how many of them that prices."""
    from chatcli.pricing import later_cost

    cost, requests = 0.0, 0
    for group in store.unpriced_usage(since):
        priced = later_cost(model_info(group.model), group.command, group.prompt_tokens,
                            group.completion_tokens, group.cached_tokens,
                            group.reasoning_tokens)  # fmt: skip
        if priced is not None:
            cost, requests = cost + priced, requests + group.requests
    return cost, requests


def check(
    store: Store,
    profile: Profile,
    *,
    over_budget: bool,
    warn: Callable[[str], None],
    model: str,
    model_info: Callable[[str], ModelInfo],
    go_on: str = GO_ON,
) -> None:
    """Raise when a limit is spent (unless ``over_budget``); ``warn`` near a limit, and (once
    per ``warn``'s notifier) when ``model``, about to be used, has no known price
    (``model_info``: the config's, with its ``[models]`` prices).

    ``go_on`` says how to continue from where the user is (a flag, or ``/budget`` in the REPL).
    """
    judge(spending(store, profile, model_info), over_budget=over_budget, warn=warn, model=model,
          model_info=model_info, go_on=go_on)  # fmt: skip


def judge(
    spent: list[Spending],
    *,
    over_budget: bool,
    warn: Callable[[str], None],
    model: str | None,
    model_info: Callable[[str], ModelInfo],
    go_on: str = GO_ON,
    once: bool = False,
) -> None:
    """``check`` on spending already read; ``once``: the 80 % notice only where this
    command (``warn``'s notifier) has not said it yet (a ``Gate`` judges every request)."""
    if spent and model:
        _unpriced(spent[0].name, model, model_info, warn)
    for s in spent:
        if s.share >= 1 and not over_budget:
            unset = " (leave it out for no budget)" if s.limit <= 0 else ""
            raise BudgetExceeded(
                s.refusal(), hint=f"{go_on}, or raise {s.name}_budget_usd in the config{unset}"
            )
        if s.share >= WARN_AT and _first_warning(warn, s.name, once):
            share = s.percent() if s.limit > 0 else "the budget is $0"
            warn(f"{s.figure()} is spent ({share})")


_WARNED: weakref.WeakKeyDictionary[object, set[str]] = weakref.WeakKeyDictionary()
"""The budgets whose 80 % notice was given, per notifier (one command)."""
_WARNED_LOCK = threading.Lock()


def _first_warning(warn: Callable[[str], None], name: str, once: bool) -> bool:
    """Whether to say the ``name`` budget's notice now: always, unless ``once`` and this
    notifier said it already (``check`` before a command connects, then its ``Gate``)."""
    owner = getattr(warn, "__self__", warn)
    with _WARNED_LOCK:
        try:
            said = _WARNED.setdefault(owner, set())
        except TypeError:  # not weakly referable: say it each time rather than never
            return True
        if once and name in said:
            return False
        said.add(name)
    return True


class Gate:
    """The budget check every paid request of one command passes (``connect`` puts it in
    front of the provider): refuses when a limit is spent, unless ``over_budget`` (a bool, or
    a function asked each time: ``/budget continue`` in the REPL), and says the 80 % notice
    and an unpriced model once. Thread-safe: a bulk command's workers all pass it. The usage
    log is read again after ``refresh`` seconds (``REFRESH``)."""

    def __init__(
        self,
        store: Store,
        profile: Profile,
        model_info: Callable[[str], ModelInfo],
        *,
        over_budget: bool | Callable[[], bool] = False,
        warn: Callable[[str], None],
        go_on: str = GO_ON,
        refresh: float = REFRESH,
    ) -> None:
        self.store = store
        self.refresh = refresh
        self.profile = profile
        self.model_info = model_info
        self.over_budget = over_budget
        self.warn = warn
        self.go_on = go_on
        self._lock = threading.Lock()
        self._spent: list[Spending] | None = None
        self._read_at = 0.0
        store.on_usage(self._logged)

    def _logged(self, record: UsageRecord) -> None:
        """A request this process logged: its cost joins the spending last read (today's and
        this month's), so the cache never hides what this command itself spent; other
        processes' spending is read again after ``refresh`` seconds."""
        with self._lock:
            if self._spent is not None:
                cost, unpriced = record.cost_usd or 0.0, record.cost_usd is None
                self._spent = [
                    replace(s, spent=s.spent + cost, unknown=s.unknown or unpriced)
                    for s in self._spent
                ]

    def __call__(self, model: str | None) -> None:
        """Judge one request to ``model`` (None: a request of no one model, a batch)."""
        if self.profile.daily_budget_usd is None and self.profile.monthly_budget_usd is None:
            return  # no budget: not even the log is read
        with self._lock:
            now = time.monotonic()
            if self._spent is None or now - self._read_at >= self.refresh:
                self._spent = spending(self.store, self.profile, self.model_info)
                self._read_at = now
            spent = self._spent
            over = self.over_budget() if callable(self.over_budget) else self.over_budget
            judge(spent, over_budget=over, warn=self.warn, model=model,
                  model_info=self.model_info, go_on=self.go_on, once=True)  # fmt: skip


def connect(
    profile: Profile,
    model_info: Callable[[str], ModelInfo],
    *,
    clock: Clock,
    store: Store,
    warn: Callable[[str], None],
    over_budget: bool | Callable[[], bool] = False,
    debug: bool = False,
    model: str | None = None,
    go_on: str = GO_ON,
    refresh: float = REFRESH,
) -> Provider:
    """``providers.connect`` for a command that spends: every paid request of the provider
    it returns passes this command's ``Gate`` first. ``model``: judge a request to it now, so a
    spent budget is refused before any work (reading, splitting, uploading) is done."""
    from chatcli.providers import connect as connect_provider

    gate = Gate(store, profile, model_info, over_budget=over_budget, warn=warn, go_on=go_on,
                refresh=refresh)  # fmt: skip
    if model is not None:
        gate(model)
    return connect_provider(profile, model_info, clock=clock, debug=debug, store=store,
                            guard=gate)  # fmt: skip


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
