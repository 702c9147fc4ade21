"""``chatcli doctor`` (SPEC §3): check the active profile end to end, and say how to fix it."""

from chatcli.cli.common import ConfigOpt, DebugOpt, ModelOpt, ProfileOpt
from chatcli.context import Globals


def doctor(
    profile: ProfileOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Check config, key, URL, proxy, reachability, auth, model and one tiny request."""
    from chatcli.cli.doctor_run import run

    run(Globals(profile, model, config, debug))
