"""Server text made safe and short before it reaches a terminal or an error line.

Anything an endpoint sends (error bodies, model ids, stored answers) may carry terminal escape
sequences or binary bytes, and so may model output. ``sanitize`` removes them (``Sanitizer``
does it across the chunks of a stream, for the live view); ``one_line`` also collapses
whitespace, for error messages and table cells. Stdlib only: every layer may use it.

Keys: every key chatcli resolves is registered here (``add_secret``), and ``redact`` shows it
as ``****`` plus its last 4 characters wherever it appears, with any ``user:password@`` in a URL
masked too. ``sanitize`` and ``one_line`` redact, so every text that is made safe for the
terminal is also free of keys; ``Redactor`` does it across the chunks of a stream.
``redact_fragments`` also masks a piece of a key (the ``--debug`` trace shows a stream line by
line, and a key spelt over two chunks lands in two lines).
"""

from __future__ import annotations

import re

__all__ = [
    "Redactor", "Sanitizer", "add_secret", "forget_secrets", "mask", "one_line", "redact",
    "redact_fragments", "sanitize", "secrets", "summarize_bytes",
]  # fmt: skip

_CONTROL = re.compile(
    r"""
      \x1b\[[0-?]*[ -/]*[@-~]              # CSI: colours, cursor moves, erases, modes
    | \x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)  # OSC, DCS, SOS, PM, APC with their terminator
    | \x1b[ -/]*[0-~]                      # other escape sequences (charsets, keypad, RIS)
    | [\x00-\x08\x0b-\x1f\x7f-\x9f]        # C0 controls but tab and newline, DEL, C1 controls
    | [\u202a-\u202e\u2066-\u2069]          # bidi embeddings, overrides and isolates
    """,
    re.VERBOSE,
)
# A sequence that may still be completed by the next chunk; held back rather than mangled.
_UNFINISHED = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|[\]PX^_][^\x07\x1b]*\x1b?|[ -/]*)\Z")
_MAX_HELD = 4096  # an escape sequence longer than this is garbage: let sanitize() strip it

_SECRETS: list[str] = []  # longest first, so a key that contains another is replaced whole
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/@:?#]*):[^\s/@?#]*@")
MIN_SECRET = 6
"""Shorter values are not redacted: replacing every "abc" in a text would mangle it."""


def mask(secret: str) -> str:
    """The one way a key is shown: ``****`` and its last 4 characters, or ``****`` alone for a
    key shorter than 12 characters (whose last 4 would be a third of it)."""
    return "****" + secret[-4:] if len(secret) >= 12 else "****"


def add_secret(secret: str | None) -> None:
    """Register a key (or a URL's password) so that no text shown or stored carries it."""
    if secret and len(secret) >= MIN_SECRET and secret not in _SECRETS:
        _SECRETS.append(secret)
        _SECRETS.sort(key=len, reverse=True)


def forget_secrets() -> None:
    """Start a command with no keys registered (a test process runs many commands, each with
    its own keys: one command's key must not mask words in the next one's output)."""
    _SECRETS.clear()


def add_url_secrets(url: str | None) -> None:
    """Register the password of ``scheme://user:password@host`` in ``url`` (the user name
    stays readable, as in ``http://user:****@host``)."""
    if not url or "@" not in url:
        return
    userinfo = url.partition("://")[2].split("/", 1)[0].rpartition("@")[0]
    if userinfo:
        from urllib.parse import unquote

        password = userinfo.partition(":")[2]
        add_secret(password)
        add_secret(unquote(password))


def redact(text: str, extra: tuple[str, ...] = ()) -> str:
    """``text`` with every registered key (and ``extra``) masked, and URL credentials hidden."""
    secrets = _SECRETS if not extra else sorted({*_SECRETS, *extra}, key=len, reverse=True)
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, mask(secret))
    if "@" in text and "://" in text:
        text = _URL_CREDENTIALS.sub(r"\1:****@", text)
    return text


_ASCII_ESCAPE = re.compile(r"\\u00([2-7][0-9a-fA-F])")


def _ascii(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return match.group() if char in '"\\\x7f' else char


_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
_NOT_KEY_CHARS = frozenset(' \t\r\n"\\')


def redact_fragments(text: str, extra: tuple[str, ...] = ()) -> str:
    """``redact``, and each run of key characters (letters, digits, ``-``, ``_`` and whatever
    else a key holds) that is a piece of a key is ``****``: a run inside a key, one whose end
    is a key's start, or one whose start is a key's end, sharing ``MIN_SECRET`` characters or
    more with it. For the ``--debug`` trace, whose lines are what the server sent one by one:
    a key spelt over two stream chunks lands in two lines that ``redact`` cannot join. JSON's
    ``\\u00XX`` escapes of printable ASCII are shown as their characters first, so a key
    spelt with them is found too."""
    if "\\u00" in text:
        text = _ASCII_ESCAPE.sub(_ascii, text)
    text = redact(text, extra)
    keys = [k for k in dict.fromkeys((*_SECRETS, *extra)) if len(k) >= MIN_SECRET]
    if not keys:
        return text
    chars = (_KEY_CHARS | set("".join(keys))) - _NOT_KEY_CHARS
    runs = re.compile(f"[{re.escape(''.join(sorted(chars)))}]{{{MIN_SECRET},}}")
    grams = {k[i : i + MIN_SECRET] for k in keys for i in range(len(k) - MIN_SECRET + 1)}

    def masked(match: re.Match[str]) -> str:
        run = match.group()
        near = run[:MIN_SECRET] in grams or any(k[:MIN_SECRET] in run for k in keys)
        return "****" if near and any(_shares(run, key) for key in keys) else run

    return runs.sub(masked, text)


def _shares(run: str, key: str) -> bool:
    """Whether ``run`` is a piece of ``key`` (see ``redact_fragments``)."""
    if run in key:
        return True
    longest = min(len(run), len(key))
    return any(
        run.endswith(key[:n]) or run.startswith(key[-n:]) for n in range(MIN_SECRET, longest + 1)
    )


def secrets() -> tuple[str, ...]:
    """The registered keys, longest first."""
    return tuple(_SECRETS)


class Redactor:
    """``redact`` across the chunks of a stream: a key split over two chunks is masked whole.

    The end of a chunk that could be the start of a key is held back until the next chunk
    (or ``flush``) shows whether it is one.
    """

    def __init__(self) -> None:
        self._held = ""

    def push(self, text: str) -> str:
        if not _SECRETS:
            return text
        text = redact(self._held + text)
        self._held = ""
        longest = len(_SECRETS[0])
        for size in range(min(longest - 1, len(text)), 0, -1):
            tail = text[-size:]
            if any(s.startswith(tail) for s in _SECRETS):
                self._held = tail
                return text[:-size]
        return text

    def flush(self) -> str:
        held, self._held = self._held, ""
        return redact(held)


def sanitize(text: str) -> str:
    """Remove terminal control sequences and control characters, keeping newlines and tabs.

    Model output can carry escape sequences (by accident or by prompt injection) that would
    recolour, retitle, clear or reprogram the user's terminal if written raw. Explicit bidi
    controls go too: on a terminal that honours them, U+202E shows ``gpt-4o-mini`` spelt
    backwards as something else ("Trojan Source"); the implicit bidi of Arabic or Hebrew text
    needs none of them.
    """
    return redact(_CONTROL.sub("", text))


class Sanitizer:
    """``sanitize`` across chunk boundaries: an escape split over two chunks is removed whole."""

    def __init__(self) -> None:
        self._held = ""

    def push(self, text: str) -> str:
        text = self._held + text
        self._held = ""
        match = _UNFINISHED.search(text)
        if match and len(text) - match.start() <= _MAX_HELD:
            self._held = text[match.start() :]
            text = text[: match.start()]
        return sanitize(text)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return sanitize(held)


def one_line(text: str, limit: int = 500) -> str:
    """``text`` without control sequences, on one line, at most ``limit`` characters."""
    flat = " ".join(sanitize(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def summarize_bytes(raw: bytes, content_type: str | None) -> str | None:
    """``<2,345 bytes of image/png>`` for a body that is not text, or None for text."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    textual = not kind or kind.startswith("text/") or "json" in kind or "xml" in kind
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        decoded = None
    if textual and decoded is not None and "\x00" not in decoded:
        return None
    return f"<{len(raw):,} bytes of {kind or 'binary data'}>"
