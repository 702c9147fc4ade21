"""What a job will cost, said before anything is sent, and the ``confirm_above_usd`` question.

A job is priced when it is submitted: at batch prices for the Batch API, at normal ones for
the local runner. A job submitted for the Batch API whose endpoint turns out to have none runs
locally at twice that, so it is priced again from its stored requests (``local_totals``) and
confirmed again before the first local request: a threshold passed at half price is not
passed for the full one. ``batch retry`` prices the failed requests it sends again the same
way (``stored_totals``) and asks the same question.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from chatcli.environment import Environment
from chatcli.pricing import cost_usd, money

if TYPE_CHECKING:
    from chatcli.features.batch.inputs import Totals
    from chatcli.pricing import ModelInfo
    from chatcli.settings.loading import Profile
    from chatcli.store.jobs import JobRow, Jobs


def describe(t: Totals, *, remote_mode: bool) -> str:
    """One line: requests, input tokens and the cost at the prices the job will pay."""
    batches = f" in {len(t.parts)} batches" if len(t.parts) > 1 else ""
    tokens = f"{t.tokens:,} input tokens{'' if t.exact else ' (estimated)'}"
    prices = "batch prices (half price)" if remote_mode else "normal prices (local runner)"
    if t.input_cost is None:
        cost = f"cost unknown (no price for {', '.join(sorted(t.models))})"
    else:
        cost = f"input {money(t.input_cost)} at {prices}"
        if t.output_cost is not None:
            cost += f", replies at most {money(t.output_cost)}"
        else:
            cost += " + replies"
    return f"{t.requests:,} requests{batches}, {tokens}, {cost}"


def confirm(environment: Environment, t: Totals, profile: Profile, yes: bool, *, hint: str) -> None:
    """Above ``confirm_above_usd`` (or many requests at an unknown price): ask on a terminal;
    off one, refuse unless ``--yes``."""
    from chatcli.features.spending import confirm_spend

    total = None if t.input_cost is None else t.input_cost + (t.output_cost or 0.0)
    confirm_spend(environment, "the estimate is", total, float(profile.confirm_above_usd), yes=yes,
                  hint=hint, requests=t.requests,
                  unpriced=f" (no price for {', '.join(sorted(t.models))})")  # fmt: skip


def local_totals(jobs: Jobs, job: JobRow, model_info: Callable[[str], ModelInfo]) -> Totals:
    """The estimate of ``job``'s pending requests at normal prices, from the stored lines."""
    pending = ((model, line) for _idx, model, line in jobs.lines(job.id, state="pending"))
    return stored_totals(pending, model_info, remote_mode=False)


def stored_totals(
    lines: Iterable[tuple[str, str]],
    model_info: Callable[[str], ModelInfo],
    *,
    remote_mode: bool,
) -> Totals:
    """The estimate of stored ``(model, line)`` requests (a job's pending ones, the failed
    ones ``batch retry`` sends again) at the prices they will pay: batch ones on the Batch
    API, normal ones on the local runner (whose requests are ``local.request_of``'s)."""
    from chatcli.features.batch.inputs import Totals
    from chatcli.features.batch.local import request_of
    from chatcli.pricing import batch_cost_usd
    from chatcli.tokens import count_messages

    price = batch_cost_usd if remote_mode else cost_usd
    t = Totals()
    for model, line in lines:
        request = request_of(model, line)
        info = model_info(model)
        count = count_messages(request.messages, info.tokenizer)
        t.requests += 1
        t.tokens += count.n
        t.exact = t.exact and count.exact
        t.models.add(model)
        cost = price(info, count.n, 0)
        t.input_cost = None if cost is None or t.input_cost is None else t.input_cost + cost
        most = price(info, 0, request.max_tokens) if request.max_tokens else None
        t.output_cost = None if most is None or t.output_cost is None else t.output_cost + most
    return t
