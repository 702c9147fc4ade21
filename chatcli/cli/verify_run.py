"""What ``chatcli verify`` does: connect, run the probes of ``chatcli.verify``, print, exit.

Human output is one line per check as soon as it is known (the requests take a few seconds
each), then the verdict; ``--json`` prints one object at the end. Exit status 1 when the verdict
is not "consistent", so scripts can gate on it; errors keep their own codes (4, 5, 6).
"""

from __future__ import annotations

import json
import sys

from typer import Exit

from chatcli.context import Globals, resolve
from chatcli.output import Notifier

MARK = {"pass": "pass", "warn": "warn", "fail": "FAIL", "skip": "skip"}


def run(g: Globals, *, json_out: bool) -> None:
    """Verify the resolved profile + model; raises chatcli errors for the funnel."""
    from chatcli import verify
    from chatcli.models import BUILTIN
    from chatcli.providers import connect

    env = resolve(g)
    provider = connect(env.profile, env.config.model_info, debug=env.debug)
    notifier = Notifier()
    target = verify.Target(
        provider=provider,
        model=env.model,
        info=env.config.model_info(env.model),
        tokenizers=verify.tokenizer_families({**BUILTIN, **env.config.models}.values()),
        on_notice=notifier.notice,
    )

    def show(check: verify.Check) -> None:
        notifier.end_line()
        sys.stdout.write(f"[{MARK[check.status]}] {check.name:<14} {check.evidence}\n")
        sys.stdout.flush()

    if not json_out:
        url = provider.endpoint.url_for(env.model)
        sys.stdout.write(f"verifying {env.model} at {url} (profile {env.profile.name})\n")
        sys.stdout.flush()
    try:
        checks = verify.run(target, on_check=(lambda _c: None) if json_out else show)
    finally:
        provider.transport.close()
    result = verify.verdict(env.model, checks)
    if json_out:
        obj = {
            "checks": [
                {"name": c.name, "status": c.status, "evidence": c.evidence} for c in checks
            ],
            "verdict": result.text,
        }
        sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(f"verdict: {result.text}\n")
    if not result.consistent:
        raise Exit(1)
