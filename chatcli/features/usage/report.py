"""Group the usage log into rows of requests, tokens and cost for ``chatcli usage``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

from chatcli.environment import Environment
from chatcli.output import err, json_text, out
from chatcli.pricing import ModelInfo, family, json_usd, later_cost, money
from chatcli.store import UsageRow, open_default


@dataclass
class Group:
    """Totals of one day, model or profile."""

    key: str
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # of prompt_tokens, from the prompt cache
    reasoning_tokens: int = 0  # of completion_tokens
    cost_usd: float = 0.0  # of the requests whose price is known
    unknown_cost: int = 0  # requests whose price is unknown
    estimated: int = 0  # requests whose tokens were counted locally
    served_as: dict[str, int] = field(default_factory=dict)  # other names the endpoint answered

    def add(self, row: UsageRow) -> None:
        self.requests += 1
        self.prompt_tokens += row.prompt_tokens
        self.completion_tokens += row.completion_tokens
        self.cached_tokens += row.cached_tokens
        self.reasoning_tokens += row.reasoning_tokens
        self.estimated += row.estimated
        if row.served_model and family(row.served_model) != family(row.model):
            self.served_as[row.served_model] = self.served_as.get(row.served_model, 0) + 1
        if row.cost_usd is None:
            self.unknown_cost += 1
        else:
            self.cost_usd += row.cost_usd

    def cost(self) -> float | None:
        """The total, or None when some request's price is unknown (then ``cost_usd`` is only
        a lower bound); no requests at all cost 0."""
        return None if self.unknown_cost else self.cost_usd

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cost_usd": json_usd(self.cost()),
            "known_cost_usd": json_usd(self.cost_usd),
            "requests_with_unknown_cost": self.unknown_cost,
            "requests_with_estimated_tokens": self.estimated,
            "served_as": dict(sorted(self.served_as.items())),
        }


def _priced_now(row: UsageRow, model_info: Callable[[str], ModelInfo]) -> UsageRow:
    if row.cost_usd is not None:
        return row
    cost = later_cost(model_info(row.model), row.command, row.prompt_tokens,
                      row.completion_tokens, row.cached_tokens, row.reasoning_tokens)  # fmt: skip
    return row if cost is None else replace(row, cost_usd=cost)


def _key(row: UsageRow, by: str) -> str:
    if by == "model":
        return row.model
    if by == "profile":
        return row.profile or "-"
    if by == "command":
        return row.command
    return row.created_at.astimezone().date().isoformat()


def _money(group: Group) -> str:
    if group.unknown_cost == 0:
        return money(group.cost_usd)
    if group.unknown_cost == group.requests:
        return "unknown"
    return "≥ " + money(group.cost_usd)  # the known part: a lower bound


def _count(group: Group, tokens: int) -> str:
    """A token total, ``~``-marked when some of its requests were estimated (as the chat
    footer marks them; the legend under the table says how many)."""
    return f"~{tokens:,}" if group.estimated else f"{tokens:,}"


def _pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns: by display width, as a CJK character takes
    two (a model or profile named in Chinese lines up with the rest)."""
    from rich.cells import cell_len

    return text + " " * max(0, width - cell_len(text))


def report(
    environment: Environment,
    since: date | None,
    by: str,
    as_json: bool,
    model_info: Callable[[str], ModelInfo] | None = None,
) -> None:
    """The usage log grouped ``by`` day, model, profile or command. With ``model_info``
    (the config's), a request logged without a known price is priced at the one known now
    (``pricing.later_cost``), as the budgets count it."""
    with open_default() as store:
        rows = store.usage_rows(since)
    if model_info is not None:
        rows = [_priced_now(row, model_info) for row in rows]
    groups: dict[str, Group] = {}
    total = Group("total")
    for row in rows:
        groups.setdefault(_key(row, by), Group(_key(row, by))).add(row)
        total.add(row)
    ordered = sorted(groups.values(), key=lambda g: g.key)
    if as_json:
        obj = {
            "since": since.isoformat() if since else None,
            "by": by,
            "rows": [g.as_dict() for g in ordered],
            "total": total.as_dict(),
        }
        out(environment, json_text(obj, indent=2) + "\n")
        return
    if not rows:
        err(environment, "no requests logged" + (f" since {since}" if since else ""))
        return
    from rich.cells import cell_len

    width = max(cell_len(by), *(cell_len(g.key) for g in ordered), len("total"))
    lines = [
        f"{_pad(by, width)}  {'requests':>8}  {'tokens in':>10}  {'cached':>10}  "
        f"{'tokens out':>10}  cost"
    ]
    for g in [*ordered, total]:
        if g is total:
            lines.append("-" * (width + 58))
        tokens_in, tokens_out = _count(g, g.prompt_tokens), _count(g, g.completion_tokens)
        lines.append(
            f"{_pad(g.key, width)}  {g.requests:>8}  {tokens_in:>10}  "
            f"{g.cached_tokens:>10,}  {tokens_out:>10}  {_money(g)}"
        )
    if by == "model":
        for g in ordered:
            for served, n in sorted(g.served_as.items()):
                lines.append(f"! {g.key}: {n} request(s) answered by {served}")
    if total.estimated:
        lines.append(
            f"(~ {total.estimated} request(s) estimated: the endpoint reported no usage, so "
            "their tokens and cost were counted locally)"
        )
    if total.unknown_cost:
        lines.append(f"({total.unknown_cost} request(s) used a model without a known price)")
    out(environment, "\n".join(lines) + "\n")
