"""The inputs of ``summarize``: files, ``-`` (stdin) and ``http(s)://`` URLs, each read and turned
into text on its own, so one unreadable input does not stop the others."""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from chatcli import reading
from chatcli.errors import ChatcliError, UsageError

if TYPE_CHECKING:
    from chatcli.settings.loading import Profile


@dataclass
class Source:
    """One input: its name for headings and logs, and its text or why it could not be read."""

    name: str
    text: str = ""
    error: ChatcliError | None = None

    @property
    def label(self) -> str:
        """The name shown in headings and logs (``stdin`` for ``-``)."""
        return "stdin" if self.name == "-" else self.name

    @property
    def slug(self) -> str:
        """A file name stem for ``-o DIR``: the file's stem, or the URL's host, port and path.
        Never its ``user:password@``, query or fragment: a name is seen by whoever can list
        DIR, and quoted in every later command line (a signed URL's token is in the query)."""
        if self.name == "-":
            return "stdin"
        from chatcli.inputs import url_of

        url = url_of(self.name)
        if url:
            from urllib.parse import urlsplit

            parts = urlsplit(url)
            host = parts.netloc.rpartition("@")[2]  # the port stays: two servers, two names
            tail = f"{host}{parts.path}".rstrip("/")
            return re.sub(r"[^\w.-]+", "-", tail).strip("-.")[:120] or "page"
        return Path(self.name).stem or "input"


def names(files: list[str], stdin: TextIO | None, stdin_isatty: bool) -> list[str]:
    """The inputs as given; stdin (the command's) when there are none and something is piped
    in."""
    if files:
        return files
    if stdin is None or stdin_isatty:
        raise UsageError(
            "nothing to summarise: give a FILE or URL, or pipe text in",
            hint="chatcli summarize report.pdf",
        )
    return ["-"]


def distinct(names: list[str], stdin: TextIO | None) -> tuple[list[str], list[tuple[str, str]]]:
    """The inputs with each one once, and (dropped, the one it repeats) pairs: a file is
    known by what it is, not how it is spelt (``a.txt ./a.txt``, its absolute path, a link
    to it: the same ``st_dev``/``st_ino``), and ``-`` twice is stdin, read once; the same
    file is never summarised (and paid for) twice."""
    seen: dict[tuple[object, ...], str] = {}
    kept: list[str] = []
    dropped: list[tuple[str, str]] = []
    for name in names:
        key = _identity(name, stdin)
        if key in seen:
            dropped.append((name, seen[key]))
            continue
        seen[key] = name
        kept.append(name)
    return kept, dropped


def _identity(name: str, stdin: TextIO | None) -> tuple[object, ...]:
    """What ``name`` reads: a file's device and inode (through links), stdin's for ``-``
    (so ``- /dev/stdin`` is one input too), a URL as written."""
    from chatcli.inputs import url_of

    if url_of(name):
        return ("url", name)
    try:
        if name == "-":
            if stdin is None:
                return ("stdin",)
            found = os.fstat(stdin.fileno())
        else:
            found = os.stat(name)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return ("stdin",) if name == "-" else ("name", name)  # said when it is read
    return ("file", found.st_dev, found.st_ino)


def load(name: str, profile: Profile, stdin: TextIO | None) -> Source:
    """Read one input to text (``-``: ``stdin``); a failure is kept in the Source, not
    raised."""
    try:
        return Source(name, _text(name, profile, stdin))
    except ChatcliError as exc:
        return Source(name, error=exc)
    except (RecursionError, MemoryError, ValueError, LookupError) as exc:  # a hostile file
        shown = "the input" if name == "-" else name
        return Source(name, error=UsageError(f"cannot read {shown}: {type(exc).__name__}"))


def _text(name: str, profile: Profile, stdin: TextIO | None) -> str:
    from chatcli.inputs import fetch_url, to_text, url_of

    url = url_of(name)
    content_type = None
    if url is not None:
        data, content_type = fetch_url(url, profile)
        label = url
    else:
        data, label = _read(name, stdin)
    try:
        text = to_text(data, label, content_type)
    except UsageError as exc:
        hint = exc.hint
        if hint is None or hint.startswith("chatcli reads"):
            hint = "chatcli summarize reads text and documents (PDF, DOCX, ODT, EPUB, HTML, RTF)"
        raise UsageError(exc.message, hint=hint) from None
    text = text.strip("\n")
    if not text.strip():
        what = "the input" if name == "-" else name
        raise UsageError(f"nothing to summarise: {what} is empty")
    return text


def _read(name: str, stdin: TextIO | None) -> tuple[bytes, str]:
    hint = "split it, or summarise its parts one by one"
    if name == "-":
        if stdin is None:
            raise UsageError("nothing to summarise: stdin is closed")
        return reading.read_stream(stdin.buffer, reading.TEXT, "piped input", hint=hint), (
            "piped input"
        )
    path = Path(name)
    return reading.read_file(path, reading.TEXT, hint=hint), f"file {path}"
