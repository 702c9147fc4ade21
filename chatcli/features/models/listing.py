"""What ``chatcli models`` shows: the endpoint's models with context window, prices, where
each price comes from (the dataset and its date, or the config), and retirement marks.

Many relays and local servers have no ``/models`` route (404). That is not a wrong URL, so the
command says the endpoint keeps no list and shows the models the configuration names instead.
A context window the endpoint states (OpenRouter, vLLM, LiteLLM) is shown where chatcli knows
none; a ``shutdown_date`` it states (the official API) wins over the built-in retirement table.
Models billed otherwise than per token show their price in its own unit in the notes column
(``$0.006/min`` audio, ``$0.04-$0.12/image``, ``$15/1M chars``) and in JSON (``minute_price``,
``image_prices``, ``char_price``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from chatcli.errors import APIError
from chatcli.pricing import ModelInfo, money
from chatcli.providers.base import Provider
from chatcli.providers.modelmeta import ListedModel
from chatcli.retirements import Retirement, retirement
from chatcli.settings.resolve import Env


def listed_models(env: Env, provider: Provider, note: Callable[[str], None]) -> list[ListedModel]:
    """The endpoint's list, or on a 404 the configured models (with a note saying so); a
    model the list states no context window for, and chatcli knows none for, gets the one a
    gateway's ``/model/info`` states (LiteLLM's: the same lookup ``ask`` makes)."""
    try:
        found = provider.model_list()
    except APIError as exc:
        if exc.status != 404:
            raise
    else:
        info = env.config.model_info
        missing = {
            m.id for m in found if m.context_window is None and not info(m.id).context_window
        }
        stated = provider.stated_windows() if missing else {}
        return [
            dataclasses.replace(m, context_window=stated[m.id])
            if m.id in missing and m.id in stated
            else m
            for m in found
        ]
    setting = provider.url_setting
    configured = {env.model, env.profile.model, *env.profile.deployments, *env.config.models}
    names = sorted(n for n in configured if n)
    note(
        f"the endpoint of profile {env.profile.name!r} has no model list (404 for its models "
        f"route; its {setting} may still be right); showing the configured models"
    )
    return [ListedModel(n) for n in names]


def model_ids(env: Env, provider: Provider, note: Callable[[str], None]) -> list[str]:
    """The ids of ``listed_models``."""
    return [m.id for m in listed_models(env, provider, note)]


@dataclass(frozen=True)
class Row:
    """One model as ``chatcli models`` shows it."""

    info: ModelInfo
    context_window: int | None
    retires: Retirement | None
    spelt: str | None = None  # the id as the endpoint wrote it (``ListedModel.spelt``)

    def as_dict(self) -> dict[str, object]:
        i = self.info
        priced = _priced(i)
        return {
            "id": self.spelt or i.name,
            "context_window": self.context_window,
            "input_price": i.input_price,
            "cached_input_price": i.cached_input_price,
            "output_price": i.output_price,
            "minute_price": i.minute_price,  # USD per minute of audio
            "char_price": i.char_price,  # USD per 1M characters of speech input
            "image_prices": dict(i.image_prices) or None,  # "quality size" -> USD per image
            "price_source": i.price_source if priced else None,
            "price_date": i.price_date if priced else None,
            "shutdown_date": self.retires.shutdown.isoformat() if self.retires else None,
            "replacement": self.retires.replacement if self.retires else None,
            "deprecated": self.retires is not None
            or bool(self.info.catalog is not None and self.info.catalog.deprecated),
        }


def rows(env: Env, models: list[ListedModel]) -> list[Row]:
    """What is known of each listed model (the config's overrides applied)."""
    from chatcli.settings.endpoint_types import endpoint_type

    own = endpoint_type(env.profile).own_retirements  # Azure: its own dates, said by its list
    out = []
    for m in models:
        info = env.config.model_info(m.id)
        retires = retirement(m.id, m.shutdown_date, own_schedule=own)
        out.append(Row(info, info.context_window or m.context_window, retires, m.spelt))
    return out


def _priced(info: ModelInfo) -> bool:
    """Whether any price of the model is known (per token, minute, character or image)."""
    return (
        info.input_price is not None
        or info.output_price is not None
        or info.minute_price is not None
        or info.char_price is not None
        or bool(info.image_prices)
    )


def other_prices(info: ModelInfo) -> str:
    """The prices that are not per token, in their own units: ``$0.006/min``,
    ``$0.04-$0.12/image``, ``$15/1M chars``; "" when there are none."""
    shown = []
    if info.minute_price is not None:
        shown.append(f"{money(info.minute_price)}/min")
    if info.char_price is not None:
        shown.append(f"{money(info.char_price)}/1M chars")
    if info.image_prices:
        prices = sorted({price for _, price in info.image_prices})
        low, high = money(prices[0]), money(prices[-1])
        shown.append(f"{low}/image" if low == high else f"{low}-{high}/image")
    return ", ".join(shown)


def as_json(found: list[Row]) -> str:
    from chatcli.output import json_text

    return json_text([r.as_dict() for r in found], indent=2) + "\n"


def table(found: list[Row]) -> str:
    """The aligned text table; prices per 1M tokens, ``-`` where unknown."""

    def cell(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    def source(info: ModelInfo) -> str:
        other = other_prices(info)
        if not _priced(info) or info.price_source is None:
            return other or "-"
        where = " ".join(x for x in (info.price_source, info.price_date) if x)
        return f"{other} · {where}" if other else where

    width = max(len("model"), *(len(r.info.name) for r in found))
    lines = [
        f"{'model':<{width}}  {'context':>9}  {'$/1M in':>8}  {'cached':>8}  {'$/1M out':>8}  "
        "price source · retirement"
    ]
    for r in found:
        i = r.info
        notes = source(i)
        if r.retires is not None:
            notes += f" · {r.retires.describe()}"
        elif i.catalog is not None and i.catalog.deprecated:
            notes += f" · deprecated ({i.catalog.source})"
        lines.append(
            f"{i.name:<{width}}  {cell(r.context_window, ','):>9}  "
            f"{cell(i.input_price, '.2f'):>8}  {cell(i.cached_input_price, '.3f'):>8}  "
            f"{cell(i.output_price, '.2f'):>8}  {notes}"
        )
    return "\n".join(lines) + "\n"
