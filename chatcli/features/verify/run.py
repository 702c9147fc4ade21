"""What ``chatcli verify`` does: connect, run the probes (``probes``), print, exit.

Human output is one line per check as soon as it is known (the requests take a few seconds
each), then the verdict; ``--json`` prints one object at the end. Exit status 1 when the verdict
is not "consistent", so scripts can gate on it; errors keep their own codes (4, 5, 6).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from chatcli.environment import Environment
from chatcli.errors import ChatcliError, Reported
from chatcli.output import flush_out, json_text, notifier_for, out
from chatcli.settings.resolve import Env

if TYPE_CHECKING:
    from chatcli.store import Store

Note = Callable[[str], None]

MARK = {"pass": "pass", "warn": "warn", "fail": "FAIL", "skip": "skip"}


def _remember_json_schema(
    store: Store, profile: str, model: str, checks: list[Any], note: Note
) -> None:
    """What the json_schema probe found is what ``--schema`` goes by next: a refusal is
    noted (the schema goes into the prompt), an honoured request clears the note. Only a
    memo (``store.quirks.memo``): a database that cannot take it never fails the verdict."""
    from chatcli.features.schema.turn import QUIRKS
    from chatcli.features.verify.probes import REFUSED_JSON_SCHEMA
    from chatcli.store import quirks

    check = next((c for c in checks if c.name == "json_schema"), None)
    if check is None or check.status not in ("pass", "warn"):
        return
    what = "what the json_schema probe found (for --schema)"
    if check.status == "pass":
        quirks.forget(store, profile, model, QUIRKS, note, what)
    elif check.evidence.startswith(REFUSED_JSON_SCHEMA):
        quirks.note(store, profile, model, QUIRKS[0], check.evidence, note, what)


def run(environment: Environment, env: Env, *, json_out: bool, over_budget: bool = False) -> None:
    """Verify the resolved profile + model; raises chatcli errors for the funnel. The probes
    are paid requests: a spent budget refuses them before the first (``--over-budget``)."""
    from chatcli import accounting
    from chatcli.features.usage import budget
    from chatcli.features.verify import probes as verify
    from chatcli.pricing import builtin
    from chatcli.providers.base import ChatRequest
    from chatcli.store import open_default

    notifier = notifier_for(environment)
    store = open_default()
    try:
        provider = budget.connect(env.profile, env.config.model_info, clock=environment.clock,
                                  debug=env.debug, store=store, warn=notifier.note,
                                  over_budget=over_budget, model=env.model)  # fmt: skip
    except BaseException:
        store.close()
        raise
    info = env.config.model_info(env.model)

    def log_usage(
        request: ChatRequest, usage: Mapping[str, Any] | None, served: str | None, text: str
    ) -> None:
        """Probes cost tokens too: log each like any request, counted by the one estimator
        (``accounting.used``) when its usage is unreported or unusable."""
        from chatcli.providers.answers import usage as reported

        store.log_usage(accounting.row(info, request, accounting.Generated(text),
                                       reported(usage), profile=env.profile.name,
                                       command="verify", status="ok", served=served))  # fmt: skip

    def log_failure(
        request: ChatRequest, exc: BaseException, usage: Mapping[str, Any] | None
    ) -> None:
        """A probe that failed is logged by the rule every command's failures follow
        (``accounting.logs``): answered (any status, cut or malformed) is a row, with the
        usage the answer reported; never sent is none."""
        from chatcli.errors import Interrupted
        from chatcli.providers.answers import usage as reported

        if not accounting.logs(exc):
            return
        cut = isinstance(exc, KeyboardInterrupt | Interrupted)
        with contextlib.suppress(ChatcliError):  # the error at hand is the one to report
            store.log_usage(accounting.row(info, request, accounting.Generated(),
                                           reported(usage), profile=env.profile.name,
                                           command="verify",
                                           status="interrupted" if cut else "error"))  # fmt: skip

    target = verify.Target(
        provider=provider,
        model=env.model,
        info=info,
        tokenizers=verify.tokenizer_families({**builtin(), **env.config.models}.values()),
        on_notice=notifier.notice,
        on_usage=log_usage,
        on_failed=log_failure,
    )

    def show(check: verify.Check) -> None:
        notifier.end_line()
        out(
            environment,
            f"[{MARK[check.status]}] {check.name:<18} {check.evidence} ({check.strength})\n",
        )
        flush_out(environment)

    if not json_out:
        url = provider.chat_url(env.model)
        out(environment, f"verifying {env.model} at {url} (profile {env.profile.name})\n")
        flush_out(environment)
    try:
        checks = verify.run(target, on_check=(lambda _c: None) if json_out else show)
        # the probes were paid for: their verdict is printed whatever the database says
        _remember_json_schema(store, env.profile.name, env.model, checks, notifier.note)
    finally:
        provider.close()
        store.close()
    result = verify.verdict(env.model, checks)
    if json_out:
        obj = {
            "checks": [
                {"name": c.name, "status": c.status, "strength": c.strength, "evidence": c.evidence}
                for c in checks
            ],
            "verdict": result.text,
        }
        out(environment, json_text(obj, indent=2) + "\n")
    else:
        out(environment, f"verdict: {result.text}\n")
    if not result.consistent:
        raise Reported()
