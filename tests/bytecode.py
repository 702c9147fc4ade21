"""Keep compiled bytecode for the test run even when ``PYTHONDONTWRITEBYTECODE`` is set.

Why: with that variable set (containers and CI images often set it), nothing is ever cached:
each xdist worker re-rewrites the asserts of every test module (about 4 s of CPU a worker)
and every ``chatcli`` process the tests start (subprocesses, tmux and screen panes) compiles
the whole package again. The bytecode then goes to a private directory under the system's
temporary directory (``sys.pycache_prefix``), never beside the sources, so the wish behind
the variable, no ``__pycache__`` in the working tree, still holds.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def keep_bytecode() -> None:
    """In this process and every process it starts: write bytecode to a private cache."""
    if not sys.dont_write_bytecode or sys.pycache_prefix:
        return
    prefix = Path(tempfile.gettempdir()) / f"chatcli-tests-pycache-{os.getuid()}"
    prefix.mkdir(mode=0o700, exist_ok=True)
    sys.pycache_prefix = str(prefix)
    sys.dont_write_bytecode = False
    os.environ["PYTHONPYCACHEPREFIX"] = str(prefix)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
