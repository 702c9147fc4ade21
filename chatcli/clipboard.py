"""Copying text to the clipboard: ``/copy`` in the REPL and ``c`` in ``chatcli cmd``'s menu.

OSC 52 reaches the clipboard of the terminal itself (also over SSH and inside tmux, when the
terminal allows it); a local clipboard tool (pbcopy, wl-copy, xclip, xsel) is tried as well.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import TextIO

from chatcli.terminal import isatty


def copy_to_clipboard(text: str, terminal: TextIO) -> list[str]:
    """Copy with OSC 52 (works over SSH and in tmux when the terminal allows it) and with the
    first clipboard tool found; returns what was used."""
    ways: list[str] = []
    if isatty(terminal):
        encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
        terminal.write(f"\x1b]52;c;{encoded}\x07")
        terminal.flush()
        ways.append("the terminal (OSC 52)")
    for tool in _clipboard_tools():
        try:
            done = subprocess.run(
                tool,
                input=text.encode("utf-8"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=5,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            ways.append(tool[0])
            break
    return ways


def _clipboard_tools() -> Iterator[list[str]]:
    candidates = [
        (["pbcopy"], True),
        (["wl-copy"], bool(os.environ.get("WAYLAND_DISPLAY"))),
        (["xclip", "-selection", "clipboard"], bool(os.environ.get("DISPLAY"))),
        (["xsel", "--clipboard", "--input"], bool(os.environ.get("DISPLAY"))),
    ]
    for tool, usable in candidates:
        if usable and shutil.which(tool[0]):
            yield tool
