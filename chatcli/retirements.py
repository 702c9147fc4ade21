"""Models OpenAI retires: shutdown dates and named replacements, and the notices about them.

Why a table here: OpenAI announces retirements on its deprecations page
(https://developers.openai.com/api/docs/deprecations) months ahead, and ``GET /v1/models``
carries a ``shutdown_date`` only on the official endpoint; relays and old keys see neither.
The table below is that page as of November 2026; a model's ``shutdown_date`` from the endpoint
(``chatcli models``) and the dataset's ``deprecated`` flag are used where they are given.
Names match by exact id, or by the id the price dataset gives a dated snapshot
(``gpt-4o-2024-08-06`` is ``gpt-4o``), never by a name prefix.

The table is OpenAI's schedule: it is said on ``openai`` profiles and on relays (which mostly
forward to OpenAI), never on an Azure profile. Azure OpenAI retires models on its own dates
(Microsoft's "model deprecations and retirements" page) and names its own replacements, so
there only a date Azure's own model list states (``deprecation.inference``) is shown, by
``models``; ``ask``, ``chat``, ``/model``, ``doctor`` and error hints say nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chatcli.settings.loading import Profile

NOTICE_DAYS = 30
"""``ask`` and ``chat`` say so once per run when the model retires within this many days."""

TODAY_ENV = "CHATCLI_TODAY"
"""``YYYY-MM-DD``: the day retirements are counted from instead of today (reproducible test
runs and scripts; unset in normal use)."""


def today() -> date:
    """The day retirements are counted from: ``CHATCLI_TODAY`` when set and valid, else today."""
    pinned = os.environ.get(TODAY_ENV)
    if pinned:
        try:
            return date.fromisoformat(pinned)
        except ValueError:
            pass
    return date.today()


@dataclass(frozen=True)
class Retirement:
    """When OpenAI shuts ``model`` down, and what it recommends instead (None: none named)."""

    model: str
    shutdown: date
    replacement: str | None

    def days_left(self, when: date | None = None) -> int:
        return (self.shutdown - (when or today())).days

    def describe(self, when: date | None = None) -> str:
        """``retired 2026-05-12; use gpt-image-2.5-sunburst`` / ``retires 2027-01-14 (40
        days); use gpt-6-luna``."""
        left = self.days_left(when)
        said = (
            f"retired {self.shutdown}"
            if left <= 0
            else f"retires {self.shutdown} ({left} day{'s' if left != 1 else ''})"
        )
        return said + (f"; use {self.replacement}" if self.replacement else "")


def _table() -> dict[str, Retirement]:
    rows: list[tuple[str, str, str | None]] = [
        ("2026-05-12", "dall-e-2 dall-e-3", "gpt-image-2.5-sunburst"),
        ("2026-10-23", "gpt-image-1", "gpt-image-2.5-sunburst"),
        ("2026-10-23", "gpt-3.5-turbo gpt-3.5-turbo-0125 gpt-3.5-turbo-1106", "gpt-5.6-terra"),
        (
            "2026-10-23",
            "gpt-4 gpt-4-0613 gpt-4-turbo gpt-4-turbo-2024-04-09 gpt-4-1106-preview "
            "gpt-4o-2024-05-13 o1 o1-2024-12-17 o3-mini o3-mini-2025-01-31 "
            "o1-pro o1-pro-2025-03-19",
            "gpt-5.6-sol",
        ),
        ("2026-10-23", "o4-mini o4-mini-2025-04-16", "gpt-5.6-terra"),
        ("2026-10-23", "gpt-4.1-nano gpt-4.1-nano-2025-04-14", None),
        (
            "2026-12-01",
            "gpt-image-1-mini gpt-image-1.5 gpt-image-1.5-2025-12-16 chatgpt-image-latest",
            "gpt-image-2.5-sunburst",
        ),
        ("2026-12-11", "gpt-5 gpt-5-2025-08-07 o3 o3-2025-04-16", "gpt-6.1-sol"),
        ("2026-12-11", "gpt-5-mini gpt-5-mini-2025-08-07", "gpt-6.1-terra"),
        ("2026-12-11", "gpt-5-nano gpt-5-nano-2025-08-07 gpt-5-pro o3-pro", None),
        ("2027-01-06", "tts-1 tts-1-hd gpt-4o-mini-tts", None),
        (
            "2027-01-14",
            "gpt-4o gpt-4o-2024-08-06 gpt-4o-2024-11-20 gpt-4o-mini gpt-4o-mini-2024-07-18 "
            "gpt-4.1 gpt-4.1-2025-04-14 gpt-4.1-mini gpt-4.1-mini-2025-04-14",
            "gpt-6-luna",
        ),
        (
            "2027-02-26",
            "whisper-1 gpt-4o-transcribe gpt-4o-mini-transcribe gpt-4o-transcribe-diarize",
            "gpt-transcribe",
        ),
        ("2027-04-01", "gpt-5.1 gpt-5.3-codex gpt-5.4-nano", None),
    ]
    return {
        name: Retirement(name, date.fromisoformat(day), replacement)
        for day, names, replacement in rows
        for name in names.split()
    }


RETIREMENTS: dict[str, Retirement] = _table()
"""OpenAI's deprecations page, November 2026: model id -> its retirement."""


def retirement(
    model: str, shutdown_date: str | None = None, *, own_schedule: bool = False
) -> Retirement | None:
    """What is known about ``model``'s retirement: the endpoint's ``shutdown_date`` if given,
    else the table, by exact id or the price dataset's id for it; None when none is known.
    ``own_schedule``: the endpoint retires models on dates of its own (Azure: its endpoint
    type says so), so OpenAI's table is not used."""
    known = None if own_schedule else _listed(model)
    if shutdown_date:
        try:
            day = date.fromisoformat(shutdown_date[:10])
        except ValueError:
            return known
        return Retirement(model, day, known.replacement if known else None)
    if known is not None and known.model != model:
        return Retirement(model, known.shutdown, known.replacement)
    return known


def _listed(model: str) -> Retirement | None:
    name = model.strip().lower()
    known = RETIREMENTS.get(name) or RETIREMENTS.get(name.rsplit("/", 1)[-1])
    if known is None:
        from chatcli.pricing import family

        known = RETIREMENTS.get(family(model))
    return known


def notice(model: str, when: date | None = None, *, own_schedule: bool = False) -> str | None:
    """The one-line notice ``ask``/``chat`` (``/model``, ``speak``...) print when ``model``
    retires within ``NOTICE_DAYS`` (or already has), else None; ``own_schedule``: as for
    ``retirement``."""
    found = retirement(model, own_schedule=own_schedule)
    if found is None or found.days_left(when) > NOTICE_DAYS:
        return None
    return f"{model} {found.describe(when)} (OpenAI's deprecations page)"


def notice_on(model: str, profile: Profile) -> str | None:
    """``notice`` for ``model`` asked of ``profile``: what ``ask``/``chat`` say, for the
    commands that ask one model of one endpoint (``speak``, ``transcribe``, ``image``); an
    endpoint type with a schedule of its own (Azure) is not told OpenAI's dates."""
    from chatcli.settings.endpoint_types import endpoint_type

    return notice(model, own_schedule=endpoint_type(profile).own_retirements)


def replacement_hint(model: str, *, own_schedule: bool = False) -> str | None:
    """``use gpt-6-luna instead: ...`` for a "model not found / deprecated" error, or None."""
    found = retirement(model, own_schedule=own_schedule)
    if found is None:
        return None
    what = f"OpenAI shut {model} down on {found.shutdown}"
    if found.days_left() > 0:
        what = f"OpenAI retires {model} on {found.shutdown}"
    if found.replacement:
        return f"{what}; use -m {found.replacement}"
    return what
