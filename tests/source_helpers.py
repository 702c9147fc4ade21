"""The package's source parsed once per test process: the structure and output-layer tests
each walk every module, and parsing them all is most of what those tests cost."""

from __future__ import annotations

import ast
import functools
from pathlib import Path


@functools.cache
def parsed(path: Path) -> ast.Module:
    """The syntax tree of ``path`` (shared: read it, never change it)."""
    return ast.parse(path.read_text(encoding="utf-8"))
