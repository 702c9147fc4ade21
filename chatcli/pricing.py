"""Built-in model table: context window, prices, tokenizer and parameter quirks per model.

Config ``[models."name"]`` entries override fields of these (see ``config.py``). Lookup tolerates
dated and vendor-prefixed names (``gpt-4o-2024-08-06``, ``openai/gpt-4o``) by longest known prefix,
because relays rename models freely.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ModelInfo:
    """What chatcli knows about one model. Prices are USD per 1M tokens; None means unknown."""

    name: str
    context_window: int | None = None
    input_price: float | None = None
    output_price: float | None = None
    tokenizer: str | None = None  # tiktoken encoding name
    reasoning: bool = False  # max_completion_tokens instead of max_tokens; no temperature

    @property
    def known(self) -> bool:
        """True when the model came from the table or config, not a bare guess."""
        return self.context_window is not None


_O200K = "o200k_base"
_CL100K = "cl100k_base"

BUILTIN: dict[str, ModelInfo] = {
    m.name: m
    for m in (
        ModelInfo("gpt-4o-mini", 128_000, 0.15, 0.60, _O200K),
        ModelInfo("gpt-4o", 128_000, 2.50, 10.00, _O200K),
        ModelInfo("gpt-4.1", 1_047_576, 2.00, 8.00, _O200K),
        ModelInfo("gpt-4.1-mini", 1_047_576, 0.40, 1.60, _O200K),
        ModelInfo("gpt-4.1-nano", 1_047_576, 0.10, 0.40, _O200K),
        ModelInfo("gpt-4-turbo", 128_000, 10.00, 30.00, _CL100K),
        ModelInfo("gpt-4-1106-preview", 128_000, 10.00, 30.00, _CL100K),
        ModelInfo("gpt-4-0125-preview", 128_000, 10.00, 30.00, _CL100K),
        ModelInfo("gpt-4", 8_192, 30.00, 60.00, _CL100K),
        ModelInfo("gpt-3.5-turbo", 16_385, 0.50, 1.50, _CL100K),
        ModelInfo("gpt-5", 400_000, 1.25, 10.00, _O200K, reasoning=True),
        ModelInfo("gpt-5-mini", 400_000, 0.25, 2.00, _O200K, reasoning=True),
        ModelInfo("gpt-5-nano", 400_000, 0.05, 0.40, _O200K, reasoning=True),
        ModelInfo("o1", 200_000, 15.00, 60.00, _O200K, reasoning=True),
        ModelInfo("o1-mini", 128_000, 1.10, 4.40, _O200K, reasoning=True),
        ModelInfo("o3", 200_000, 2.00, 8.00, _O200K, reasoning=True),
        ModelInfo("o3-mini", 200_000, 1.10, 4.40, _O200K, reasoning=True),
        ModelInfo("o4-mini", 200_000, 1.10, 4.40, _O200K, reasoning=True),
        ModelInfo("whisper-1"),
        ModelInfo("dall-e-3"),
        ModelInfo("dall-e-2"),
        ModelInfo("gpt-image-1"),
    )
}


def lookup(name: str, overrides: dict[str, ModelInfo] | None = None) -> ModelInfo:
    """Return what is known about ``name``; unknown models get an all-None entry, never an error."""
    if overrides and name in overrides:
        return overrides[name]
    base = name.rsplit("/", 1)[-1]
    if base in BUILTIN:
        return replace(BUILTIN[base], name=name)
    best = max((k for k in BUILTIN if base.startswith(k + "-")), key=len, default=None)
    if best is not None:
        return replace(BUILTIN[best], name=name)
    return ModelInfo(name)


def cost_usd(info: ModelInfo, prompt_tokens: int, completion_tokens: int) -> float | None:
    """Cost of one request, or None when either price is unknown (never a made-up 0)."""
    if info.input_price is None or info.output_price is None:
        return None
    return (prompt_tokens * info.input_price + completion_tokens * info.output_price) / 1_000_000


BATCH_DISCOUNT = 0.5
"""Batch API requests (OpenAI and Azure) cost half the normal price of the same model."""


def batch_cost_usd(info: ModelInfo, prompt_tokens: int, completion_tokens: int) -> float | None:
    """Cost of one request run through the provider's Batch API, or None when unknown."""
    cost = cost_usd(info, prompt_tokens, completion_tokens)
    return None if cost is None else cost * BATCH_DISCOUNT
