"""Query a relay's billing endpoints and print limit, used and remaining."""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from typing import Any

from chatcli.errors import APIError, ChatcliError
from chatcli.settings.resolve import Globals, resolve


def _candidates(root: str) -> list[str]:
    """``{root}/dashboard/billing``, then ``{origin}/dashboard/billing`` if the root has a path."""
    scheme, _, rest = root.partition("://")
    origin = f"{scheme}://{rest.split('/', 1)[0]}"
    bases = [root, origin] if root != origin else [root]
    return [f"{b}/dashboard/billing" for b in bases]


def _number(obj: Any, key: str) -> float | None:
    value = obj.get(key) if isinstance(obj, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def run(g: Globals, as_json: bool) -> None:
    from chatcli.providers import connect

    env = resolve(g)
    if env.profile.type == "azure":
        raise ChatcliError(
            f"profile {env.profile.name!r} is Azure OpenAI, which has no balance endpoint",
            hint="see cost and quota in the Azure portal; `chatcli usage` shows what chatcli spent",
        )
    provider = connect(env.profile, env.config.model_info, debug=env.debug)
    root = provider.endpoint.root or ""
    today = date.today()
    start = today.replace(day=1)
    for base in _candidates(root):
        try:
            sub = provider.get_json(f"{base}/subscription")
            usage = provider.get_json(
                f"{base}/usage?start_date={start}&end_date={today + timedelta(days=1)}"
            )
        except APIError as exc:
            if exc.status in (404, 405):
                continue
            raise
        limit = _number(sub, "hard_limit_usd")
        used_cents = _number(usage, "total_usage")
        used = None if used_cents is None else used_cents / 100
        remaining = None if limit is None or used is None else limit - used
        result = {
            "profile": env.profile.name,
            "endpoint": base,
            "limit_usd": limit,
            "used_usd": used,
            "remaining_usd": remaining,
            "period": {"start": start.isoformat(), "end": today.isoformat()},
        }
        if as_json:
            sys.stdout.write(json.dumps(result, indent=2) + "\n")
            return

        from chatcli.pricing import money

        def usd(x: float | None) -> str:
            return "unknown" if x is None else money(x)

        sys.stdout.write(
            f"profile    {env.profile.name}\n"
            f"limit      {usd(limit)}\n"
            f"used       {usd(used)}  (as reported for {start} – {today})\n"
            f"remaining  {usd(remaining)}\n"
        )
        return
    raise ChatcliError(
        f"profile {env.profile.name!r}: the endpoint has no billing endpoints "
        "(/dashboard/billing/subscription answered 404)",
        hint="official OpenAI keys have none; check the provider's dashboard",
    )
