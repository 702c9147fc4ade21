"""``ask -x``: the fenced code of an answer, for ``$(chatcli ask -x "...")`` and ``| python``.

Fences are found wherever Markdown puts them (top level, block quotes, list items, nested), by
the same CommonMark parser the renderer uses, so a block is extracted exactly when it is shown
as one; the parser strips the container's markers and indentation (``> `` of a quote, the three
spaces of a list item), so the code comes out as it runs.
"""

from __future__ import annotations


def code_blocks(answer: str) -> list[str]:
    """The contents of every fenced code block (``` or ~~~), in order, fences removed.

    A block the answer leaves open (cut at the token limit) counts up to the end of its
    container (of the answer, at top level). Each block ends with a newline."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark")
    parser.disable("inline")
    blocks = [token.content for token in parser.parse(answer) if token.type == "fence"]
    return [b if b.endswith("\n") or not b else b + "\n" for b in blocks]
