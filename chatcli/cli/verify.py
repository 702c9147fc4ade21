"""``chatcli verify`` (SPEC §6): does the endpoint really serve the model it claims?

Only typer and the stdlib are imported at module level: ``chatcli --help`` loads this module.
"""

from typing import Annotated

import typer

from chatcli.cli.common import ConfigOpt, DebugOpt, ModelOpt, ProfileOpt
from chatcli.context import Globals


def verify(
    json_out: Annotated[
        bool, typer.Option("--json", help='Print {"checks": [...], "verdict": ...} only.')
    ] = False,
    profile: ProfileOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Probe whether the endpoint serves the model it claims (six short requests).

    Exit status 0 when the verdict is "consistent with MODEL", 1 when it is not.
    """
    from chatcli.cli.verify_run import run

    run(Globals(profile, model, config, debug), json_out=json_out)
