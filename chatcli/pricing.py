"""What chatcli knows about a model: context window, prices, tokenizer, parameter quirks.

Prices and context windows come from a maintained dataset (``price_catalog``: pydantic's
genai-prices, refreshed monthly, with cached-input rates, long-context tiers, service tiers,
batch rates and Azure), matched by exact id and the dataset's own rules, never by a name
prefix: a model it does not know has no price (cost unknown, never a guess). Config
``[models."name"]`` entries override any field (``settings/loading.py``) and win over the
dataset. What the dataset does not carry is kept here: per-image prices by quality and size,
per-minute estimates of token-billed audio models, tokenizers, the models known to take
``max_completion_tokens`` and no ``temperature``, and the context windows OpenAI states where
the dataset's entry gives another model's (``WINDOWS``).

Two kinds of name are not the model whose entry the dataset matches them to. A fine-tuned id
(``ft:gpt-4o-mini-2024-07-18:org::id``) is its base model with other prices: it takes the
base's window, tokenizer and kind, and only the dataset's price for the fine-tuned model (none
there: unknown, never the cheaper base rate). A chat-tuned variant the dataset lists under a
model of another name (``gpt-5-chat-latest`` under ``gpt-5``) shares that entry's price only:
it is not that reasoning model, and its window is the one ``WINDOWS`` states, else unknown.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chatcli.price_catalog import Entry

BUILTIN_SOURCE = "chatcli built-in"
CONFIG_SOURCE = "config"


@dataclass(frozen=True)
class ModelInfo:
    """What chatcli knows about one model. A None price means unknown, never free.

    ``input_price``/``output_price``/``cached_input_price`` are USD per 1M tokens (the base
    rate where the dataset has long-context tiers); ``image_prices`` maps ``"quality size"``
    (``"hd 1024x1792"``) to USD per image; ``minute_price`` is USD per minute of audio;
    ``char_price`` USD per 1M characters of speech input. ``catalog`` is the dataset's entry
    the prices came from (tiers, variants), None when they came from the config or nowhere.
    """

    name: str
    context_window: int | None = None
    input_price: float | None = None
    output_price: float | None = None
    tokenizer: str | None = None  # tiktoken encoding name
    reasoning: bool = False  # max_completion_tokens instead of max_tokens; no temperature
    image_prices: tuple[tuple[str, float], ...] = ()
    minute_price: float | None = None
    cached_input_price: float | None = None
    char_price: float | None = None
    price_source: str | None = None
    price_date: str | None = None
    catalog: Entry | None = field(default=None, compare=False, repr=False)

    @property
    def known(self) -> bool:
        """True when the model came from the dataset, the tables here or config, not a guess."""
        return (
            self.context_window is not None
            or self.catalog is not None
            or bool(self.image_prices)
            or self.minute_price is not None
            or self.input_price is not None
        )


_O200K = "o200k_base"
_CL100K = "cl100k_base"
_SQUARE, _TALL, _WIDE = "1024x1024", "1024x1792", "1792x1024"
_PORTRAIT, _LANDSCAPE = "1024x1536", "1536x1024"

CL100K_IDS = frozenset(
    {
        "gpt-4", "gpt-4-32k", "gpt-4-turbo", "gpt-4-vision-preview", "gpt-3.5-turbo",
        "gpt-3.5-turbo-0613", "gpt-3.5-turbo-1106", "gpt-3.5-turbo-16k",
        "gpt-3.5-turbo-instruct", "gpt-3.5-0301",
    }
)  # fmt: skip
"""OpenAI models (dataset ids) counted with cl100k_base; the other OpenAI models use o200k."""

REASONING_IDS = frozenset(
    {
        "o1", "o1-mini", "o1-preview", "o1-pro", "o3", "o3-mini", "o3-pro", "o4-mini",
        "o3-deep-research", "o4-mini-deep-research", "codex-mini", "gpt-5", "gpt-5-mini",
        "gpt-5-nano", "gpt-5-pro",
    }
)  # fmt: skip
"""Models (dataset ids) known to take max_completion_tokens and no temperature. Others are
found out from the endpoint's 400 on first use and remembered (``providers/quirks.py``)."""

WINDOWS: dict[str, int] = {
    "gpt-4.1": 1_047_576, "gpt-4.1-mini": 1_047_576, "gpt-4.1-nano": 1_047_576,
    "gpt-5-chat": 128_000, "gpt-5-chat-latest": 128_000, "gpt-5.1-chat-latest": 128_000,
    "gpt-5.2-chat-latest": 128_000,
}  # fmt: skip
"""Context windows from OpenAI's model pages where the dataset's entry states another (its
gpt-4.1 entries round to 1,000,000; its ``gpt-5`` entry, 400,000, also matches the 128k chat
variants): by model id, a dataset id covering its snapshots."""

_CHAT_TUNED = re.compile(r"(?:^|[-.])chat(?:-|$)")
"""A ``chat`` word in a model id (``gpt-5-chat-latest``; not ``chatgpt-4o-latest``)."""

IMAGE_PRICES: dict[str, tuple[tuple[str, float], ...]] = {
    "dall-e-2": (
        ("standard 256x256", 0.016),
        ("standard 512x512", 0.018),
        (f"standard {_SQUARE}", 0.020),
    ),
    "dall-e-3": (
        (f"standard {_SQUARE}", 0.040),
        (f"standard {_TALL}", 0.080),
        (f"standard {_WIDE}", 0.080),
        (f"hd {_SQUARE}", 0.080),
        (f"hd {_TALL}", 0.120),
        (f"hd {_WIDE}", 0.120),
    ),
    "gpt-image-1": (
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
    "gpt-image-1-mini": (
        (f"low {_SQUARE}", 0.005),
        (f"low {_PORTRAIT}", 0.006),
        (f"low {_LANDSCAPE}", 0.006),
        (f"medium {_SQUARE}", 0.011),
        (f"medium {_PORTRAIT}", 0.015),
        (f"medium {_LANDSCAPE}", 0.015),
        (f"high {_SQUARE}", 0.036),
        (f"high {_PORTRAIT}", 0.052),
        (f"high {_LANDSCAPE}", 0.052),
    ),
}
"""USD per image by quality and size, from OpenAI's pricing page (the dataset prices image
models per token only). Models not here are priced from the tokens the response reports."""

MINUTE_PRICES: dict[str, float] = {
    "gpt-4o-transcribe": 0.006,
    "gpt-4o-mini-transcribe": 0.003,
    "gpt-4o-mini-tts": 0.015,
}
"""OpenAI's published per-minute estimates of token-billed audio models, used when the audio's
length is all chatcli knows (speech and transcription answers report no tokens)."""

CHAT_MODELS = (
    "gpt-6-luna", "gpt-6-sol", "gpt-6.1-sol", "gpt-6.1-terra", "gpt-5.6-sol", "gpt-5.6-terra",
    "gpt-5.6-luna", "gpt-5.5", "gpt-5.5-pro", "gpt-5.4", "gpt-5.4-mini", "gpt-5.4-nano",
    "gpt-5.4-pro", "gpt-5.2", "gpt-5.1", "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5-pro",
    "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini", "o3", "o3-pro",
    "o4-mini", "o3-mini", "o1", "o1-pro", "gpt-4-turbo", "gpt-4", "gpt-3.5-turbo",
)  # fmt: skip
"""OpenAI chat models offered for completion (``-m``, ``/model``) before any endpoint is asked."""


def builtin() -> dict[str, ModelInfo]:
    """What is known about ``CHAT_MODELS`` (completion, verify's tokenizer families)."""
    return {name: lookup(name) for name in CHAT_MODELS}


IMAGE_DEFAULTS: dict[str, tuple[str, str]] = {
    "dall-e-2": ("standard", _SQUARE),
    "dall-e-3": ("standard", _SQUARE),
}
"""The API's (quality, size) when a request names none; other models default to auto/auto."""


def lookup(name: str, overrides: dict[str, ModelInfo] | None = None) -> ModelInfo:
    """Return what is known about ``name``; unknown models get an all-None entry, never an error.

    An override (``[models."NAME"]``) of ``name`` wins; else one of its family: a dated
    snapshot the dataset prices as its family (``gpt-4o-2024-08-06``) takes ``gpt-4o``'s, so
    a price set for the family is what every request to its snapshots costs."""
    if overrides:
        if name in overrides:
            return overrides[name]
        own = family(name)
        if own != name and own in overrides:
            return replace(overrides[own], name=name)
    return _known(name)


def fine_tuned_base(name: str) -> str | None:
    """The base model of a fine-tuned id (``ft:gpt-4o-mini-2024-07-18:org::id`` ->
    ``gpt-4o-mini-2024-07-18``), None for any other name."""
    ref = name.strip().rsplit("/", 1)[-1]
    if not ref.lower().startswith("ft:"):
        return None
    return ref.split(":")[1].strip() or None


@cache
def _known(name: str) -> ModelInfo:
    from chatcli import price_catalog

    entry = price_catalog.find(name)
    base = name.rsplit("/", 1)[-1].lower()
    tuned = fine_tuned_base(name)
    parent = _known(tuned) if tuned else None  # the base model: window, tokenizer, kind
    key = entry.id if entry is not None else base
    images = IMAGE_PRICES.get(key) or IMAGE_PRICES.get(base, ())
    if entry is None:
        if parent is not None:
            return ModelInfo(name, context_window=parent.context_window,
                             tokenizer=parent.tokenizer, reasoning=parent.reasoning)  # fmt: skip
        return ModelInfo(name, image_prices=images, minute_price=MINUTE_PRICES.get(base))
    rates = entry.rates()
    tokenizer = None
    if entry.provider in ("openai", "azure"):
        tokenizer = _CL100K if entry.id in CL100K_IDS else _O200K
    window = WINDOWS.get(base, WINDOWS.get(entry.id, entry.context_window))
    reasoning = entry.id in REASONING_IDS
    if _another_model(base, entry.id):
        window, reasoning = WINDOWS.get(base), False  # priced as the entry, nothing more
    if parent is not None:
        window, tokenizer, reasoning = parent.context_window, parent.tokenizer, parent.reasoning
    minute = MINUTE_PRICES.get(entry.id)
    for hourly in ("audio_hours", "input_audio_hours"):
        if minute is None and isinstance(rates.get(hourly), float):
            minute = float(rates[hourly]) / 60  # type: ignore[arg-type]
    chars = rates.get("input_mchars")
    return ModelInfo(
        name,
        context_window=window,
        input_price=_base(rates.get("input_mtok")),
        output_price=_base(rates.get("output_mtok")),
        tokenizer=tokenizer,
        reasoning=reasoning,
        image_prices=images,
        minute_price=minute,
        cached_input_price=_base(rates.get("cache_read_mtok")),
        char_price=chars if isinstance(chars, float) else None,
        price_source=entry.source,
        price_date=entry.as_of,
        catalog=entry,
    )


def _base(price: object) -> float | None:
    if isinstance(price, dict):
        return float(price["base"])
    return float(price) if isinstance(price, int | float) else None


def _another_model(ref: str, entry_id: str) -> bool:
    """Whether ``ref`` is a chat-tuned variant the dataset lists under a model of another name
    (``gpt-5-chat-latest`` under ``gpt-5``)."""
    return bool(_CHAT_TUNED.search(ref)) and not _CHAT_TUNED.search(entry_id)


def family(name: str) -> str:
    """The dataset's id for ``name`` when it is that model or a snapshot of it
    (``openai/gpt-4o-2024-08-06`` -> ``gpt-4o``), else the name itself: a model the dataset
    does not know, a fine-tuned id, a chat-tuned variant priced as another model."""
    info = _known(name)
    if info.catalog is None or fine_tuned_base(name) is not None:
        return name
    if _another_model(name.rsplit("/", 1)[-1].lower(), info.catalog.id):
        return name
    return info.catalog.id


def cost_usd(
    info: ModelInfo,
    prompt_tokens: int,
    completion_tokens: int,
    *,
    cached_tokens: int = 0,
    reasoning_tokens: int = 0,
    service_tier: str | None = None,
    batch: bool = False,
    when: datetime | None = None,
) -> float | None:
    """Cost of one request, or None when a price is unknown (never a made-up 0).

    ``cached_tokens`` are part of ``prompt_tokens`` and cost the cached rate; long-context
    tiers, service tiers and batch rates are applied as the dataset gives them. Prices from the
    config are plain per-1M rates (cached input at ``cached_input_price``, else full price).
    """
    cached = max(0, min(cached_tokens, prompt_tokens))
    if info.catalog is not None:
        from chatcli import price_catalog

        context: dict[str, str] = {}
        if service_tier:
            context["service_tier"] = service_tier
        if batch and info.catalog.has_variant("processing", "batch"):
            context["processing"] = "batch"
        rates = info.catalog.rates(when, context)
        if "input_mtok" not in rates or "output_mtok" not in rates:
            return None
        usage = {
            "input_tokens": float(prompt_tokens),
            "cache_read_tokens": float(cached),
            "output_tokens": float(completion_tokens),
            "output_reasoning_tokens": float(min(reasoning_tokens, completion_tokens)),
        }
        total = price_catalog.cost(info.catalog, usage, rates)
        if batch and "processing" not in context:
            total *= BATCH_DISCOUNT
        return total
    if info.input_price is None or info.output_price is None:
        return None
    cached_price = info.input_price if info.cached_input_price is None else info.cached_input_price
    total = (
        (prompt_tokens - cached) * info.input_price
        + cached * cached_price
        + completion_tokens * info.output_price
    ) / 1_000_000
    return total * BATCH_DISCOUNT if batch else total


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


def image_token_cost(info: ModelInfo, text_in: int, image_in: int, output: int) -> float | None:
    """Cost of an image request from the tokens its response reports (gpt-image models bill
    text input, image input and image output tokens), or None when the dataset has no rates."""
    if info.catalog is None:
        return None
    from chatcli import price_catalog

    rates = info.catalog.rates()
    if "output_mtok" not in rates and "output_image_mtok" not in rates:
        return None
    usage = {
        "input_tokens": float(text_in + image_in),
        "input_image_tokens": float(image_in),
        "output_tokens": float(output),
        "output_image_tokens": float(output),
    }
    return price_catalog.cost(info.catalog, usage, rates)


def audio_cost(info: ModelInfo, seconds: float | None) -> float | None:
    """Cost of ``seconds`` of audio at the model's per-minute price, None when either is unknown."""
    if info.minute_price is None or seconds is None:
        return None
    return info.minute_price * seconds / 60


def speech_cost(info: ModelInfo, text: str, seconds: float | None) -> float | None:
    """Cost of speaking ``text``: per character where the model is billed so (tts-1), else
    per minute of the audio made (the published estimate of token-billed models); None when
    neither is known."""
    if info.char_price is not None:
        return info.char_price * len(text) / 1_000_000
    return audio_cost(info, seconds)


def money(usd: float) -> str:
    """Dollars for people: cents from $1 up, two significant digits below, so a non-zero cost is
    never shown as $0.0000 (``$0.00003``, ``$0.012``, ``$0.50``, ``$1,234.50``)."""
    if usd == 0:
        return "$0.00"
    if not math.isfinite(usd):  # a relay's NaN or infinity is no amount of money
        return "unknown"
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
"""Batch API requests (OpenAI and Azure) cost half the normal price where the dataset gives no
batch rate of its own."""


def batch_cost_usd(
    info: ModelInfo, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0
) -> float | None:
    """Cost of one request run through the provider's Batch API (the dataset's batch rates,
    else half price), or None when unknown."""
    return cost_usd(info, prompt_tokens, completion_tokens, cached_tokens=cached_tokens, batch=True)


PRICED_BY_TOKENS_ONLY = frozenset({"image", "transcribe", "speak"})
"""Commands whose requests are priced by images, minutes or characters as well as tokens: a
cost they were logged without cannot be made from their tokens afterwards."""


def later_cost(
    info: ModelInfo, command: str, prompt: int, completion: int, cached: int = 0,
    reasoning: int = 0,
) -> float | None:  # fmt: skip
    """The cost of requests logged without a known price (their tokens summed), at the price
    ``info`` knows now (a ``[models."NAME"]`` price set after them, as chatcli's notice asks):
    None for a media command's requests, or when the price is still unknown."""
    if command in PRICED_BY_TOKENS_ONLY:
        return None
    return cost_usd(info, prompt, completion, cached_tokens=cached, reasoning_tokens=reasoning,
                    batch=command == "batch")  # fmt: skip
