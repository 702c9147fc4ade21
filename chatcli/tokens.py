"""Token counting that works offline and never waits on the network.

Counts are exact only when a tiktoken encoding can be built from files already on this machine:
tiktoken fetches its BPE files over HTTP on first use (``requests.get`` with no timeout), which
would hang or fail behind a firewall. So before tiktoken is asked for an encoding we look for its
cached file ourselves, and while it builds one, its downloader is swapped for one that refuses
URLs. Everything else is estimated with a fast, slightly generous segmentation heuristic, good
enough to trim a history to a context window and to price a request whose usage went unreported.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chatcli.events import Message

TOKENS_PER_MESSAGE = 3
"""OpenAI's framing overhead for every message in a chat request (``<|start|>role...<|end|>``)."""

REPLY_PRIMING = 3
"""Tokens every request spends priming the reply (``<|start|>assistant<|message|>``)."""

IMAGE_TOKENS_LOW = 85
IMAGE_TOKENS_HIGH = 765
"""A vision input costs 85 tokens at ``detail: low``; 765 is a 1024x1024 image at high detail."""


@dataclass(frozen=True, slots=True)
class TokenCount:
    """A token count, and whether it came from the model's real tokenizer."""

    n: int
    exact: bool

    def __add__(self, other: TokenCount) -> TokenCount:
        return TokenCount(self.n + other.n, self.exact and other.exact)


_BLOB = "https://openaipublic.blob.core.windows.net/"
_KNOWN_FILES: dict[str, tuple[str, ...]] = {
    "o200k_base": (_BLOB + "encodings/o200k_base.tiktoken",),
    "o200k_harmony": (_BLOB + "encodings/o200k_base.tiktoken",),
    "cl100k_base": (_BLOB + "encodings/cl100k_base.tiktoken",),
    "p50k_base": (_BLOB + "encodings/p50k_base.tiktoken",),
    "p50k_edit": (_BLOB + "encodings/p50k_base.tiktoken",),
    "r50k_base": (_BLOB + "encodings/r50k_base.tiktoken",),
    "gpt2": (
        _BLOB + "gpt-2/encodings/main/vocab.bpe",
        _BLOB + "gpt-2/encodings/main/encoder.json",
    ),
}
"""The files tiktoken's own plugin downloads per encoding, so a missing cache is seen up front."""


def tiktoken_cache_dir() -> str:
    """Where tiktoken keeps downloaded files, resolved exactly as ``tiktoken.load`` does."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        return os.environ["TIKTOKEN_CACHE_DIR"]
    if "DATA_GYM_CACHE_DIR" in os.environ:
        return os.environ["DATA_GYM_CACHE_DIR"]
    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


def _cached(url: str, cache_dir: str) -> bool:
    """True when tiktoken would read ``url`` from its cache (file named sha1 of the URL)."""
    if not cache_dir:  # tiktoken treats "" as "caching disabled": it would always download
        return False
    return os.path.isfile(os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest()))


class _DownloadRefused(Exception):
    """Raised in place of a tiktoken download: counting must never touch the network."""


_LOCK = threading.Lock()
_ENCODINGS: dict[tuple[str, str], Any] = {}  # (encoding, cache dir) -> tiktoken Encoding | None


def _load_offline(name: str) -> Any:
    """Build the tiktoken encoding ``name`` from local files only, or return None."""
    try:
        import tiktoken
        import tiktoken.load
    except ImportError:
        return None
    real_read = tiktoken.load.read_file

    def read_local(blobpath: str) -> bytes:
        if "://" in blobpath:
            raise _DownloadRefused(blobpath)
        return real_read(blobpath)

    tiktoken.load.read_file = read_local
    try:
        return tiktoken.get_encoding(name)
    except Exception:  # missing cache, unknown name, broken plugin: all mean "estimate instead"
        return None
    finally:
        tiktoken.load.read_file = real_read


def _encoding(name: str | None) -> Any:
    """The tiktoken Encoding for ``name`` if usable offline, else None; cached per process."""
    if name is None:
        return None
    cache_dir = tiktoken_cache_dir()
    key = (name, cache_dir)
    with _LOCK:
        if key not in _ENCODINGS:
            files = _KNOWN_FILES.get(name)
            if files is not None and not all(_cached(url, cache_dir) for url in files):
                _ENCODINGS[key] = None
            else:
                _ENCODINGS[key] = _load_offline(name)
        return _ENCODINGS[key]


def exact_available(encoding: str | None) -> bool:
    """True when counts with ``encoding`` will be exact (its files are on this machine)."""
    return _encoding(encoding) is not None


_CJK_RANGES = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    "\uac00-\ud7af"  # hangul syllables
    "\uff66-\uff9f"  # half-width katakana
    "\U00020000-\U0003134f"  # CJK extensions B-H
)
_CJK_RUN = re.compile(f"[{_CJK_RANGES}]+")
_ASCII_WORD = re.compile(r"[A-Za-z]+")
_OTHER_WORD = re.compile(rf"[^\W\d_A-Za-z{_CJK_RANGES}]+")
_NUMBER = re.compile(r"\d+")
_SYMBOL = re.compile(r"[^\w\s]|_")
_EMOJI = re.compile("[\U0001f000-\U0001faff]")
_WHITESPACE = re.compile(r"\n\s*|[^\S\n]{2,}")


def estimate(text: str) -> int:
    """A quick, slightly high guess of the token count, for when no tokenizer is at hand.

    One token per CJK character; English words of up to 6 letters count 1, longer ones one more
    per 6 letters; other alphabets one per 2 letters; digits in groups of 3 (as GPT tokenizers
    split them); each symbol 1 (emoji 3); each line break or run of spaces 1. Never less than
    one token per 4 characters.
    """
    if not text:
        return 0
    n = sum((len(w) + 5) // 6 for w in _ASCII_WORD.findall(text))
    n += sum((len(d) + 2) // 3 for d in _NUMBER.findall(text))
    n += len(_SYMBOL.findall(text)) + len(_WHITESPACE.findall(text))
    if not text.isascii():
        n += sum(map(len, _CJK_RUN.findall(text))) + 2 * len(_EMOJI.findall(text))
        n += sum((len(w) + 1) // 2 for w in _OTHER_WORD.findall(text))
    return max(n, (len(text) + 3) // 4)


def count_text(text: str, encoding: str | None) -> TokenCount:
    """Tokens in ``text``: exact with a locally available encoding, else estimated."""
    enc = _encoding(encoding)
    if enc is None:
        return TokenCount(estimate(text), exact=False)
    return TokenCount(len(enc.encode_ordinary(text)), exact=True)


def _count_parts(parts: Iterable[Mapping[str, Any]], encoding: str | None) -> TokenCount:
    """Tokens of a multi-part content list: text parts counted, images at a fixed estimate."""
    total = TokenCount(0, exact=True)
    for part in parts:
        kind = part.get("type")
        if kind == "text":
            total += count_text(str(part.get("text", "")), encoding)
        elif kind == "image_url":
            image = part.get("image_url")
            low = isinstance(image, Mapping) and image.get("detail") == "low"
            total += TokenCount(IMAGE_TOKENS_LOW if low else IMAGE_TOKENS_HIGH, exact=False)
        else:
            total += TokenCount(estimate(json.dumps(part, ensure_ascii=False)), exact=False)
    return total


def count_message(message: Message, encoding: str | None) -> TokenCount:
    """Tokens one message adds to a request: its framing, role, content and name."""
    total = TokenCount(TOKENS_PER_MESSAGE, exact=True)
    for key, value in message.items():
        if isinstance(value, str):
            total += count_text(value, encoding)
        elif isinstance(value, list):
            total += _count_parts(value, encoding)
        if key == "name":
            total += TokenCount(1, exact=True)
    return total


def count_messages(messages: list[Message], encoding: str | None) -> TokenCount:
    """Prompt tokens of a chat request, as OpenAI bills them (messages plus reply priming)."""
    total = TokenCount(REPLY_PRIMING, exact=True)
    for message in messages:
        total += count_message(message, encoding)
    return total
