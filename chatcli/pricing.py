"""Built-in model table: context window, prices, tokenizer and parameter quirks per model.

Prices were taken from https://openai.com/api/pricing/ on ``PRICES_AS_OF`` (standard tier, USD).
Tokens are priced per 1M, images per image (by quality and size), audio per minute. Config
``[models."name"]`` entries override any field (see ``settings/loading.py``). Lookup tolerates
dated and vendor-prefixed names (``gpt-4o-2024-08-06``, ``openai/gpt-4o``) by longest known prefix,
so a snapshot is priced as its family, because relays and Azure rename models freely.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

PRICES_AS_OF = "2025-06-01"
"""The day the built-in prices were read off OpenAI's pricing page."""


@dataclass(frozen=True)
class ModelInfo:
    """What chatcli knows about one model. A None price means unknown, never free.

    ``image_prices`` maps ``"quality size"`` (``"hd 1024x1792"``) to USD per image;
    ``minute_price`` is USD per minute of audio (whisper-1's price; OpenAI's published per-minute
    figure for the token-billed gpt-4o-transcribe models).
    """

    name: str
    context_window: int | None = None
    input_price: float | None = None
    output_price: float | None = None
    tokenizer: str | None = None  # tiktoken encoding name
    reasoning: bool = False  # max_completion_tokens instead of max_tokens; no temperature
    image_prices: tuple[tuple[str, float], ...] = ()
    minute_price: float | None = None

    @property
    def known(self) -> bool:
        """True when the model came from the table or config, not a bare guess."""
        return (
            self.context_window is not None
            or bool(self.image_prices)
            or self.minute_price is not None
        )


_O200K = "o200k_base"
_CL100K = "cl100k_base"
_SQUARE, _TALL, _WIDE = "1024x1024", "1024x1792", "1792x1024"
_PORTRAIT, _LANDSCAPE = "1024x1536", "1536x1024"

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
        ModelInfo("whisper-1", minute_price=0.006),
        ModelInfo("gpt-4o-transcribe", 16_000, 2.50, 10.00, _O200K, minute_price=0.006),
        ModelInfo("gpt-4o-mini-transcribe", 16_000, 1.25, 5.00, _O200K, minute_price=0.003),
        ModelInfo(
            "dall-e-2",
            image_prices=(
                ("standard 256x256", 0.016),
                ("standard 512x512", 0.018),
                (f"standard {_SQUARE}", 0.020),
            ),
        ),
        ModelInfo(
            "dall-e-3",
            image_prices=(
                (f"standard {_SQUARE}", 0.040),
                (f"standard {_TALL}", 0.080),
                (f"standard {_WIDE}", 0.080),
                (f"hd {_SQUARE}", 0.080),
                (f"hd {_TALL}", 0.120),
                (f"hd {_WIDE}", 0.120),
            ),
        ),
        ModelInfo(
            "gpt-image-1",
            image_prices=(
                (f"low {_SQUARE}", 0.011),
                (f"low {_PORTRAIT}", 0.016),
                (f"low {_LANDSCAPE}", 0.016),
                (f"medium {_SQUARE}", 0.042),
                (f"medium {_PORTRAIT}", 0.063),
                (f"medium {_LANDSCAPE}", 0.063),
                (f"high {_SQUARE}", 0.167),
                (f"high {_PORTRAIT}", 0.25),
                (f"high {_LANDSCAPE}", 0.25),
            ),
        ),
    )
}

IMAGE_DEFAULTS: dict[str, tuple[str, str]] = {
    "dall-e-2": ("standard", _SQUARE),
    "dall-e-3": ("standard", _SQUARE),
}
"""The API's (quality, size) when a request names none; other models default to auto/auto."""


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


def family(name: str) -> str:
    """The table entry a name is priced as: ``openai/gpt-4o-2024-08-06`` -> ``gpt-4o``."""
    base = name.rsplit("/", 1)[-1]
    if base in BUILTIN:
        return base
    return max((k for k in BUILTIN if base.startswith(k + "-")), key=len, default=base)


def cost_usd(info: ModelInfo, prompt_tokens: int, completion_tokens: int) -> float | None:
    """Cost of one request, or None when either price is unknown (never a made-up 0)."""
    if info.input_price is None or info.output_price is None:
        return None
    return (prompt_tokens * info.input_price + completion_tokens * info.output_price) / 1_000_000


def image_cost(
    info: ModelInfo, n: int, size: str | None = None, quality: str | None = None
) -> float | None:
    """Cost of ``n`` images, or None when the model/size/quality has no known price.

    ``auto`` (or an unset value on models whose default is auto, such as gpt-image-1) is priced
    as the dearest matching entry: the API picks, so the log shows an upper bound, not a guess low.
    """
    if not info.image_prices:
        return None
    default_quality, default_size = IMAGE_DEFAULTS.get(family(info.name), ("auto", "auto"))
    quality = (quality or default_quality).lower()
    size = (size or default_size).lower()
    matches = [
        price
        for key, price in info.image_prices
        if (quality == "auto" or key.split()[0] == quality)
        and (size == "auto" or key.split()[-1] == size)
    ]
    if not matches and len(info.image_prices) == 1 and info.image_prices[0][0] == "*":
        matches = [info.image_prices[0][1]]
    return max(matches) * n if matches else None


def audio_cost(info: ModelInfo, seconds: float | None) -> float | None:
    """Cost of ``seconds`` of audio at the model's per-minute price, None when either is unknown."""
    if info.minute_price is None or seconds is None:
        return None
    return info.minute_price * seconds / 60


def money(usd: float) -> str:
    """Dollars for people: cents from $1 up, two significant digits below, so a non-zero cost is
    never shown as $0.0000 (``$0.00003``, ``$0.012``, ``$0.50``, ``$1,234.50``)."""
    if usd == 0:
        return "$0.00"
    sign = "-" if usd < 0 else ""
    amount = abs(usd)
    if amount >= 1:
        return f"{sign}${amount:,.2f}"
    decimals = max(2, 1 - math.floor(math.log10(amount)))
    text = f"{amount:.{decimals}f}"
    if float(text) >= 1:  # 0.996 rounds up to a dollar
        return f"{sign}${amount:,.2f}"
    head, _, tail = text.partition(".")
    tail = tail[:2] + tail[2:].rstrip("0")
    return f"{sign}${head}.{tail}"


def json_usd(usd: float | None) -> float | None:
    """A cost for JSON output without float noise: 10 significant digits (0.00034605, not
    0.0003460499999999998); None stays None (unknown, not free)."""
    return None if usd is None else float(f"{usd:.10g}")


BATCH_DISCOUNT = 0.5
"""Batch API requests (OpenAI and Azure) cost half the normal price of the same model."""


def batch_cost_usd(info: ModelInfo, prompt_tokens: int, completion_tokens: int) -> float | None:
    """Cost of one request run through the provider's Batch API, or None when unknown."""
    cost = cost_usd(info, prompt_tokens, completion_tokens)
    return None if cost is None else cost * BATCH_DISCOUNT
