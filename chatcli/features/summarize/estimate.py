"""What a ``summarize`` run will cost before it runs: ``--dry-run`` and the confirmation above
``confirm_above_usd``.

Input tokens are counted with the model's tokenizer (exact when tiktoken knows it, else the
estimate ``chatcli.tokens`` falls back to); the combine request's input and every reply are not
known in advance, so they are a range: at least ``OUTPUT_LOW`` tokens per reply, at most the
reply reserve (``max_tokens`` or the session's default). Time is the floor the profile's
``requests_per_minute`` sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chatcli.features.summarize.engine import COMBINE_PROMPT, PART_PROMPT, SEPARATOR, Summarizer
from chatcli.pricing import cost_usd, money

OUTPUT_LOW = 50
"""The shortest reply counted for a summary: a few sentences."""


@dataclass
class Estimate:
    """Requests, token ranges and cost range of a run; ``each`` keeps every request's
    (prompt, prompt_high, reserve), as each is priced on its own (long-context tiers)."""

    requests: int = 0
    input_low: int = 0
    input_high: int = 0
    output_low: int = 0
    output_high: int = 0
    exact: bool = True
    each: list[tuple[int, int, int]] = field(default_factory=list)

    def add_request(self, prompt: int, prompt_high: int, reserve: int) -> None:
        self.requests += 1
        self.input_low += prompt
        self.input_high += prompt_high
        self.output_low += OUTPUT_LOW
        self.output_high += reserve
        self.each.append((prompt, prompt_high, reserve))


def estimate(summarizers: list[tuple[Summarizer, str]], combine: Summarizer | None) -> Estimate:
    """The estimate for summarising each text with its summariser (and combining them)."""
    from chatcli.tokens import exact_available

    result = Estimate()
    finals: list[tuple[int, int]] = []
    for summ, text in summarizers:
        low, high = _one(summ, text, result)
        finals.append((low, high))
        result.exact = result.exact and exact_available(summ.info.tokenizer)
    if combine is not None and len(finals) > 1:
        base = combine.count(combine.instructions + SEPARATOR) + _framing(combine)
        # both ends are capped by what one request carries (more is summarised again first)
        low = base + min(combine.budget, sum(lo for lo, _ in finals))
        high = base + min(combine.budget, sum(hi for _, hi in finals))
        result.add_request(low, max(low, high), _reserve(combine))
    return result


def _one(summ: Summarizer, text: str, result: Estimate) -> tuple[int, int]:
    """Add one input's requests; returns its final summary's token range."""
    from chatcli.features.summarize.progress import BIG, size, stage

    reserve = _reserve(summ)
    framing = _framing(summ)
    if len(text) >= BIG:  # seconds of counting and cutting: said on a terminal
        label = summ.name or "the input"
        stage(summ.notifier, f"counting the tokens of {label} ({size(len(text))})")
    parts = summ.plan(text)
    if len(parts) == 1:
        n = summ.count(f"{summ.instructions}{SEPARATOR}{text}") + framing
        result.add_request(n, n, reserve)
        return OUTPUT_LOW, reserve
    total = len(parts)
    for i, part in enumerate(parts, 1):
        prompt = PART_PROMPT.format(index=i, total=total, instructions=summ.instructions)
        n = summ.count(f"{prompt}{SEPARATOR}{part}") + framing
        result.add_request(n, n, reserve)
    head = COMBINE_PROMPT.format(instructions=summ.instructions, total=total)
    base = summ.count(head + SEPARATOR) + framing
    low = base + min(summ.budget, total * OUTPUT_LOW)  # capped like the high end: never above it
    result.add_request(low, max(low, base + min(summ.budget, total * reserve)), reserve)
    return OUTPUT_LOW, reserve


def _reserve(summ: Summarizer) -> int:
    from chatcli.session import reply_reserve

    return reply_reserve(summ.window, summ.env.profile.max_tokens)


def _framing(summ: Summarizer) -> int:
    from chatcli.tokens import REPLY_PRIMING, TOKENS_PER_MESSAGE

    system = summ.env.profile.system or ""
    extra = summ.count(system) + TOKENS_PER_MESSAGE if system else 0
    return REPLY_PRIMING + TOKENS_PER_MESSAGE + extra


def costs(summ: Summarizer, est: Estimate) -> tuple[float, float] | None:
    """The run's cost range: every request priced as the request it will be, so a model with
    a long-context tier is charged its higher rate only on the requests that pass it."""
    low = high = 0.0
    for prompt, prompt_high, reserve in est.each:
        one_low = cost_usd(summ.info, prompt, OUTPUT_LOW)
        one_high = cost_usd(summ.info, prompt_high, reserve)
        if one_low is None or one_high is None:
            return None
        low, high = low + one_low, high + one_high
    return low, high


def describe(summ: Summarizer, est: Estimate, inputs: int) -> str:
    """The ``--dry-run`` report."""
    env = summ.env
    exact = "exact" if est.exact else "estimated: tiktoken does not know this model's tokenizer"
    tokens = f"{est.input_low:,}"
    if est.input_high != est.input_low:
        tokens = f"{est.input_low:,} to {est.input_high:,}"
    lines = [
        f"model: {env.model} (profile {env.profile.name})",
        f"inputs: {inputs}",
        f"requests: {est.requests}",
        f"input tokens: {tokens} ({exact})",
        f"output tokens: {est.output_low:,} to {est.output_high:,}",
    ]
    cost = costs(summ, est)
    if cost is None:
        lines.append(f"cost: unknown (no price for {env.model}; set it in [models])")
    else:
        lines.append(f"cost: {money(cost[0])} to {money(cost[1])}")
    rpm = env.profile.requests_per_minute
    if rpm:
        seconds = max(est.requests - 1, 0) * 60 / rpm
        lines.append(f"time: at least {seconds:.1f} s at {rpm:g} requests/min")
    else:
        lines.append("time: as fast as the endpoint answers (no requests_per_minute set)")
    lines.append("nothing was sent (--dry-run)")
    return "\n".join(lines) + "\n"


def confirm(summ: Summarizer, est: Estimate, *, yes: bool) -> None:
    """Ask before a run that may cost more than ``confirm_above_usd``, or that sends many
    requests at an unknown price; refuse off a terminal."""
    from chatcli.features.spending import confirm_spend

    money = costs(summ, est)
    plural = "request" if est.requests == 1 else "requests"
    confirm_spend(
        summ.shared.environment,
        f"this run ({est.requests} {plural}) may cost up to",
        None if money is None else money[1],
        summ.env.profile.confirm_above_usd,
        yes=yes,
        hint="add --yes to go on, or --dry-run to see the estimate",
        requests=est.requests,
        unpriced=f" (no price for {summ.env.model})",
    )
