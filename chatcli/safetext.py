"""Server text made safe and short before it reaches a terminal or an error line.

Anything an endpoint sends (error bodies, model ids, stored answers) may carry terminal escape
sequences or binary bytes, and so may model output. ``sanitize`` removes them (``Sanitizer``
does it across the chunks of a stream, for the live view); ``one_line`` also collapses
whitespace, for error messages and table cells. Text shown as what will run or what was
configured (a command, a URL) is not cleaned but made visible: ``visible`` writes each
character a terminal would not show as ``⟨U+XXXX⟩``. Stdlib only: every layer may use it.

Keys: every key chatcli resolves is registered here (``add_secret``), and ``redact`` shows it
as ``****`` plus its last 4 characters wherever it appears, with the credentials of any URL
masked too (``hide_url_credentials``: the password, and the user name when it is the secret,
as in ``http://TOKEN@host`` or ``http://KEY:@host``). ``sanitize`` and ``one_line`` redact, so
every text that is made safe for the terminal is also free of keys; ``Redactor`` does it across
the chunks of a stream. ``redact_fragments`` also masks a piece of a key: a server may echo
a key's first or last characters, or spell it percent-encoded, and the ``--debug`` trace shows
a stream line by line, so a key spelt over two chunks lands in two lines. ``one_line`` (every
error message and table cell: server text) and ``traceback_text`` (``--debug``) mask pieces too.
"""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = [
    "Redactor", "Sanitizer", "add_secret", "add_url_secrets", "flat", "forget_secrets",
    "hidden", "hidden_in", "hide_url_credentials", "mask", "one_line", "readable", "redact",
    "redact_fragments", "sanitize", "secrets", "summarize_bytes", "traceback_text",
    "url_characters", "visible",
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
# Where ``_CONTROL`` can match first: every one of its forms starts with one of these (a
# search for one is several times faster than ``_CONTROL`` on text that holds none)
_CONTROL_START = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# A sequence that may still be completed by the next chunk; held back rather than mangled.
_UNFINISHED = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|[\]PX^_][^\x07\x1b]*\x1b?|[ -/]*)\Z")
_MAX_HELD = 4096  # an escape sequence longer than this is garbage: let sanitize() strip it

_SECRETS: list[str] = []  # longest first, so a key that contains another is replaced whole
# scheme://USERINFO@ (the userinfo ends at the first "@"; quotes end it too, so a URL quoted in
# JSON next to an e-mail address is not read as one long userinfo)
_URL_CREDENTIALS = re.compile(r"""(?i)\b([a-z][a-z0-9+.-]*://)([^\s/?#@"'<>\\`]+)@""")
_KEYLIKE = re.compile(r"[A-Za-z0-9_\-.+=~%]{16,}")
MIN_SECRET = 6
"""Shorter values are not redacted: replacing every "abc" in a text would mangle it."""
WORD_PIECE = 12
"""A run of lowercase letters only is masked as a piece of a key from this long: shorter, it is
a word of a user-chosen key (``sk-litellm-master-1234``) that messages and URLs say too."""


def mask(secret: str) -> str:
    """The one way a key is shown: ``****`` and its last 4 characters, or ``****`` alone for a
    key shorter than 12 characters (whose last 4 would be a third of it)."""
    return "****" + secret[-4:] if len(secret) >= 12 else "****"


def add_secret(secret: str | None) -> None:
    """Register a key (or a URL's password) so that no text shown or stored carries it."""
    if secret and len(secret) >= MIN_SECRET and secret not in _SECRETS:
        # one assignment of a new sorted list: a thread redacting meanwhile (a summary's parts
        # fetch URLs in workers) never sees the list empty, as it would during ``sort``
        _SECRETS[:] = sorted([*_SECRETS, secret], key=len, reverse=True)


def forget_secrets() -> None:
    """Start a command with no keys registered (a test process runs many commands, each with
    its own keys: one command's key must not mask words in the next one's output)."""
    _SECRETS.clear()


def add_url_secrets(url: str | None) -> None:
    """Register the credentials of ``scheme://user:password@host`` in ``url``: the password,
    and the user name when it is the secret (no password, an empty one, or a name that looks
    like a key: ``http://TOKEN@host``, ``http://APIKEY:@host``); a plain user name stays
    readable, as in ``http://user:****@host``."""
    if not url or "@" not in url:
        return
    userinfo = url.partition("://")[2].split("/", 1)[0].rpartition("@")[0]
    if userinfo:
        from urllib.parse import unquote

        user, _, password = userinfo.partition(":")
        secrets = [password, user] if not password or _keylike(user) else [password]
        for secret in secrets:
            add_secret(secret)
            add_secret(unquote(secret))


def _keylike(word: str) -> bool:
    """Whether a URL's user name looks like a key (16 characters or more of a token's, with
    letters and digits): ``https://ghp_...:x-oauth-basic@host`` puts the token there."""
    return (
        _KEYLIKE.fullmatch(word) is not None
        and any(c.isdigit() for c in word)
        and any(c.isalpha() for c in word)
    )


def hide_url_credentials(text: str) -> str:
    """``text`` with every URL's credentials masked: ``http://user:****@host`` for a user name
    and password; ``http://****@host`` when the user name is the secret: the password is
    empty (``http://APIKEY:@host``), the name looks like a key (``http://TOKEN@host``,
    ``_keylike``) or was registered as one (``add_url_secrets``: a configured URL's). Any other
    name alone stays (``ssh://git@host`` in an answer)."""
    if "@" not in text or "://" not in text:
        return text
    return _URL_CREDENTIALS.sub(_hidden_userinfo, text)


def _hidden_userinfo(match: re.Match[str]) -> str:
    scheme, userinfo = match.group(1), match.group(2)
    user, colon, password = userinfo.partition(":")
    if _keylike(user) or (colon and not password) or (not colon and user in _SECRETS):
        return f"{scheme}****:****@" if password else f"{scheme}****@"
    return f"{scheme}{user}:****@" if colon else match.group()


def redact(text: str, extra: tuple[str, ...] = ()) -> str:
    """``text`` with every registered key (and ``extra``) masked, and URL credentials hidden."""
    text = hide_url_credentials(text)
    secrets = tuple(_SECRETS) if not extra else sorted({*_SECRETS, *extra}, key=len, reverse=True)
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, mask(secret))
    return text


_ASCII_ESCAPE = re.compile(r"\\u00([2-7][0-9a-fA-F])")


def _ascii(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return match.group() if char in '"\\\x7f' else char


_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
_NOT_KEY_CHARS = frozenset(' \t\r\n"\\')


def redact_fragments(text: str, extra: tuple[str, ...] = ()) -> str:
    """``redact``, and each piece of a key ``****`` (``mask_fragments``). For the ``--debug``
    trace, whose lines are what the server sent one by one: a key spelt over two stream chunks
    lands in two lines that ``redact`` cannot join. JSON's ``\\u00XX`` escapes of printable
    ASCII are shown as their characters first, so a key spelt with them is found too."""
    if "\\u00" in text:
        text = _ASCII_ESCAPE.sub(_ascii, text)
    return mask_fragments(redact(text, extra), extra)


def mask_fragments(text: str, extra: tuple[str, ...] = ()) -> str:
    """``text`` with each run of key characters (letters, digits, ``-``, ``_`` and whatever
    else a key holds; a ``%XX`` escape counts as the character it stands for) that is a piece
    of a key as ``****``: a run inside a key, one whose end is a key's start, or one whose
    start is a key's end, sharing ``MIN_SECRET`` characters or more with it. A server that
    quotes ``sk-AbCdEf...`` or a key's last 10 characters in an error is not believed to
    mean well. Texts holding no ``MIN_SECRET`` characters of any key are returned at once."""
    keys = tuple(k for k in dict.fromkeys((*_SECRETS, *extra)) if len(k) >= MIN_SECRET)
    if not keys:
        return text
    pieces = _Pieces.of(keys)
    plain = _unquote(text) if "%" in text else text
    if not any(gram in plain for gram in pieces.grams):
        return text
    return pieces.runs.sub(pieces.masked, text)


def _unquote(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text)


class _Pieces:
    """What ``mask_fragments`` looks for, for one set of keys (built once per set)."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        chars = (_KEY_CHARS | set("".join(keys))) - _NOT_KEY_CHARS
        one = f"[{re.escape(''.join(sorted(chars)))}]"
        self.runs = re.compile(f"(?:{one}|%[0-9A-Fa-f]{{2}}){{{MIN_SECRET},}}")
        self.grams = frozenset(
            k[i : i + MIN_SECRET] for k in keys for i in range(len(k) - MIN_SECRET + 1)
        )

    @staticmethod
    @functools.lru_cache(maxsize=32)  # one set per command, a few in a test process
    def of(keys: tuple[str, ...]) -> _Pieces:
        return _Pieces(keys)

    def masked(self, match: re.Match[str]) -> str:
        run = match.group()
        plain = _unquote(run) if "%" in run else run
        if len(plain) < MIN_SECRET or (
            len(plain) < WORD_PIECE and plain.isalpha() and plain.islower()
        ):
            return run  # a word ("litellm" of sk-litellm-master-1234), not a piece of a secret
        near = plain[:MIN_SECRET] in self.grams or any(k[:MIN_SECRET] in plain for k in self.keys)
        return "****" if near and any(_shares(plain, key) for key in self.keys) else run


def _shares(run: str, key: str) -> bool:
    """Whether ``run`` is a piece of ``key`` (see ``mask_fragments``)."""
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
    text = readable(text)
    first = _CONTROL_START.search(text)
    if first is not None:
        text = text[: first.start()] + _CONTROL.sub("", text[first.start() :])
    return redact(text)


_SURROGATE = re.compile("[\ud800-\udfff]")
# a run of non-ASCII characters holding escaped bytes: a word of the name, read as one
_ESCAPED_BYTES = re.compile("[^\x00-\x7f]*[\udc80-\udcff][^\x00-\x7f]*")


def readable(text: str) -> str:
    """``text`` with the bytes Python keeps as surrogate escapes (a file name or an argument
    that is not in the locale's encoding: ``os.fsdecode``) shown as the UTF-8 they spell, or
    as ``\\xNN`` each where they are not (nor the characters around them: the GBK bytes of
    ``录`` begin with UTF-8's ``¼``); any other lone surrogate as U+FFFD. No stream can encode
    a surrogate, and a name shown as ``\\udcb1`` says nothing."""
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    text = _ESCAPED_BYTES.sub(_spelt, text)
    return _SURROGATE.sub("\ufffd", text)


def _spelt(match: re.Match[str]) -> str:
    try:
        raw = match.group().encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that is no escaped byte (U+D800): U+FFFD
        return match.group()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:  # all as bytes: GBK's 录 is also UTF-8's ¼, by chance
        return "".join(f"\\x{byte:02x}" for byte in raw)


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


# controls that end a line or a field (and NUL): a space between the words they part
_BREAKS = re.compile("[\x00\r\x0b\x0c\x1c-\x1f\x85]")


def flat(text: str) -> str:
    """``text`` without control sequences, on one line (every run of whitespace one space; a
    CR, VT, FF, NEL or NUL parts the words around it as a newline would): escapes are removed
    before the text is cut, so a cut never leaves the debris of a sequence it split."""
    return " ".join(sanitize(_BREAKS.sub(" ", text)).split())


def one_line(text: str, limit: int = 500) -> str:
    """``text`` without control sequences, on one line (``flat``), at most ``limit``
    characters, with pieces of keys masked too (``mask_fragments``): server text in errors and
    table cells."""
    line = mask_fragments(flat(text))
    return line if len(line) <= limit else line[: limit - 1] + "…"


_UNSHOWN = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp"})
"""Unicode categories a terminal does not show as what they are: controls, format characters
(zero-width ones, bidi marks, the soft hyphen, the BOM, tags), unassigned and private-use
code points, surrogates, and the line and paragraph separators."""


def hidden(char: str, keep: str = "\t\n") -> bool:
    """Whether ``char`` is one a terminal would not show as it is (those in ``keep``, by
    default tab and newline, count as shown)."""
    return char not in keep and unicodedata.category(char) in _UNSHOWN


def hidden_in(text: str, keep: str = "\t\n") -> list[str]:
    """The characters of ``text`` a terminal would not show as they are, each once, in order,
    as ``⟨U+XXXX⟩``: for a message that names them."""
    if text.isprintable():
        return []
    return list(dict.fromkeys(_mark(c) for c in text if hidden(c, keep)))


def visible(text: str, keep: str = "\t\n") -> str:
    """``text`` with each character a terminal would not show as it is (an escape, a
    zero-width or bidi mark, a tag; but those in ``keep``) written as ``⟨U+XXXX⟩``: for text
    shown as what will run or what was configured (a ``cmd`` command, an MCP server's command
    line or URL), where ``sanitize`` would delete an escape sequence with its payload and so
    show a harmless command while another one runs. ``keep=""`` for a one-line view, where a
    newline would otherwise read as a space."""
    if text.isprintable():
        return text
    return "".join(_mark(c) if hidden(c, keep) else c for c in text)


def _mark(char: str) -> str:
    return f"⟨U+{ord(char):04X}⟩"


def url_characters(url: str) -> str | None:
    """Why ``url`` cannot be a URL as written, or None: it holds a control character, a space
    or an invisible one (zero-width, bidi; pasted from a web page), named ``⟨U+XXXX⟩``. An HTTP
    client refuses or mangles it only when a request is made: ``urlsplit`` drops a tab or a
    newline anywhere without a word, httpx2 raises on a BEL, and a U+200B stays in the path,
    unseen in the 404 that follows. For every URL a config gives (API roots, proxies, MCP)."""
    if url.isprintable() and " " not in url:
        return None
    found = list(dict.fromkeys(_mark(c) for c in url if c.isspace() or hidden(c, "")))
    if not found:
        return None
    named = ", ".join(found[:4]) + (", …" if len(found) > 4 else "")
    return f"holds {named}: a URL holds no control, space or invisible character"


def traceback_text(exc: BaseException) -> str:
    """The traceback ``--debug`` prints for ``exc``, made safe as every other text (escapes
    removed, keys, URL credentials and pieces of keys masked): the exception messages quote
    URLs and server text as they were when raised."""
    import traceback

    text = "".join(traceback.format_exception(exc))
    return sanitize(redact_fragments(text))


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
