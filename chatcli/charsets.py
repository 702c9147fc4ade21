"""Which encoding text input is in: a charset the input declares, a BOM, or the one guess chatcli
makes (UTF-8, else GB18030 when the bytes read as Chinese and not as Latin-1/cp1252).

UTF-8 cut in the middle of its last character (``head -c N``, a truncated log) is still UTF-8:
``utf8`` drops the partial character and says so, rather than letting the failed decode send
the bytes on to the GB18030 guess (mojibake) or to a refusal. Only when what comes before it
holds other UTF-8 characters, or the cut character has two bytes or more: ASCII text ending
in one Latin-1 letter (``caf\xe9``) is not taken for UTF-8.

GB18030 decodes almost any byte string, so "it decoded" proves nothing: ``Grüße aus München``
in Latin-1 decodes to CJK ideographs and Private Use characters. A GB18030 reading is taken only
when its non-ASCII characters are mostly CJK (ideographs, CJK punctuation, fullwidth forms,
kana), include no Private Use characters, and the same bytes do not read as Latin text in
cp1252 (accented letters inside ASCII words, as in German or French). Stdlib only, no import
cost: plain text is the common input.
"""

from __future__ import annotations

import codecs
import re
from itertools import islice

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_SAMPLE = 20_000  # non-ASCII characters looked at: enough to judge, bounded for 20 MiB input
_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:+-]{1,40})""", re.I)

# labels the web uses for a charset Python reads better under another name (WHATWG Encoding):
# pages labelled Latin-1 or ASCII are cp1252 in practice, GB2312/GBK pages are GB18030 subsets
_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "windows-1252": "cp1252",
    "x-cp1252": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "chinese": "gb18030",
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
}
# codecs Python has that are no charset a document can sensibly declare
_REFUSED = frozenset(("unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined"))


def declared(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a ``Content-Type`` value, as written, or None."""
    if not content_type:
        return None
    match = _CHARSET.search(content_type)
    return match.group(1) if match else None


def codec(label: str | None) -> str | None:
    """The Python codec for a declared charset ``label``; None when Python has no text codec
    of that name (or it is one no document means, such as ``unicode_escape``)."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return None
    return "utf-8-sig" if info.name == "utf-8" else info.name


def with_bom(data: bytes) -> str | None:
    """``data`` decoded by its UTF-16 or UTF-8 byte order mark; None without one (or when the
    bytes after it are not in that encoding)."""
    for mark, name in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(mark):
            try:
                return data.decode(name)
            except UnicodeDecodeError:
                if name != "utf-32":  # FF FE 00 00 may be UTF-16LE starting with U+0000
                    return None
    return None


def as_declared(data: bytes, label: str | None) -> str | None:
    """``data`` decoded with the charset ``label`` names; None when the label is unknown or
    the bytes are not valid in it."""
    name = codec(label)
    if name is None:
        return None
    try:
        return data.decode(name)
    except UnicodeDecodeError:
        return None


def guess(data: bytes) -> str | None:
    """``data`` as UTF-8 (BOM or not; a partial last character dropped, see ``utf8``), or as
    GB18030 when it plausibly is Chinese; None when it is neither (binary, or text in an
    encoding chatcli does not guess)."""
    read = utf8(data)
    return read[0] if read is not None else gb18030(data)


def utf8(data: bytes) -> tuple[str, bool] | None:
    """``data`` as UTF-8 (BOM or not) and whether a partial last character was dropped (the
    input was cut in the middle of it); None when it is not UTF-8."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError as exc:
        # the first invalid byte opens an unfinished character at the very end: all before
        # it is valid UTF-8 (the decoder stops at the first error)
        if exc.reason != "unexpected end of data" or exc.end != len(data):
            return None
        cut = exc.start
    kept = data[:cut]
    if len(data) - cut < 2 and kept.isascii():
        return None  # ASCII and one stray byte: Latin-1 as likely as cut UTF-8
    return kept.decode("utf-8"), True


def gb18030(data: bytes) -> str | None:
    """``data`` as GB18030 when it decodes and plausibly is Chinese, else None."""
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return None
    return text if plausible_gb18030(text, data) else None


def plausible_gb18030(text: str, data: bytes) -> bool:
    """Whether ``text`` (``data`` decoded as GB18030) reads as Chinese rather than as Latin-1
    (or another single-byte encoding) taken for GB18030."""
    wide = [m.group() for m in islice(_NON_ASCII.finditer(text), _SAMPLE)]
    if not wide:
        return True
    if any(_private(ch) for ch in wide):
        return False
    cjk = sum(1 for ch in wide if _cjk(ch))
    if cjk * 2 < len(wide):
        return False
    return not reads_as_latin(data)


def reads_as_latin(data: bytes) -> bool:
    """Whether ``data`` is cp1252 (or Latin-1) text of a Latin-script language: its non-ASCII
    characters are mostly letters, and those letters mostly sit inside ASCII words (``ü`` in
    ``München``); Chinese bytes read as cp1252 give runs of symbols and letters on their own."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    letters = inside = others = 0
    for match in islice(_NON_ASCII.finditer(text), _SAMPLE):
        ch, at = match.group(), match.start()
        if not ch.isalpha():
            others += 1
            continue
        letters += 1
        before = text[at - 1] if at else " "
        after = text[at + 1] if at + 1 < len(text) else " "
        if _ascii_letter(before) or _ascii_letter(after):
            inside += 1
    if not letters:
        return False
    return letters * 10 >= (letters + others) * 6 and inside * 2 >= letters


def _ascii_letter(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def _private(ch: str) -> bool:
    code = ord(ch)
    return 0xE000 <= code <= 0xF8FF or code >= 0xF0000


def _cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x3000 <= code <= 0x30FF  # CJK symbols and punctuation, hiragana, katakana
        or 0x3100 <= code <= 0x312F  # bopomofo
        or 0x3200 <= code <= 0x33FF  # enclosed CJK, compatibility
        or 0x3400 <= code <= 0x4DBF  # extension A
        or 0x4E00 <= code <= 0x9FFF  # unified ideographs
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0xFE30 <= code <= 0xFE4F  # compatibility forms
        or 0xFF00 <= code <= 0xFFEF  # fullwidth and halfwidth forms
        or 0x20000 <= code <= 0x3FFFF  # extensions B and later
        or 0x2000 <= code <= 0x206F  # general punctuation: “”‘’…— in Chinese text
    )
