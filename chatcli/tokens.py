"""Token counting that is exact for OpenAI's models with no network, and an estimate otherwise.

The cl100k_base and o200k_base BPE tables ship inside the ``bpe-openai`` wheel, both compiled
into its Rust tokenizer and as gzip'd files byte-identical to OpenAI's published ones. Counting
uses the Rust tokenizer, loaded straight from the wheel's extension module (about 0.05 s; the
package's Python layer, which costs 0.7 s to import, is never imported). Where that extension
cannot load, the gzip'd table is read (its SHA-256 checked against OpenAI's file) and handed to
``tiktoken.Encoding`` (0.3-0.9 s to build). Both are built on first use, once per process;
nothing is downloaded and nothing is read from tiktoken's cache; a test checks that the two
count alike. Other encoding names (a ``tokenizer`` set
in ``[models."NAME"]``) are built by tiktoken from local files only: its downloader is swapped
for one that refuses URLs while it builds them. A model whose tokenizer is unknown gets a fast,
slightly generous estimate, marked ``exact=False``.

Chat framing (``count_messages``) follows OpenAI's published formula for the gpt-3.5-turbo-0613,
gpt-4, gpt-4-turbo, gpt-4o and later chat models (openai-cookbook, "How to count tokens with
tiktoken", ``num_tokens_from_messages``)::

    prompt_tokens = 3                      # reply priming <|start|>assistant<|message|>
                  + sum over messages of (
                        3                            # <|start|>{role}\\n ... <|end|>
                        + tokens(every string field: role, content, name)
                        + 1 if the message has a name)

It reproduces ``usage.prompt_tokens`` of the API for text messages exactly; images and tool
schemas are estimated (their accounting is not published token for token).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatcli.events import Message

TOKENS_PER_MESSAGE = 3
"""Framing tokens of every message in a chat request (``<|start|>{role}\\n...<|end|>``)."""

TOKENS_PER_NAME = 1
"""A message's ``name`` field costs one token more than its text."""

REPLY_PRIMING = 3
"""Tokens every request spends priming the reply (``<|start|>assistant<|message|>``)."""

IMAGE_TOKENS_LOW = 85
IMAGE_TOKENS_HIGH = 765
"""A vision input costs 85 tokens at ``detail: low``; 765 is a 1024x1024 image at high detail."""

BUNDLE_PACKAGE = "bpe_openai"
"""The wheel whose ``data/`` directory holds the gzip'd tables (``pip install bpe-openai``)."""

_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"""
        r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"""
        r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)


@dataclass(frozen=True)
class Bundled:
    """How to build one encoding from a bundled table (pattern and specials as in tiktoken)."""

    sha256: str
    pat_str: str
    special_tokens: Mapping[str, int]


BUNDLED: dict[str, Bundled] = {
    "cl100k_base": Bundled(
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        _CL100K_PAT,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
    "o200k_base": Bundled(
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        _O200K_PAT,
        {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    ),
}
"""The encodings of every OpenAI chat model since gpt-3.5-turbo, with the SHA-256 of the table
OpenAI publishes (the same hash tiktoken checks after a download)."""


@dataclass(frozen=True, slots=True)
class TokenCount:
    """A token count, and whether it came from the model's real tokenizer."""

    n: int
    exact: bool

    def __add__(self, other: TokenCount) -> TokenCount:
        return TokenCount(self.n + other.n, self.exact and other.exact)


def bundle_dir() -> Path | None:
    """``bpe_openai/data`` of the installed wheel, found without importing the package."""
    try:
        spec = importlib.util.find_spec(BUNDLE_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        data = Path(location) / "data"
        if data.is_dir():
            return data
    return None


def _ranks(name: str, bundled: Bundled) -> dict[bytes, int] | None:
    """The mergeable ranks of a bundled table, or None when missing or not the published file."""
    directory = bundle_dir()
    if directory is None:
        return None
    try:
        raw = gzip.decompress((directory / f"{name}.tiktoken.gz").read_bytes())
    except (OSError, EOFError):
        return None
    if hashlib.sha256(raw).hexdigest() != bundled.sha256:
        return None
    fields = raw.split()  # "<base64 token> <rank>" per line
    return dict(zip(map(base64.b64decode, fields[0::2]), map(int, fields[1::2]), strict=True))


class _RustCounter:
    """bpe-openai's Rust tokenizer behind the one method this module calls."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    def encode_ordinary(self, text: str) -> list[int]:
        return list(self._tokenizer.encode(text))


def _load_rust(name: str) -> _RustCounter | None:
    """The Rust tokenizer for a bundled encoding, from the wheel's extension module loaded by
    path (so ``bpe_openai/__init__.py`` and its slow imports never run), or None."""
    import importlib.machinery

    directory = bundle_dir()
    if directory is None:
        return None
    for path in sorted(directory.parent.glob("_bindings*")):
        if not path.name.endswith((".so", ".pyd")):
            continue
        try:
            loader = importlib.machinery.ExtensionFileLoader("bpe_openai._bindings", str(path))
            spec = importlib.util.spec_from_file_location(
                "bpe_openai._bindings", path, loader=loader
            )
            if spec is None:
                return None
            module = importlib.util.module_from_spec(spec)
            loader.exec_module(module)
            return _RustCounter(module.tokenizer_for_encoding(name))
        except Exception:  # a wheel for another platform or API: fall back to tiktoken
            return None
    return None


def _load_bundled(name: str, bundled: Bundled) -> Any:
    try:
        import tiktoken
    except ImportError:
        return None
    ranks = _ranks(name, bundled)
    if ranks is None:
        return None
    return tiktoken.Encoding(
        name,
        pat_str=bundled.pat_str,
        mergeable_ranks=ranks,
        special_tokens=dict(bundled.special_tokens),
    )


class _DownloadRefused(Exception):
    """Raised in place of a tiktoken download: counting must never touch the network."""


def _load_local(name: str) -> Any:
    """Build a non-bundled tiktoken encoding (a plugin's) from local files only, or None."""
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
    except Exception:  # unknown name, a file that would need a download, broken plugin: estimate
        return None
    finally:
        tiktoken.load.read_file = real_read


_LOCK = threading.Lock()
_ENCODINGS: dict[str, Any] = {}  # encoding name -> tiktoken Encoding | None


def _encoding(name: str | None) -> Any:
    """The tiktoken Encoding for ``name`` if it can be built offline, else None; cached."""
    if name is None:
        return None
    with _LOCK:
        if name not in _ENCODINGS:
            bundled = BUNDLED.get(name)
            if bundled is None:
                _ENCODINGS[name] = _load_local(name)
            else:
                _ENCODINGS[name] = _load_rust(name) or _load_bundled(name, bundled)
        return _ENCODINGS[name]


def loaded(encoding: str | None) -> bool:
    """True when the exact tokenizer for ``encoding`` is already built in this process, so an
    exact count costs nothing more than an estimate."""
    with _LOCK:
        return _ENCODINGS.get(encoding or "") is not None


def exact_available(encoding: str | None) -> bool:
    """True when counts with ``encoding`` will be exact on this machine."""
    return _encoding(encoding) is not None


def unavailable_reason(encoding: str | None, model: str) -> str:
    """Why counts for ``model`` (tokenizer ``encoding``) are estimates here, in one sentence."""
    if encoding is None:
        return (
            f"no tokenizer is known for {model}; set tokenizer in "
            f'[models."{model}"] (e.g. "o200k_base") to count its tokens exactly'
        )
    if encoding in BUNDLED:
        if bundle_dir() is None:
            return f"the {encoding} table ships in bpe-openai, which is not installed"
        if importlib.util.find_spec("tiktoken") is None:
            return "bpe-openai's tokenizer did not load and tiktoken is not installed"
        return f"the bundled {encoding} table is missing or not the file OpenAI publishes"
    if importlib.util.find_spec("tiktoken") is None:
        return f"tiktoken is not installed, so {encoding} cannot count exactly"
    return (
        f"{encoding} is not one of the bundled tables ({', '.join(BUNDLED)}) and tiktoken "
        "cannot build it from local files"
    )


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


_PIECE = 1 << 20
"""Characters counted at a time when a ``limit`` may stop a count early."""
_CUT = re.compile(r"\n(?=\S)")


def _pieces(text: str) -> Iterable[str]:
    """``text`` in pieces of about ``_PIECE`` characters, each cut just after a line break
    followed by a non-space, where GPT tokenizers split anyway, so the pieces' counts add up
    to the whole's."""
    start = 0
    while start < len(text):
        end = min(start + _PIECE, len(text))
        if end < len(text):
            cuts = list(_CUT.finditer(text, start + _PIECE // 2, end))
            if cuts:
                end = cuts[-1].end()
        yield text[start:end]
        start = end


def count_text(text: str, encoding: str | None, *, limit: int | None = None) -> TokenCount:
    """Tokens in ``text``: exact with a locally available encoding, else estimated. With a
    ``limit``, a long text is counted piece by piece and the count stops once it passes the
    limit (the rest extrapolated, marked inexact): refusing 20 MB that cannot fit a window
    costs a fraction of counting it all, in time and memory."""
    if limit is not None and len(text) > _PIECE and len(text.encode("utf-8")) > limit:
        return _count_until(text, encoding, limit)
    enc = _encoding(encoding)
    if enc is None:
        return TokenCount(estimate(text), exact=False)
    try:
        return TokenCount(len(enc.encode_ordinary(text)), exact=True)
    except UnicodeEncodeError:  # half a surrogate pair (a server's JSON can hold one)
        whole = text.encode("utf-8", "replace").decode("utf-8")  # counted as a "?"
        return TokenCount(len(enc.encode_ordinary(whole)), exact=True)


def _count_until(text: str, encoding: str | None, limit: int) -> TokenCount:
    """``count_text`` piece by piece, stopping once past ``limit``."""
    total, done = TokenCount(0, exact=True), 0
    for piece in _pieces(text):
        total += count_text(piece, encoding)
        done += len(piece)
        if total.n > limit and done < len(text):
            return TokenCount(max(total.n, total.n * len(text) // done), exact=False)
    return total


def count_json(value: Any, encoding: str | None) -> TokenCount:
    """Tokens of a JSON value as a request carries it (tool definitions, a call's id, name and
    arguments, a schema): its text counted by the tokenizer, marked an estimate, as the
    endpoint's own rendering of it is not published token for token."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return TokenCount(count_text(text, encoding).n, exact=False)


def _count_parts(
    parts: Iterable[Mapping[str, Any]], encoding: str | None, limit: int | None = None
) -> TokenCount:
    """Tokens of a multi-part content list: text parts counted, images at a fixed estimate."""
    total = TokenCount(0, exact=True)
    for part in parts:
        kind = part.get("type")
        if kind == "text":
            left = None if limit is None else max(limit - total.n, 0)
            total += count_text(str(part.get("text", "")), encoding, limit=left)
        elif kind == "image_url":
            image = part.get("image_url")
            low = isinstance(image, Mapping) and image.get("detail") == "low"
            total += TokenCount(IMAGE_TOKENS_LOW if low else IMAGE_TOKENS_HIGH, exact=False)
        else:
            total += TokenCount(estimate(json.dumps(part, ensure_ascii=False)), exact=False)
    return total


def count_message(
    message: Message, encoding: str | None, *, limit: int | None = None
) -> TokenCount:
    """Tokens one message adds to a request: its framing, role, content and name, and the
    tool calls an assistant message carries (their JSON, as sent). ``limit``: the budget it
    is checked against; a count past it may stop early (``count_text``)."""
    total = TokenCount(TOKENS_PER_MESSAGE, exact=True)
    for key, value in message.items():
        left = None if limit is None else max(limit - total.n, 0)
        if isinstance(value, str):
            total += count_text(value, encoding, limit=left)
        elif key == "tool_calls" and isinstance(value, list):
            total += count_json(value, encoding)
        elif isinstance(value, list):
            total += _count_parts(value, encoding, left)
        if key == "name":
            total += TokenCount(TOKENS_PER_NAME, exact=True)
    return total


def count_messages(messages: list[Message], encoding: str | None) -> TokenCount:
    """Prompt tokens of a chat request, as OpenAI bills them (messages plus reply priming)."""
    total = TokenCount(REPLY_PRIMING, exact=True)
    for message in messages:
        total += count_message(message, encoding)
    return total
