"""``chatcli verify``: does the endpoint really serve the model it claims?

Only typer and the stdlib are imported at module level: ``chatcli --help`` loads this module.
"""

from typing import Annotated

import typer

from chatcli.cli.common import OverBudgetOpt, global_options
from chatcli.environment import Environment
from chatcli.settings.options import Globals


@global_options
def verify(
    json_out: Annotated[
        bool, typer.Option("--json", help='Print {"checks": [...], "verdict": ...} only.')
    ] = False,
    over_budget: OverBudgetOpt = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Probe whether the endpoint serves the model it claims (ten short requests).

    Exit status 0 when the verdict is "consistent with MODEL", 1 when it is not.
    """
    from chatcli.features.verify.run import run
    from chatcli.settings.resolve import resolve

    run(environment, resolve(g), json_out=json_out, over_budget=over_budget)
