"""``chatcli models [--json]``: every model the endpoint offers, with what we know."""

from typing import Annotated

import typer

from chatcli.cli.common import global_options
from chatcli.environment import Environment
from chatcli.settings.options import Globals


@global_options
def models(
    json_out: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """List the endpoint's models: context window, prices (source and date), retirements."""
    from chatcli.output import emit, err
    from chatcli.providers import connect
    from chatcli.settings.resolve import resolve

    env = resolve(g)
    provider = connect(env.profile, env.config.model_info, debug=env.debug, clock=environment.clock)
    from chatcli.features.models import listing

    def note(message: str) -> None:
        err(environment, f"chatcli: {message}")

    found = listing.rows(env, listing.listed_models(env, provider, note))
    if json_out:
        emit(environment, listing.as_json(found))
        return
    if not found:
        err(environment, f"profile {env.profile.name!r}: the endpoint lists no models")
        return
    emit(environment, listing.table(found))
