"""``ask -x``: the fenced code of an answer, for ``$(chatcli ask -x "...")``."""

from __future__ import annotations

import re

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})[^\n]*\n(.*?)^ {0,3}\1[`~]*[ \t]*$", re.M | re.S)


def code_blocks(answer: str) -> list[str]:
    """The contents of every fenced code block (``` or ~~~), in order, fences removed.

    A block the answer leaves open (cut at the token limit) counts up to the end."""
    blocks = [m.group(2) for m in _FENCE.finditer(answer)]
    closed_end = max((m.end() for m in _FENCE.finditer(answer)), default=0)
    rest = re.search(r"^ {0,3}(`{3,}|~{3,})[^\n]*\n(.*)", answer[closed_end:], re.M | re.S)
    if rest:
        blocks.append(rest.group(2))
    return [b if b.endswith("\n") or not b else b + "\n" for b in blocks]
