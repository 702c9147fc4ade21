"""``chatcli balance`` (SPEC §3): remaining quota of a relay key, from the billing endpoints.

Relays built on one-api/new-api implement OpenAI's retired ``/dashboard/billing/subscription``
(the key's limit, USD) and ``/dashboard/billing/usage`` (what it used, in cents), under the API
root or the bare origin; we try both. Official OpenAI and Azure have no such endpoint for API
keys, and chatcli says so instead of printing a made-up number.
"""

from typing import Annotated

import typer

from chatcli.cli.common import global_options
from chatcli.settings.resolve import Globals


@global_options
def balance(
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    *,
    g: Globals,
) -> None:
    """Show the remaining quota of the profile's key, where the endpoint reports one."""
    from chatcli.features.billing.balance import run

    run(g, json_out)
