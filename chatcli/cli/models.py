"""``chatcli models [--json]``: every model the endpoint offers, with what we know."""

from typing import Annotated

import typer

from chatcli.cli.common import global_options
from chatcli.settings.resolve import Globals


@global_options
def models(
    json_out: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    *,
    g: Globals,
) -> None:
    """List the models the endpoint offers, with context window and prices where known."""
    import json
    import sys

    from chatcli.output import emit
    from chatcli.providers import connect
    from chatcli.settings.resolve import resolve

    env = resolve(g)
    provider = connect(env.profile, env.config.model_info, debug=env.debug)
    from chatcli.features.models.listing import model_ids

    def note(message: str) -> None:
        print(f"chatcli: {message}", file=sys.stderr)

    infos = [env.config.model_info(n) for n in model_ids(env, provider, note)]
    if json_out:
        rows = [
            {
                "id": i.name,
                "context_window": i.context_window,
                "input_price": i.input_price,
                "output_price": i.output_price,
            }
            for i in infos
        ]
        emit(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    if not infos:
        print(f"profile {env.profile.name!r}: the endpoint lists no models", file=sys.stderr)
        return

    def cell(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    width = max(len("model"), *(len(i.name) for i in infos))
    out = [f"{'model':<{width}}  {'context':>9}  {'$/1M in':>8}  {'$/1M out':>8}"]
    for i in infos:
        out.append(
            f"{i.name:<{width}}  {cell(i.context_window, ','):>9}  "
            f"{cell(i.input_price, '.2f'):>8}  {cell(i.output_price, '.2f'):>8}"
        )
    emit("\n".join(out) + "\n")
