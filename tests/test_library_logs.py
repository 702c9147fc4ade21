"""What the libraries log and warn (the MCP SDK, pypdf, httpx2) carries servers' and documents'
text, and Python would print it raw, tracebacks included. It reaches stderr through the output
layer: nothing without ``--debug``, one sanitised line per record with it."""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

import pytest

from chatcli.environment import Environment
from chatcli.output import log_to
from tests.cli_helpers import clean_env, run_process
from tests.docs_helpers import make_pdf

HOSTILE = "A\x1b]0;PWNED\x07B\x1b[2JC\x9b6nD\rE"


def _logged(debug: bool) -> str:
    """stderr after a library logs, logs an exception and warns, inside ``log_to``."""
    stderr = io.StringIO()
    environment = Environment(None, io.StringIO(), stderr, stderr_isatty=True)
    with log_to(environment, debug=debug):
        library = logging.getLogger("somelib.client")
        library.warning("Unknown SSE event: %s", HOSTILE)
        try:
            raise ValueError(HOSTILE)
        except ValueError:
            library.exception("bad line")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn(f"field {HOSTILE}", UserWarning, stacklevel=1)
    return stderr.getvalue()


def test_library_records_and_warnings_are_silent_without_debug() -> None:
    assert _logged(debug=False) == ""


def test_with_debug_they_come_one_sanitised_line_each() -> None:
    shown = _logged(debug=True)
    assert "somelib.client: Unknown SSE event: A" in shown
    assert "ValueError: A" in shown  # the traceback, line by line
    assert "py.warnings: " in shown and "UserWarning: field A" in shown
    for control in ("\x1b", "\x07", "\x9b", "\r"):
        assert control not in shown


@pytest.mark.parametrize("debug", [False, True])
def test_a_pdf_font_name_pypdf_logs_never_reaches_the_terminal_raw(
    tmp_path: Path, debug: bool
) -> None:
    """A real process: Python's last-resort handler only writes when nothing else does."""
    pdf = tmp_path / "evil.pdf"
    name = b"/Evil#1b#5d0;PWNED#07#1b#5b2J#c2#9b6n"
    pdf.write_bytes(make_pdf(["Hello from a hostile PDF, with enough words."], encoding=name))
    args = ["summarize", str(pdf), "--dry-run", *(["--debug"] if debug else [])]
    result = run_process(*args, env=clean_env(tmp_path, OPENAI_API_KEY="sk-test-0000"))
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "\x9b" not in result.stderr
    assert ("Advanced encoding /Evil" in result.stderr) == debug
