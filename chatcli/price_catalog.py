"""Model prices from a maintained dataset (pydantic's ``genai-prices``), read off the hot path.

Why a cache: the package holds ~2,300 models' prices (cached input, long-context tiers, service
tiers, batch rates, Azure) as pydantic-era Python objects that take ~0.4 s to import. chatcli
turns them, once, into a compact JSON text kept in the database (``store.caches``, the
``caches`` table: the data dir holds nothing else) keyed by the installed package's version and
data file, and reads only that (milliseconds) on later runs.
Upgrading the package (``pip install -U genai-prices``) is how prices are updated: the next run
sees a different key and rebuilds the file.

Matching follows the dataset's own rules, never a name prefix of chatcli's: a ``vendor/model``
name goes to the provider the vendor names; otherwise the first provider whose model rule
matches; then the first model of that provider (or of its fallback providers) whose match
clause matches. A name no provider's rule claims is looked up among OpenAI's models, as the
dataset does when told the provider (``calc_price(provider_id="openai")``, and ``"azure"``,
which falls back to OpenAI's): chatcli speaks OpenAI's API, and OpenAI's rule claims only
``gpt-``/``o1``-style names, not ``ft:gpt-4o-mini-...``, ``chatgpt-4o-latest``,
``codex-mini-latest`` or ``computer-use-preview``, which its models price. A model the dataset
does not know has no entry: its cost is unknown.

Costs are computed as the package computes them (``calc_price``): the price in force on the
request date, request variants (``service_tier``, batch) overriding single prices, every usage
count reduced by its separately priced parts (cached input is part of input), and long-context
tiers priced on the request's whole input. A test checks the result against the package.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any

FORMAT = 1
"""Bumped when the cache's layout changes, so an old file is rebuilt."""

PACKAGE = "genai-prices"

HOME_PROVIDER = "openai"
"""The dataset's provider a name no provider's rule claims is looked up in (the API chatcli
speaks; Azure's provider falls back to it for these names too)."""

Price = float | dict[str, Any]
"""A plain USD price per unit, or ``{"base": x, "tiers": [[start, price], ...]}``."""


@dataclass(frozen=True)
class Entry:
    """One model of the dataset: its id, provider and prices (compact, as cached)."""

    id: str
    provider: str
    context_window: int | None
    deprecated: bool
    periods: tuple[tuple[dict[str, Any] | None, dict[str, Price]], ...]
    variants: tuple[tuple[dict[str, str], dict[str, Price], dict[str, Any] | None], ...]
    as_of: str | None
    source: str

    def rates(
        self, when: datetime | None = None, context: dict[str, str] | None = None
    ) -> dict[str, Price]:
        """The prices in force at ``when`` for a request with ``context`` (``service_tier``,
        ``processing``): the last active dated price, then matching variants' single prices."""
        when = when or datetime.now(tz=UTC)
        standard = self.periods[0][1] if self.periods else {}
        for constraint, prices in reversed(self.periods):
            if _active(constraint, when):
                standard = prices
                break
        if not context:
            return dict(standard)
        resolved = dict(standard)
        overridden: set[str] = set()
        for condition, prices, constraint in self.variants:
            if not _active(constraint, when):
                continue
            if all(context.get(k) == v for k, v in condition.items()):
                for key, price in prices.items():
                    if key not in overridden:
                        overridden.add(key)
                        resolved[key] = price
        return resolved

    def has_variant(self, key: str, value: str) -> bool:
        """Whether the dataset prices requests with ``key = value`` differently."""
        return any(condition.get(key) == value for condition, _, _ in self.variants)


def _active(constraint: dict[str, Any] | None, when: datetime) -> bool:
    if constraint is None:
        return True
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    if "from" in constraint:
        return when.date() >= date.fromisoformat(constraint["from"])
    start, end = (_utc_time(t) for t in constraint["hours"])
    now = (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).time()
    if end < start:
        return now >= start or now < end
    return start <= now < end


def _utc_time(text: str) -> time:
    """A time of day in UTC, without tzinfo (naive times in the dataset are UTC)."""
    value = time.fromisoformat(text)
    if value.tzinfo is None:
        return value
    return datetime.combine(date(1970, 1, 1), value).astimezone(UTC).time()


def cost(entry: Entry, usage: dict[str, float], rates: dict[str, Price] | None = None) -> float:
    """USD for ``usage`` (usage keys of the dataset: ``input_tokens``, ``cache_read_tokens``,
    ``output_tokens``, ``input_chars``, ``audio_seconds``...) at ``rates`` (default: today's)."""
    catalog = load()
    assert catalog is not None, "an entry comes from a loaded catalog"
    rates = entry.rates() if rates is None else rates
    units = catalog.units
    by_price_key = {unit[1]: key for key, unit in units.items()}
    priced = {by_price_key[k]: v for k, v in rates.items() if k in by_price_key}
    counts = _leaf_counts(priced, usage, units)
    total_input = usage.get("input_tokens", 0)
    total = 0.0
    for key, price in priced.items():
        per = units[key][0]
        count = 1 if key == "requests" else counts.get(key, 0)
        total += _unit_price(price, total_input) * count / per
    return total


def _unit_price(price: Price, total_input: float) -> float:
    if isinstance(price, dict):
        applicable = float(price["base"])
        for start, tier_price in reversed(price["tiers"]):
            if total_input > start:
                applicable = float(tier_price)
                break
        return applicable
    return float(price)


def _leaf_counts(
    priced: dict[str, Price],
    usage: dict[str, float],
    units: dict[str, tuple[int, str, dict[str, str]]],
) -> dict[str, float]:
    """Each priced usage key's count less its separately priced descendants (a unit is another's
    descendant when its dimensions include all of the other's: cached input inside input)."""
    keys = sorted((k for k in priced if k != "requests"), key=lambda k: (-len(units[k][2]), k))
    leaves: dict[str, float] = {}
    for key in keys:
        dims = units[key][2].items()
        inner = [
            leaves[other]
            for other in keys
            if other != key and other in leaves and dims <= units[other][2].items()
        ]
        leaves[key] = max(0.0, usage.get(key, 0) - sum(inner))
    return leaves


@dataclass(frozen=True)
class Catalog:
    """The cached dataset: units, providers in the dataset's order, and their models."""

    version: str
    units: dict[str, tuple[int, str, dict[str, str]]]
    providers: list[dict[str, Any]]

    @property
    def source(self) -> str:
        return f"{PACKAGE} {self.version}"


def find(name: str) -> Entry | None:
    """The dataset's entry for the model ``name``, or None when it does not know it."""
    return _find(name.strip().lower())


@cache
def _find(ref: str) -> Entry | None:
    catalog = load()
    if catalog is None:
        return None
    providers = catalog.providers
    by_id = {p["id"]: p for p in providers}
    vendor, slash, rest = ref.partition("/")
    if slash and rest:
        provider = by_id.get(vendor) or next(
            (
                p
                for p in providers
                if p.get("provider_match") and _match(p["provider_match"], vendor)
            ),
            None,
        )
        if provider is not None:
            return _in_provider(catalog, provider, rest, by_id)
    for provider in providers:
        rule = provider.get("model_match")
        if rule is not None and _match(rule, ref):
            return _in_provider(catalog, provider, ref, by_id)
    home = by_id.get(HOME_PROVIDER)
    return None if home is None else _in_provider(catalog, home, ref, by_id)


def _in_provider(
    catalog: Catalog, provider: dict[str, Any], ref: str, by_id: dict[str, dict[str, Any]]
) -> Entry | None:
    for candidate in (ref, _dashed_date(ref)):
        found = _first(provider, candidate)
        for fallback in provider.get("fallback", ()):
            if found is None and fallback in by_id:
                found = _first(by_id[fallback], candidate)
        if found is not None:
            return _entry(catalog, found)
    return None


def _models(provider: dict[str, Any]) -> list[dict[str, Any]]:
    """A provider's models, decoded on first use (the cache keeps each provider's list as a
    JSON string, so reading the file decodes only the small index)."""
    models = provider["models"]
    if isinstance(models, str):
        models = provider["models"] = json.loads(models)
    assert isinstance(models, list)
    return models


def _first(provider: dict[str, Any], ref: str) -> dict[str, Any] | None:
    for model in _models(provider):
        if _match(model["match"], ref):
            return dict(model, provider=provider["id"])
    return None


def _dashed_date(ref: str) -> str:
    """``gpt-5.2-20251211`` -> ``gpt-5.2-2025-12-11``, as the dataset retries compact dates."""
    return re.sub(r"-(\d{4})(\d{2})(\d{2})$", r"-\1-\2-\3", ref)


def _entry(catalog: Catalog, model: dict[str, Any]) -> Entry:
    return Entry(
        id=model["id"],
        provider=model["provider"],
        context_window=model.get("context_window"),
        deprecated=bool(model.get("deprecated")),
        periods=tuple((c, p) for c, p in model.get("prices", [])),
        variants=tuple((w, p, c) for w, p, c in model.get("variants", [])),
        as_of=model.get("as_of"),
        source=catalog.source,
    )


def _match(rule: list[Any], ref: str) -> bool:
    op, arg = rule
    if op == "eq":
        return bool(ref == arg)
    if op == "sw":
        return ref.startswith(arg)
    if op == "ew":
        return ref.endswith(arg)
    if op == "in":
        return arg in ref
    if op == "re":
        return re.search(arg, ref) is not None
    if op == "or":
        return any(_match(r, ref) for r in arg)
    if op == "and":
        return all(_match(r, ref) for r in arg)
    return False


# the cache, kept in the database

CACHE_NAME = "prices"


def package_key() -> list[Any] | None:
    """What identifies the installed dataset without importing it: its data file's size and
    modification time (a new version changes both), or None when the package is missing."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("genai_prices")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    try:
        st = (Path(spec.origin).parent / "data.py").stat()
    except OSError:
        return None
    return [FORMAT, st.st_size, st.st_mtime_ns]


@cache
def load() -> Catalog | None:
    """The dataset, from the database's cache when it matches the installed package, else
    rebuilt (and the cache replaced); None when the package is not installed.

    The text is one JSON line of index (units, providers and their match rules) followed by
    one JSON line per provider's models, decoded only when a lookup reaches that provider.
    """
    from chatcli.settings.paths import data_dir
    from chatcli.store import caches

    key = package_key()
    if key is None:
        return None
    text = caches.read(data_dir(), CACHE_NAME, json.dumps(key))
    if text is not None:
        try:
            return _catalog(_parse(text))
        except (ValueError, AttributeError, KeyError, TypeError):
            pass
    data = build()
    caches.write(data_dir(), CACHE_NAME, json.dumps(key), to_text(data))
    return _catalog(data)


def to_text(data: dict[str, Any]) -> str:
    """The cache's text: the index line, then each provider's models (already JSON)."""
    providers = data["providers"]
    index = dict(data, providers=[{k: v for k, v in p.items() if k != "models"} for p in providers])
    return "\n".join([json.dumps(index, separators=(",", ":"))] + [p["models"] for p in providers])


def _parse(text: str) -> dict[str, Any]:
    lines = text.split("\n")
    index: dict[str, Any] = json.loads(lines[0])
    if len(lines) != len(index["providers"]) + 1:
        raise ValueError("truncated")
    for provider, models in zip(index["providers"], lines[1:], strict=True):
        provider["models"] = models
    return index


def _catalog(data: dict[str, Any]) -> Catalog:
    units = {k: (int(v[0]), str(v[1]), dict(v[2])) for k, v in data["units"].items()}
    return Catalog(str(data["version"]), units, list(data["providers"]))


# building the cache from the package (the slow part, once per installed version)


def build() -> dict[str, Any]:
    """The compact form of the installed dataset (imports the package: ~0.4 s)."""
    from importlib.metadata import version

    from genai_prices.data import providers
    from genai_prices.data_units import unit_data

    units = {k: [v["per"], v["price_key"], v.get("dimensions", {})] for k, v in unit_data.items()}
    return {
        "format": FORMAT,
        "version": version(PACKAGE),
        "units": units,
        "providers": [_provider(p) for p in providers],
    }


def _provider(p: Any) -> dict[str, Any]:
    models = [_model(m, p) for m in p.models]
    out: dict[str, Any] = {"id": p.id, "models": json.dumps(models, separators=(",", ":"))}
    if p.model_match is not None:
        out["model_match"] = _clause(p.model_match)
    if p.provider_match is not None:
        out["provider_match"] = _clause(p.provider_match)
    if p.fallback_model_providers:
        out["fallback"] = list(p.fallback_model_providers)
    return out


_DATE = re.compile(r"\b(20\d\d-\d\d-\d\d)\b")


def _model(m: Any, p: Any) -> dict[str, Any]:
    from genai_prices import types

    if isinstance(m.prices, types.ModelPrice):
        periods = [[None, _prices(m.prices)]]
    else:
        periods = [[_constraint(c.constraint), _prices(c.prices)] for c in m.prices]
    out: dict[str, Any] = {"id": m.id, "match": _clause(m.match), "prices": periods}
    if m.context_window:
        out["context_window"] = m.context_window
    if m.deprecated:
        out["deprecated"] = True
    variants = [
        [dict(v.when), _prices(v.prices), _constraint(v.constraint)] for v in m.price_variants or ()
    ]
    if variants:
        out["variants"] = variants
    dates = _DATE.findall(m.price_comments or "") + [
        c["from"] for c, _ in periods if c is not None and "from" in c
    ]
    if not dates:
        dates = _DATE.findall(p.price_comments or "")
    if dates:
        out["as_of"] = max(dates)
    return out


def _prices(price: Any) -> dict[str, Price]:
    from genai_prices import types

    out: dict[str, Price] = {}
    for key, value in price.__dict__.items():
        if key.startswith("_") or value is None:
            continue
        if isinstance(value, types.TieredPrices):
            out[key] = {
                "base": float(value.base),
                "tiers": [[t.start, float(t.price)] for t in value.tiers],
            }
        else:
            out[key] = float(value)
    return out


def _constraint(c: Any) -> dict[str, Any] | None:
    if c is None:
        return None
    if hasattr(c, "start_date"):
        return {"from": c.start_date.isoformat()}
    return {"hours": [c.start_time.isoformat(), c.end_time.isoformat()]}


def _clause(c: Any) -> list[Any]:
    name = type(c).__name__
    if name == "ClauseEquals":
        return ["eq", c.equals.lower()]
    if name == "ClauseStartsWith":
        return ["sw", c.starts_with.lower()]
    if name == "ClauseEndsWith":
        return ["ew", c.ends_with.lower()]
    if name == "ClauseContains":
        return ["in", c.contains.lower()]
    if name == "ClauseRegex":
        return ["re", c.regex]
    if name == "ClauseOr":
        return ["or", [_clause(x) for x in c.or_]]
    if name == "ClauseAnd":
        return ["and", [_clause(x) for x in c.and_]]
    raise ValueError(f"unknown match clause {name}")
