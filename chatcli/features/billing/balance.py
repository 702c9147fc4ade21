"""The remaining quota of a relay key, from the billing endpoints relays implement.

Relays built on one-api/new-api implement OpenAI's retired ``/dashboard/billing/subscription``
(the key's limit, USD) and ``/dashboard/billing/usage`` (what it used, in cents), under the API
root or the bare origin (the provider tries both). Official OpenAI and Azure have no such
endpoint for API keys, and this says so instead of making a number up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from chatcli.errors import APIError, ChatcliError
from chatcli.providers.base import Provider


@dataclass(frozen=True)
class Balance:
    """What the endpoint reported for this month; None where it reported nothing usable."""

    profile: str
    endpoint: str
    limit_usd: float | None
    used_usd: float | None
    start: date
    end: date

    @property
    def remaining_usd(self) -> float | None:
        if self.limit_usd is None or self.used_usd is None:
            return None
        return self.limit_usd - self.used_usd


def shown(b: Balance) -> tuple[str, str, str]:
    """Limit, used and remaining as printed: all three rounded to one number of decimals (cents,
    or as many as ``money`` gives the smaller of used and remaining), remaining taken from the
    rounded limit and use, so the column adds up as shown (12.345 of 100 is $12.35 used and
    $87.65 left, not $87.66). ``--json`` keeps the exact numbers."""
    from chatcli.pricing import money

    def usd(x: float | None) -> str:
        return "unknown" if x is None else money(x)

    limit, used, left = b.limit_usd, b.used_usd, b.remaining_usd
    if limit is None or used is None or left is None or not math.isfinite(left):
        return usd(limit), usd(used), usd(left)
    places = max(_decimals(used), _decimals(left))
    with localcontext() as exact:  # room for any float's digits: never rounded but here
        exact.prec = 800
        step = Decimal(1).scaleb(-places)
        limit_d, used_d = (Decimal(repr(x)).quantize(step, ROUND_HALF_UP) for x in (limit, used))
        return _dollars(limit_d), _dollars(used_d), _dollars(limit_d - used_d)


def _decimals(usd: float) -> int:
    """How many decimals ``pricing.money`` shows ``usd`` with: cents from $1 (and for 0), two
    significant digits below."""
    amount = abs(usd)
    return 2 if amount == 0 or amount >= 1 else max(2, 1 - math.floor(math.log10(amount)))


def _dollars(amount: Decimal) -> str:
    """``amount`` as ``money`` prints it (``$1,234.50``, ``-$0.012``): decimals past the cents
    only where they are not 0."""
    text = f"{abs(amount):,f}"
    head, _, tail = text.partition(".")
    tail = (tail[:2] + tail[2:].rstrip("0")).ljust(2, "0")
    return f"{'-' if amount < 0 else ''}${head}.{tail}"


def fetch(provider: Provider, *, today: date | None = None) -> Balance:
    """This month's limit and use of the provider's key (raises ``ChatcliError`` where the
    endpoint has no billing API)."""
    today = today or date.today()
    start = today.replace(day=1)
    try:
        base, (sub, usage) = provider.billing(
            "subscription", f"usage?start_date={start}&end_date={today + timedelta(days=1)}"
        )
    except APIError as exc:
        if exc.status not in (404, 405):
            raise
        raise ChatcliError(
            f"profile {provider.name!r}: the endpoint has no billing endpoints "
            "(/dashboard/billing/subscription answered 404)",
            hint="official OpenAI keys have none; a gateway keeps its own (LiteLLM: a key's "
            "spend and budget at /key/info, or its admin UI); else check the provider's dashboard",
        ) from None
    if not (_holds(sub, _SUBSCRIPTION) or _holds(usage, _USAGE)):
        from chatcli.providers.shapes import excerpt

        raise APIError(
            f"malformed billing answer from {base}: neither /subscription nor /usage holds "
            f"billing fields: {excerpt(sub, 120)}",
            hint="check base_url: this is not a one-api/new-api billing API",
        )
    used_cents = _number(usage, "total_usage")
    return Balance(
        provider.name,
        base,
        _number(sub, "hard_limit_usd"),
        None if used_cents is None else used_cents / 100,
        start,
        today,
    )


_SUBSCRIPTION = ("hard_limit_usd", "soft_limit_usd", "system_hard_limit_usd", "has_payment_method")
_USAGE = ("total_usage", "daily_costs")
"""Fields of each billing answer: a body with none of them (a relay answering every path with
the same JSON, a wrong base_url) is no billing answer, never a balance of "unknown"."""


def _holds(obj: Any, keys: tuple[str, ...]) -> bool:
    return isinstance(obj, dict) and any(key in obj for key in keys)


def _number(obj: Any, key: str) -> float | None:
    value = obj.get(key) if isinstance(obj, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
