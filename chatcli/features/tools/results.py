"""Tool calls as people and models read them: the compact line, the approval card, the cut.

Everything shown comes from a model (arguments) or a server (results), so it is sanitised here
before it reaches the terminal; long values are folded so a card fits on a screen.
"""

from __future__ import annotations

import json
import re
from typing import Any

from chatcli.safetext import one_line, sanitize
from chatcli.tokens import count_text

FOLD = 300
"""A string value longer than this is shown folded on the approval card."""
CARD_LINES = 40
"""At most this many lines of arguments on the approval card."""
VIEW = "; v shows the whole call"
"""What a fold or cut on a terminal's card adds: the question's ``v`` key prints it all."""


_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
"""A UTF-16 surrogate left in decoded text has lost its pair (``json.loads`` joins pairs)."""


def parse_arguments(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The call's arguments as an object, or None and why not (sent back to the model).

    Half of a surrogate pair (``"\\ud83d"``: an emoji cut in two by a model or relay) is
    valid JSON but no Unicode text: sent on, it kills a stdio server's connection (its
    encoder fails). It is replaced by U+FFFD, so what is shown and run is the same text."""
    if not text.strip():
        return {}, None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        at = "" if exc.msg.endswith(" at") else " at"  # "Unterminated string starting at"
        return None, f"the arguments are not valid JSON ({exc.msg}{at} character {exc.pos})"
    except RecursionError:
        return None, "the arguments are nested too deeply"
    if not isinstance(value, dict):
        return None, "the arguments must be a JSON object"
    if _LONE_SURROGATE.search(text) or "\\u" in text:
        try:
            value = _whole_characters(value)
        except RecursionError:
            return None, "the arguments are nested too deeply"
    return value, None


def _whole_characters(value: Any) -> Any:
    """``value`` with each lone surrogate in its strings (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_whole_characters(k): _whole_characters(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_characters(v) for v in value]
    return value


def compact(arguments: str, limit: int = 80) -> str:
    """The arguments on one line, for the line shown per call."""
    value, _ = parse_arguments(arguments)
    text = json.dumps(value, ensure_ascii=False) if value is not None else arguments
    return one_line(text, limit)


def _fold(value: Any, view: str = "") -> Any:
    if isinstance(value, str) and len(value) > FOLD:
        return f"{value[:FOLD]}… ({len(value) - FOLD:,} more characters{view})"
    if isinstance(value, dict):
        return {k: _fold(v, view) for k, v in value.items()}
    if isinstance(value, list):
        return [_fold(v, view) for v in value]
    return value


def heading(qualified: str, hint: str) -> str:
    """``⚙ the model wants to run time.get_current_time  [read-only]``."""
    mark = f"  [{hint}]" if hint else ""
    return f"⚙ the model wants to run {one_line(qualified, 100)}{mark}"


def argument_lines(arguments: str, *, fold: bool = True, view: str = "") -> list[str]:
    """The arguments as pretty JSON lines, sanitised (the text as sent when it is not a JSON
    object); long string values folded unless ``fold`` is False (``view``: what the fold's
    note adds)."""
    value, _ = parse_arguments(arguments)
    if value is None:
        body = arguments
    else:
        body = json.dumps(_fold(value, view) if fold else value, ensure_ascii=False, indent=2)
    return [sanitize(line) for line in body.splitlines()] or ["{}"]


def card(
    qualified: str, arguments: str, hint: str, *, rows: int | None = None, columns: int = 0
) -> str:
    """The approval card: the tool, its hint and the arguments as pretty JSON, folded. At
    most ``CARD_LINES`` lines of arguments, and with ``rows`` (the terminal's rows left for
    the card: its height less the question's) the whole card fits in them, its heading
    kept: a short terminal must not scroll the tool's name away. ``columns``: the
    terminal's width, to count the rows a long line wraps into."""
    head = heading(qualified, hint)
    view = "" if rows is None else VIEW
    lines = [f"  {line}" for line in argument_lines(arguments, view=view)]
    if rows is None:
        if len(lines) > CARD_LINES:
            lines = [*lines[:CARD_LINES], f"  … ({len(lines) - CARD_LINES} more lines)"]
        return "\n".join([head, *lines])
    room = max(1, rows - _rows(head, columns))
    if len(lines) <= CARD_LINES and sum(_rows(ln, columns) for ln in lines) <= room:
        return "\n".join([head, *lines])
    shown: list[str] = []
    cut = False
    room -= 1  # the last row says what is left out
    for line in lines[:CARD_LINES]:
        need = _rows(line, columns)
        if need > room:
            if room > 0:  # a long line: the part of it that fits
                shown.append(_cut_to_rows(line, room, columns))
                cut = True
            break
        shown.append(line)
        room -= need
    more = len(lines) - len(shown)
    left = f"{more} more line{'s' if more != 1 else ''}"
    said = f"a line cut, {left}" if cut and more else "a line cut" if cut else left
    return "\n".join([head, *shown, f"  … ({said}{VIEW})"])


def _rows(line: str, columns: int) -> int:
    """The terminal rows ``line`` takes (1 when the width is unknown)."""
    if columns <= 0:
        return 1
    from chatcli.liverows import reflowed_rows

    return reflowed_rows(line, columns)


def _cut_to_rows(line: str, rows: int, columns: int) -> str:
    """``line`` cut to fit in ``rows`` rows of ``columns`` cells."""
    from chatcli.terminal import shorten

    if columns <= 0:
        return line
    width = rows * columns - 1
    cut = shorten(line, width)
    while width > 1 and _rows(cut, columns) > rows:  # wide characters wrap early
        width -= max(1, columns // 2)
        cut = shorten(line, width)
    return cut


def full_view(arguments: str) -> str:
    """The whole call's arguments for ``v`` at the question: pretty JSON, sanitised, nothing
    folded or left out."""
    return "\n".join(f"  {line}" for line in argument_lines(arguments, fold=False))


def line(qualified: str, arguments: str, outcome: str, seconds: float | None) -> str:
    """``⚙ time.get_current_time {"timezone": "Asia/Shanghai"} → 1 line, 0.2 s``."""
    took = f", {seconds:.1f} s" if seconds is not None else ""
    return f"⚙ {one_line(qualified, 100)} {compact(arguments)} → {outcome}{took}"


def summary(text: str, error: bool) -> str:
    """``3 lines``, or ``error: <first line>``."""
    if error:  # a text that says "error:" itself is not said twice
        return f"error: {one_line(text.removeprefix('error: '), 100)}"
    n = len(text.splitlines()) or (1 if text else 0)
    return f"{n} line{'s' if n != 1 else ''}"


def cut(text: str, limit: int, encoding: str | None) -> tuple[str, int | None]:
    """``text`` within ``limit`` tokens (a notice at the end says it was cut) and the tokens
    it had when it was cut (None when it fitted)."""
    total = count_text(text, encoding).n
    if total <= limit:
        return text, None
    keep = max(0, int(len(text) * limit / total) - 200)
    while keep > 0 and count_text(text[:keep], encoding).n > limit - 50:
        keep = int(keep * 0.9)
    notice = (
        f"\n[chatcli: the output was cut here: {limit:,} of its {total:,} tokens were kept "
        "(tool_output_limit)]"
    )
    return text[:keep] + notice, total


def excerpt(text: str, limit: int = 200) -> str:
    """The start of a result, for ``--json``."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
