"""``chatcli models [--json]``: every model the endpoint offers, with what we know."""

from typing import Annotated

import typer

from chatcli.cli.common import global_options
from chatcli.settings.resolve import Globals, resolve


@global_options
def models(
    json_out: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    *,
    g: Globals,
) -> None:
    """List the endpoint's models: context window, prices (source and date), retirements."""
    import sys

    from chatcli.output import emit
    from chatcli.providers import connect

    env = resolve(g)
    provider = connect(env.profile, env.config.model_info, debug=env.debug)
    from chatcli.features.models import listing

    def note(message: str) -> None:
        print(f"chatcli: {message}", file=sys.stderr)

    found = listing.rows(env, listing.listed_models(env, provider, note))
    if json_out:
        emit(listing.as_json(found))
        return
    if not found:
        print(f"profile {env.profile.name!r}: the endpoint lists no models", file=sys.stderr)
        return
    emit(listing.table(found))
