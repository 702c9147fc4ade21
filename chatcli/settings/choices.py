"""The fixed choices of settings that are also command-line options, declared once: the CLI
takes them as Choice parameters (so ``--help``, validation and shell completion read them from
the command tree) and the config is validated against the same values. Stdlib only: the CLI
imports this module for ``chatcli --help``."""

from __future__ import annotations

from enum import StrEnum


class MarkdownMode(StrEnum):
    """``--markdown`` and ``markdown =``: render Markdown only on a terminal, always, never."""

    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


class ReasoningEffort(StrEnum):
    """``--reasoning``: how hard a reasoning model thinks."""

    MINIMAL = "minimal"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
