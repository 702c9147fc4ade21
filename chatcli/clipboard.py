"""``/copy`` (the REPL) and ``c`` (``chatcli cmd``'s menu): put text where the user can paste
it, and say only what is certain. Below both, so neither imports the other.

Ways, all tried:

- inside tmux (``$TMUX``): ``tmux load-buffer -w -``, tmux's paste buffer; ``-w`` has tmux
  pass it on to its terminal's clipboard (OSC 52) as its ``set-clipboard`` allows, so no OSC 52
  of our own is sent then (no passthrough to configure, no second buffer);
- inside GNU screen (``$STY``): ``screen -X readbuf``, screen's paste buffer (``C-a ]``), read
  back with ``writebuf`` to confirm it arrived (``-X`` is asynchronous and reports nothing);
- the first clipboard tool found (pbcopy, wl-copy, xclip, xsel), by its exit status;
- OSC 52 to the terminal, the way that works over SSH. GNU screen drops OSC 52, so inside it
  the sequence is wrapped in screen's passthrough (``ESC P ... ESC \\``), in pieces shorter
  than screen's string limit, which screen hands on to its own terminal unchanged. Whether a
  terminal honours OSC 52 cannot be known, so it is reported as sent, never as copied.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from chatcli.terminal import isatty

SCREEN_CHUNK = 512
"""Bytes of base64 per passthrough piece: GNU screen 4 keeps at most 768 of a string."""

CONFIRM_SECONDS = 3.0


@dataclass
class Copied:
    """Where the text certainly is (``copied``) and where it was only sent (``sent``)."""

    copied: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)

    def summary(self, characters: int) -> str:
        """The one line ``/copy`` prints."""
        if self.copied:
            line = f"copied {characters} characters to {' and '.join(self.copied)}"
            return line + ("; also sent to the terminal (OSC 52)" if self.sent else "")
        return (
            f"sent {characters} characters to the terminal's clipboard (OSC 52); "
            "it arrives if the terminal allows OSC 52"
        )


def copy_to_clipboard(text: str, terminal: TextIO) -> Copied:
    """Copy ``text`` every way available (see the module docstring)."""
    done = Copied()
    if os.environ.get("TMUX") and _tmux_buffer(text):
        done.copied.append("tmux's paste buffer")
    if os.environ.get("STY") and _screen_buffer(text, os.environ["STY"]):
        done.copied.append("screen's paste buffer (C-a ])")
    for tool in _clipboard_tools():
        if _run(tool, text.encode("utf-8")):
            done.copied.append(tool[0])
            break
    in_tmux = "tmux's paste buffer" in done.copied  # tmux -w passes it on to the terminal
    if isatty(terminal) and not in_tmux:
        terminal.write(osc52(text, screen=bool(os.environ.get("STY"))))
        terminal.flush()
        done.sent.append("the terminal (OSC 52)")
    return done


def osc52(text: str, *, screen: bool = False) -> str:
    """The OSC 52 "set clipboard" sequence for ``text``; ``screen``: in passthrough pieces."""
    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
    if not screen:
        return f"\x1b]52;c;{encoded}\x07"
    pieces = [encoded[i : i + SCREEN_CHUNK] for i in range(0, len(encoded), SCREEN_CHUNK)]
    body = ["\x1b]52;c;", *pieces, "\x07"]
    return "".join(f"\x1bP{piece}\x1b\\" for piece in body)


def _tmux_buffer(text: str) -> bool:
    tmux = shutil.which("tmux")
    return tmux is not None and _run([tmux, "load-buffer", "-w", "-"], text.encode("utf-8"))


def _screen_buffer(text: str, session: str) -> bool:
    """Load ``text`` into screen's paste buffer and read it back; True once it is there."""
    screen = shutil.which("screen")
    if screen is None:
        return False
    data = text.encode("utf-8")
    with tempfile.TemporaryDirectory(prefix="chatcli-copy-") as folder:  # private, 0700
        source, check = Path(folder, "in"), Path(folder, "out")
        source.write_bytes(data)
        command = [screen, "-S", session, "-X"]
        if not _run([*command, "readbuf", "-e", "utf8", str(source)], b""):
            return False
        if not _run([*command, "writebuf", "-e", "utf8", str(check)], b""):
            return False
        deadline = time.monotonic() + CONFIRM_SECONDS
        while time.monotonic() < deadline:  # screen runs -X commands on its own schedule
            try:
                if check.read_bytes() == data:
                    return True
            except OSError:
                pass
            time.sleep(0.02)
    return False


def _run(argv: list[str], data: bytes) -> bool:
    try:
        done = subprocess.run(
            argv,
            input=data,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


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
