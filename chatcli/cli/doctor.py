"""``chatcli doctor``: check the active profile end to end, and say how to fix it."""

from chatcli.cli.common import OverBudgetOpt, global_options
from chatcli.environment import Environment
from chatcli.settings.options import Globals


@global_options
def doctor(over_budget: OverBudgetOpt = False, *, g: Globals, environment: Environment) -> None:
    """Check config, key, URL, proxy, reachability, auth, model and one tiny request."""
    from chatcli.features.doctor.checks import run
    from chatcli.settings.resolve import staged

    run(environment, staged(g), over_budget=over_budget)
