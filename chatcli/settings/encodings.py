"""Whether ``[models."NAME"] tokenizer`` names an encoding that exists, checked when the config is
read: a misspelt ``o200k_bse`` would otherwise turn every exact count into an estimate unseen.

A name is known when it is one of the tables bpe-openai bundles, one of tiktoken's own
(``tiktoken_ext.openai_public``: known by name even where tiktoken is not installed), or one an
installed tiktoken plugin registers. Only a name outside the first two costs anything (importing
tiktoken and its plugins, ~50 ms). Whether a known encoding can be *built* here (its table on
disk, not downloaded) is the machine's state, not the config's: ``config validate`` warns about
that (``chatcli.tokens.unavailable_reason``), commands count with an estimate and say why.
"""

from __future__ import annotations

import difflib

TIKTOKEN_NAMES = (
    "cl100k_base", "o200k_base", "o200k_harmony", "p50k_base", "p50k_edit", "r50k_base", "gpt2",
)  # fmt: skip
"""Encodings tiktoken itself defines (bpe-openai bundles the first two)."""


def _plugin_names() -> tuple[str, ...] | None:
    """Every encoding installed tiktoken plugins register; None when that cannot be known
    (tiktoken missing counts as no plugin; a plugin that fails to import, as unknown)."""
    try:
        import tiktoken
    except ImportError:
        return ()
    try:
        return tuple(tiktoken.list_encoding_names())
    except Exception:  # a broken plugin: the name may be one of its encodings
        return None


def encoding_problem(name: str) -> tuple[str, str] | None:
    """(problem, hint) when no encoding is called ``name`` here, else None."""
    if name in TIKTOKEN_NAMES:
        return None
    plugins = _plugin_names()
    if plugins is None or name in plugins:
        return None
    known = sorted({*TIKTOKEN_NAMES, *plugins})
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"did you mean `{close[0]}`?" if close else f"known encodings: {', '.join(known)}"
    return f"is not a tiktoken encoding known here ({name!r})", hint
