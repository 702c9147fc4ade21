"""Token counting: exact from the bundled tables, never a download; a sane fast estimate."""

from __future__ import annotations

import base64
import gzip
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from chatcli import tokens
from chatcli.tokens import TokenCount, count_messages, count_text, estimate, exact_available


@pytest.fixture(autouse=True)
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point tiktoken at an empty cache dir of our own: tests never see a real cache."""
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    return cache


def test_estimate_english_is_close_and_not_low() -> None:
    # cl100k and o200k both count this sentence as 10 tokens.
    n = estimate("The quick brown fox jumps over the lazy dog.")
    assert 10 <= n <= 13


def test_estimate_counts_cjk_characters_one_each() -> None:
    assert estimate("你好世界") == 4
    assert estimate("こんにちは") == 5
    assert estimate("안녕하세요") == 5
    # punctuation and mixed text add up rather than collapsing
    assert estimate("你好，world！") == 2 + 1 + 1 + 1


def test_estimate_numbers_whitespace_and_empty() -> None:
    assert estimate("") == 0
    assert estimate("1234567") == 3  # digits go in groups of three
    assert estimate("a\n\n\nb") == 3  # a run of line breaks is one token
    assert estimate("x" * 400) >= 100  # never below one token per 4 characters


def test_estimate_is_fast_on_100_kb() -> None:
    text = ("Some English prose, with code: `x = f(y) + 42`. 还有中文内容。\n" * 2000)[:100_000]
    started = time.perf_counter()
    count = count_text(text, None)
    elapsed = time.perf_counter() - started
    assert count.exact is False and count.n > 20_000
    assert elapsed < 0.25, f"estimating 100 KB took {elapsed * 1000:.0f} ms"


def test_bundled_tables_count_exactly_with_no_cache_and_no_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts: list[object] = []

    def no_connect(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr("socket.getaddrinfo", no_connect)
    monkeypatch.setattr("socket.create_connection", no_connect)
    monkeypatch.setattr(tokens, "_ENCODINGS", {})
    assert exact_available("cl100k_base") is True
    assert exact_available("o200k_base") is True
    # published tiktoken counts: "hello world" is 2 tokens in both, "你好" 1 in o200k, 1 in cl100k
    assert count_text("hello world", "o200k_base") == TokenCount(2, True)
    assert count_text("The quick brown fox jumps over the lazy dog.", "cl100k_base").n == 10
    assert attempts == []


def test_a_table_that_is_not_the_published_file_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cl100k_base.tiktoken.gz").write_bytes(gzip.compress(b"aGk= 0\n"))
    monkeypatch.setattr(tokens, "bundle_dir", lambda: tmp_path)
    monkeypatch.setattr(tokens, "_ENCODINGS", {})
    assert exact_available("cl100k_base") is False
    assert "not the file OpenAI publishes" in tokens.unavailable_reason("cl100k_base", "gpt-4")
    assert count_text("hi", "cl100k_base").exact is False


def test_without_tiktoken_everything_is_estimated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # import tiktoken -> ImportError
    assert exact_available("some_plugin_encoding") is False
    assert count_text("你好", "some_plugin_encoding") == TokenCount(2, exact=False)


def test_plugin_encoding_from_local_files_counts_exactly(tmp_path: Path) -> None:
    """A tiktoken_ext plugin that builds its encoding from a local file is used, exactly."""
    pytest.importorskip("tiktoken")
    ranks = [bytes([b]) for b in range(256)] + [b"he", b"\xe4\xbd\xa0"]  # "he" and "你" merge
    bpe = tmp_path / "tiny.tiktoken"
    bpe.write_bytes(b"".join(base64.b64encode(t) + b" %d\n" % i for i, t in enumerate(ranks)))
    plugin = tmp_path / "plugins" / "tiktoken_ext"
    plugin.mkdir(parents=True)
    (plugin / "chatcli_test_tiny.py").write_text(
        "from tiktoken.load import load_tiktoken_bpe\n"
        "def tiny():\n"
        f"    ranks = load_tiktoken_bpe({str(bpe)!r})\n"
        "    return {'name': 'tiny', 'pat_str': r'\\S+|\\s+', 'mergeable_ranks': ranks,\n"
        "            'special_tokens': {}}\n"
        "ENCODING_CONSTRUCTORS = {'tiny': tiny}\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(plugin.parent), *sys.path]))
    code = (
        "from chatcli.tokens import count_text, exact_available\n"
        "print(exact_available('tiny'), count_text('hello', 'tiny'), count_text('你', 'tiny'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("TokenCount")[0].strip() == "True"
    assert "TokenCount(n=4, exact=True)" in out.stdout  # he, l, l, o
    assert out.stdout.strip().endswith("TokenCount(n=1, exact=True)")


def test_count_messages_adds_openai_framing() -> None:
    # 3 priming + per message (3 framing + role + content)
    one = [{"role": "user", "content": "hi"}]
    assert count_messages(one, None) == TokenCount(3 + 3 + 1 + 1, exact=False)
    two = [{"role": "system", "content": "hi"}, {"role": "user", "content": "你好"}]
    assert count_messages(two, None).n == 3 + (3 + estimate("system") + 1) + (3 + 1 + 2)
    named = [{"role": "user", "name": "bob", "content": "hi"}]
    assert count_messages(named, None).n == count_messages(one, None).n + 1 + 1


def test_count_messages_prices_images_at_a_fixed_estimate() -> None:
    def image(detail: str | None) -> list[dict[str, Any]]:
        url: dict[str, str] = {"url": "data:image/png;base64," + "A" * 10_000}
        if detail:
            url["detail"] = detail
        parts = [{"type": "text", "text": "what is this"}, {"type": "image_url", "image_url": url}]
        return [{"role": "user", "content": parts}]

    base = count_messages([{"role": "user", "content": "what is this"}], None).n
    assert count_messages(image("low"), None).n == base + tokens.IMAGE_TOKENS_LOW
    assert count_messages(image(None), None).n == base + tokens.IMAGE_TOKENS_HIGH
    assert count_messages(image("low"), None).exact is False


SAMPLES = [
    "The quick brown fox jumps over the lazy dog.",
    "你好，世界！这是一个测试。混合 English 和中文。",
    "こんにちは世界 안녕하세요 Привет мир مرحبا",
    "def f(x):\n    return x ** 2  # 🚀 emoji 👩‍💻\n\n\n\t tabs",
    "1234567890 3.14159 1e-9 $0.00003 <|endoftext|> literal specials",
    "   leading spaces and trailing   \n",
]


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_the_rust_tokenizer_counts_like_tiktoken_on_the_published_table(name: str) -> None:
    """Counting uses bpe-openai's Rust tokenizer for speed; it must agree with tiktoken built
    from the SHA-256-checked table, token for token."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    rust = tokens._load_rust(name)
    reference = tokens._load_bundled(name, tokens.BUNDLED[name])
    assert rust is not None and reference is not None
    for text in SAMPLES:
        assert len(rust.encode_ordinary(text)) == len(reference.encode_ordinary(text)), text

    @settings(deadline=None)
    @given(st.text(max_size=200))
    def agree(text: str) -> None:
        assert len(rust.encode_ordinary(text)) == len(reference.encode_ordinary(text))

    agree()


def test_counting_loads_neither_the_package_nor_tiktoken() -> None:
    code = (
        "import sys, time\n"
        "t = time.perf_counter()\n"
        "from chatcli.tokens import count_text\n"
        "assert count_text('hello world', 'o200k_base').exact\n"
        "print(sorted(m for m in ('bpe_openai', 'tiktoken') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
