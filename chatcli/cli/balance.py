"""``chatcli balance``: remaining quota of a relay key (logic in ``features.billing``)."""

from typing import Annotated

import typer

from chatcli.cli.common import global_options
from chatcli.environment import Environment
from chatcli.settings.options import Globals


@global_options
def balance(
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Show the remaining quota of the profile's key, where the endpoint reports one."""
    from chatcli.features.billing.balance import fetch
    from chatcli.output import json_text, out
    from chatcli.providers import connect
    from chatcli.settings.resolve import resolve

    env = resolve(g)
    b = fetch(connect(env.profile, env.config.model_info, debug=env.debug, clock=environment.clock))
    if json_out:
        obj = {
            "profile": b.profile,
            "endpoint": b.endpoint,
            "limit_usd": b.limit_usd,
            "used_usd": b.used_usd,
            "remaining_usd": b.remaining_usd,
            "period": {"start": b.start.isoformat(), "end": b.end.isoformat()},
        }
        out(environment, json_text(obj, indent=2, ensure_ascii=True) + "\n")
        return

    from chatcli.features.billing.balance import shown

    limit, used, remaining = shown(b)  # rounded alike: used + remaining = limit as printed
    out(
        environment,
        f"profile    {b.profile}\n"
        f"limit      {limit}\n"
        f"used       {used}  (as reported for {b.start} – {b.end})\n"
        f"remaining  {remaining}\n",
    )
