"""The remaining quota of a relay key, from the billing endpoints relays implement.

Relays built on one-api/new-api implement OpenAI's retired ``/dashboard/billing/subscription``
(the key's limit, USD) and ``/dashboard/billing/usage`` (what it used, in cents), under the API
root or the bare origin (the provider tries both). Official OpenAI and Azure have no such
endpoint for API keys, and this says so instead of making a number up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
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
            hint="official OpenAI keys have none; check the provider's dashboard",
        ) from None
    used_cents = _number(usage, "total_usage")
    return Balance(
        provider.name,
        base,
        _number(sub, "hard_limit_usd"),
        None if used_cents is None else used_cents / 100,
        start,
        today,
    )


def _number(obj: Any, key: str) -> float | None:
    value = obj.get(key) if isinstance(obj, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
