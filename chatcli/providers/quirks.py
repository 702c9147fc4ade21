"""What an endpoint taught chatcli about a model, remembered per profile and model.

New models arrive before any table knows them. Rather than guess from a name, chatcli sends the
usual request and learns from the answer: a 400 saying the model takes
``max_completion_tokens`` (not ``max_tokens``) or no ``temperature`` is fixed and re-sent once,
and the fix is remembered, so the next request is right the first time. The same memory holds
the API a model is served on (``responses`` / ``chat``) and a context window the endpoint
states. It lives in ``quirks.json`` in the data dir (not the config, which is the user's), keyed
by profile and model; a file that cannot be read or written only costs the one extra request.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

COMPLETION_PARAMS = "completion"
"""``params`` value: the model takes max_completion_tokens and no temperature (as the reasoning
models do)."""

_REJECTED = re.compile(
    r"unsupported (?:parameter|value):?\s*['`\"]?(max_tokens|temperature)['`\"]?"
    r"|['`\"](max_tokens|temperature)['`\"] (?:is not supported|does not support)"
    r"|use ['`\"]max_completion_tokens['`\"] instead",
    re.I,
)


def rejects_classic_params(status: int, message: str) -> bool:
    """Whether an error answer refuses ``max_tokens`` or ``temperature`` the way OpenAI's
    reasoning models do (400 ``Unsupported parameter: 'max_tokens' ... use
    'max_completion_tokens'`` / ``Unsupported value: 'temperature' ...``)."""
    return status in (400, 422) and _REJECTED.search(message) is not None


class Quirks:
    """The remembered facts, read on first use and written back whole on each change."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._data: dict[str, dict[str, Any]] | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        if self._path is None:
            from chatcli.settings.paths import data_dir

            self._path = data_dir() / "quirks.json"
        return self._path

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._data is None:
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raw = {}
            self._data = raw if isinstance(raw, dict) else {}
        return self._data

    @staticmethod
    def _key(profile: str, model: str) -> str:
        return f"{profile}\t{model}"

    def get(self, profile: str, model: str, name: str) -> Any:
        """The remembered ``name`` of ``model`` on ``profile``, or None."""
        with self._lock:
            entry = self._load().get(self._key(profile, model))
        return entry.get(name) if isinstance(entry, dict) else None

    def age(self, profile: str, model: str, name: str) -> float | None:
        """Seconds since ``name`` was remembered, or None when it was not."""
        stamp = self.get(profile, model, f"{name}_at")
        return time.time() - stamp if isinstance(stamp, int | float) else None

    def set(self, profile: str, model: str, name: str, value: Any) -> None:
        """Remember ``name = value`` (merged with what other processes wrote meanwhile)."""
        from chatcli.settings.paths import ensure_private_dir

        with self._lock:
            self._data = None  # re-read: another chatcli may have learnt something meanwhile
            data = self._load()
            old: Any = data.get(self._key(profile, model))
            entry: dict[str, Any] = old if isinstance(old, dict) else {}
            data[self._key(profile, model)] = entry
            entry[name] = value
            entry[f"{name}_at"] = round(time.time())
            try:
                ensure_private_dir(self.path.parent)
                tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
                tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
                os.replace(tmp, self.path)
            except OSError:
                pass
