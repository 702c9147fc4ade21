"""What ``chatcli models`` shows: the endpoint's models with context window, prices, where
each price comes from (the dataset and its date, or the config), and retirement marks.

Many relays and local servers have no ``/models`` route (404). That is not a wrong URL, so the
command says the endpoint keeps no list and shows the models the configuration names instead.
A context window the endpoint states (OpenRouter, vLLM, LiteLLM) is shown where chatcli knows
none; a ``shutdown_date`` it states (the official API) wins over the built-in retirement table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from chatcli.errors import APIError
from chatcli.pricing import ModelInfo
from chatcli.providers.base import Provider
from chatcli.providers.modelmeta import ListedModel
from chatcli.retirements import Retirement, retirement
from chatcli.settings.resolve import Env


def listed_models(env: Env, provider: Provider, note: Callable[[str], None]) -> list[ListedModel]:
    """The endpoint's list, or on a 404 the configured models (with a note saying so)."""
    try:
        return provider.model_list()
    except APIError as exc:
        if exc.status != 404:
            raise
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

    def as_dict(self) -> dict[str, object]:
        i = self.info
        return {
            "id": i.name,
            "context_window": self.context_window,
            "input_price": i.input_price,
            "cached_input_price": i.cached_input_price,
            "output_price": i.output_price,
            "price_source": i.price_source if i.input_price is not None else None,
            "price_date": i.price_date if i.input_price is not None else None,
            "shutdown_date": self.retires.shutdown.isoformat() if self.retires else None,
            "replacement": self.retires.replacement if self.retires else None,
            "deprecated": self.retires is not None
            or bool(self.info.catalog is not None and self.info.catalog.deprecated),
        }


def rows(env: Env, models: list[ListedModel]) -> list[Row]:
    """What is known of each listed model (the config's overrides applied)."""
    out = []
    for m in models:
        info = env.config.model_info(m.id)
        out.append(
            Row(info, info.context_window or m.context_window, retirement(m.id, m.shutdown_date))
        )
    return out


def as_json(found: list[Row]) -> str:
    return json.dumps([r.as_dict() for r in found], ensure_ascii=False, indent=2) + "\n"


def table(found: list[Row]) -> str:
    """The aligned text table; prices per 1M tokens, ``-`` where unknown."""

    def cell(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    def source(info: ModelInfo) -> str:
        if info.input_price is None or info.price_source is None:
            return "-"
        return " ".join(x for x in (info.price_source, info.price_date) if x)

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
