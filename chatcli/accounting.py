"""Turn accounting: what one request used and cost, by one rule for every request chatcli
logs (a conversation's turn in ``session``, a request of a batch's local runner).

The endpoint's reported usage when there is one; else an estimate by the model's tokenizer,
marked ``estimated``: the prompt counted from the messages sent (none when nothing was
answered: a request refused before it began used nothing we can know of), the completion from
the text that arrived. The cost is priced from those counts either way, so a relay that never
reports usage still shows (estimated) spending instead of zero. Before, the local batch
runner logged such requests as 0 tokens at an unknown cost while a conversation estimated them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatcli.events import Usage
from chatcli.pricing import cost_usd
from chatcli.tokens import count_messages, count_text

if TYPE_CHECKING:
    from chatcli.events import Message
    from chatcli.pricing import ModelInfo


def used(
    reported: Usage | None,
    messages: list[Message],
    text: str,
    encoding: str | None,
    *,
    answered: bool = True,
) -> Usage:
    """The request's usage: ``reported``, or the tokenizer's estimate of it."""
    if reported is not None:
        return reported
    prompt = count_messages(messages, encoding).n if answered else 0
    return Usage(prompt, count_text(text, encoding).n, estimated=True)


def cost(info: ModelInfo, usage: Usage, *, batch: bool = False) -> float | None:
    """What ``usage`` costs at ``info``'s prices (None when a price is unknown)."""
    return cost_usd(
        info, usage.prompt_tokens, usage.completion_tokens,
        cached_tokens=usage.cached_tokens, reasoning_tokens=usage.reasoning_tokens,
        service_tier=usage.service_tier, batch=batch,
    )  # fmt: skip
