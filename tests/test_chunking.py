"""``chunking.split_text``: boundaries, sizes and that no character is ever lost."""

from __future__ import annotations

import pytest

from chatcli.features.summarize.split import split_text
from chatcli.tokens import count_text


def words(text: str) -> int:
    return len(text.split())


def est(text: str) -> int:
    return count_text(text, None).n


PARAS = [f"Paragraph {i} has a few words in it, numbered {i}." for i in range(12)]


def test_whole_paragraphs_packed_up_to_the_limit() -> None:
    text = "\n\n".join(PARAS) + "\n"
    chunks = split_text(text, 30, words)
    assert "".join(chunks) == text
    assert all(words(c) <= 30 for c in chunks)
    # each paragraph has 9 words: three fit in 30, four do not
    assert [c.count("Paragraph") for c in chunks] == [3, 3, 3, 3]
    for chunk in chunks:
        assert chunk.startswith("Paragraph")
        assert chunk.rstrip("\n").endswith(".")


def test_fitting_text_is_one_chunk() -> None:
    text = "\n\n".join(PARAS)
    assert split_text(text, 10_000, words) == [text]
    assert split_text("", 10, words) == []


def test_blank_lines_with_spaces_and_crlf_still_separate_paragraphs() -> None:
    text = "one two three\r\n \r\nfour five six\n\t\n\nseven eight nine"
    chunks = split_text(text, 3, words)
    assert chunks == ["one two three\r\n \r\n", "four five six\n\t\n\n", "seven eight nine"]


def test_long_paragraph_splits_on_sentences() -> None:
    long = " ".join(f"Sentence {i} is here!" for i in range(10))
    text = f"Short intro.\n\n{long}\n\nShort outro."
    chunks = split_text(text, 8, words)
    assert "".join(chunks) == text
    assert chunks[0] == "Short intro.\n\n"
    assert chunks[-1] == "Short outro."
    middle = chunks[1:-1]
    assert all(c.rstrip().endswith("here!") for c in middle)
    assert all(words(c) <= 8 for c in chunks)


def test_chinese_without_spaces_splits_on_chinese_punctuation() -> None:
    sentence = "这是一个没有空格的中文句子，用来测试分块。"
    para = sentence * 20 + "真的吗？" + "是的！" * 5
    text = para + "\n\n" + para
    limit = est(sentence) * 3
    chunks = split_text(text, limit, est)
    assert "".join(chunks) == text
    assert len(chunks) > 4
    for chunk in chunks:
        assert est(chunk) <= limit
        assert chunk.rstrip()[-1] in "。！？"


def test_unbroken_run_is_hard_split_as_a_last_resort() -> None:
    run = "字" * 500
    chunks = split_text(f"开始。\n\n{run}\n\n结束。", 64, est)
    assert "".join(chunks) == f"开始。\n\n{run}\n\n结束。"
    assert all(est(c) <= 64 for c in chunks)
    assert len(chunks) >= 500 // 64 + 2


def test_one_long_word_and_words_level() -> None:
    text = "alpha beta gamma delta " * 5 + "x" * 400
    chunks = split_text(text, 20, est)
    assert "".join(chunks) == text
    assert all(est(c) <= 20 for c in chunks)
    assert chunks[0].startswith("alpha beta")


def test_real_token_counts_respected_on_mixed_text() -> None:
    blocks = []
    for i in range(40):
        blocks.append(f"## Section {i}\n\nSome English prose about item {i}, with numbers 12345.")
        blocks.append("中文段落：流式输出需要保持稳定。中英文 mixed 混排也不能乱码！" * (i % 4 + 1))
    text = "\n\n".join(blocks)
    for limit in (16, 50, 200):
        chunks = split_text(text, limit, est)
        assert "".join(chunks) == text
        assert all(est(c) <= limit for c in chunks), limit


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        split_text("x", 0, words)
