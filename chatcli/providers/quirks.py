"""What an endpoint taught chatcli about a model, remembered per profile and model.

New models arrive before any table knows them. Rather than guess from a name, chatcli sends the
usual request and learns from the answer: a 400 saying the model takes
``max_completion_tokens`` (not ``max_tokens``) or no ``temperature`` is fixed and re-sent once,
and the fix is remembered, so the next request is right the first time. The same memory holds
the API a model is served on (``responses`` / ``chat``). It lives in the database beside what
``--schema`` learns (``endpoint_quirks``, keyed by profile, model and quirk), not in the
config, which is the user's.
"""

from __future__ import annotations

import contextlib
import re
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chatcli.store import Store

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
    """The remembered facts, in the database's ``endpoint_quirks`` table (``store/quirks.py``),
    opened on first use only: a request that sends nothing a model could refuse reads nothing.
    A database that cannot be opened only costs the one extra request."""

    def __init__(self, store: Store | None = None) -> None:
        self._store = store
        self._owned = False
        self._lock = threading.Lock()

    def _open(self) -> Store | None:
        if self._store is None:
            from chatcli.errors import ChatcliError
            from chatcli.store import open_default

            try:
                self._store = open_default()
                self._owned = True
            except ChatcliError:
                return None
        return self._store

    def get(self, profile: str, model: str, name: str) -> str | None:
        """The remembered ``name`` of ``model`` on ``profile``, or None."""
        from chatcli.errors import ChatcliError
        from chatcli.store.quirks import noted

        with self._lock:
            store = self._open()
            try:
                return None if store is None else noted(store, profile, model, name)
            except ChatcliError:
                return None

    def set(self, profile: str, model: str, name: str, value: str) -> None:
        """Remember ``name = value`` for ``model`` on ``profile``."""
        from chatcli.errors import ChatcliError
        from chatcli.store.quirks import note

        with self._lock:
            store = self._open()
            if store is not None:
                with contextlib.suppress(ChatcliError):
                    note(store, profile, model, name, value)

    def close(self) -> None:
        """Close the database if this object opened it."""
        with self._lock:
            if self._owned and self._store is not None:
                self._store.close()
                self._store = None
                self._owned = False
