"""Programs between a listing and what reads it that pass its lines on as they are.

A filter that only drops lines (``grep -v``, ``head``, ``tail``, ``sort``, ``uniq``,
``awk '{print $0}'``, ``sed '/x/d'``) leaves a listing of the whole home directory as broad
as it was: ``find ~ | grep -v .git | xargs rm`` deletes what ``find ~ | xargs rm`` does but
the files it drops. A filter keeping only what matches (``grep PATTERN``, ``awk '/x/'``)
narrows it, as ``find -name`` does: what it passes on is then not known, and not judged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatcli.features.shell.danger.lexer import live
from chatcli.features.shell.danger.options import operand_indices, read_options, split_flags


@dataclass(frozen=True)
class _Filter:
    """How one filter reads its line: its options taking a value (short, long), the ones it
    needs to pass lines on (``grep -v``) or that stop it (``sort -o``, ``grep -c``), what its
    first operand is when not a file (``script``: a pattern or a program, unless an option
    gave it), and how many files it reads at most (``uniq IN OUT``)."""

    values: str = ""
    long: frozenset[str] = frozenset()
    needs: frozenset[str] = frozenset()
    stops: frozenset[str] = frozenset()
    script: str = ""  # "grep", "awk" or "sed": the first operand is its pattern or program
    given_by: frozenset[str] = frozenset()  # the options giving the script instead (-e)
    most: int = 1_000_000


_GREP = _Filter(
    "efmABCDd",
    frozenset({"--regexp", "--file", "--max-count", "--after-context", "--before-context",
               "--context", "--label", "--binary-files", "--devices", "--directories",
               "--exclude", "--include", "--exclude-dir", "--exclude-from"}),
    needs=frozenset({"v", "--invert-match"}),
    stops=frozenset({"c", "--count", "l", "--files-with-matches", "L",
                     "--files-without-match", "o", "--only-matching", "q", "--quiet",
                     "--silent", "n", "--line-number", "b", "--byte-offset", "H",
                     "--with-filename", "r", "R", "--recursive", "--dereference-recursive"}),
    script="grep",
    given_by=frozenset({"-e", "--regexp", "-f", "--file"}),
)  # fmt: skip
_FILTERS: dict[str, _Filter | None] = {  # None: passes whatever its operands (tee, tr)
    "cat": _Filter(),
    "tac": _Filter("s", frozenset({"--separator"})),
    "sort": _Filter(
        "kotSTy",
        frozenset({"--key", "--field-separator", "--buffer-size", "--output",
                   "--temporary-directory", "--parallel", "--files0-from",
                   "--compress-program", "--sort", "--random-source", "--batch-size"}),
        stops=frozenset({"o", "--output", "c", "C", "--check", "--files0-from"}),
    ),
    "uniq": _Filter("fsw", frozenset({"--skip-fields", "--skip-chars", "--check-chars"}),
                    stops=frozenset({"c", "--count"}), most=1),
    "head": _Filter("nc", frozenset({"--lines", "--bytes"})),
    "tail": _Filter("ncs", frozenset({"--lines", "--bytes", "--sleep-interval", "--pid",
                                      "--max-unchanged-stats"})),
    "shuf": _Filter("nor", frozenset({"--head-count", "--output", "--random-source"}),
                    stops=frozenset({"e", "--echo", "i", "--input-range", "o", "--output"})),
    "grep": _GREP,
    "egrep": _GREP,
    "fgrep": _GREP,
    "awk": _Filter("Fvf", frozenset({"--field-separator", "--assign", "--file"}),
                   stops=frozenset({"f", "--file"}), script="awk"),
    "sed": _Filter("efl", frozenset({"--expression", "--file", "--line-length"}),
                   stops=frozenset({"i", "--in-place", "n", "--quiet", "--silent", "f",
                                    "--file"}),
                   script="sed", given_by=frozenset({"-e", "--expression"})),
    "tee": None,
    "tr": None,
}  # fmt: skip
for _awk in ("gawk", "mawk", "nawk"):
    _FILTERS[_awk] = _FILTERS["awk"]
_PRINT = r"\{print(?:\$0)?;?\}"
_REGEX = r"/(?:[^/\\]|\\.)*/"
_AWK_PASSES = re.compile(  # every line; lines by number; the lines NOT matching a regex
    rf"1|{_PRINT}|NR(?:[<>]=?|==|!=)\d+(?:{_PRINT})?|!{_REGEX}(?:{_PRINT})?|\$0!~{_REGEX}"
    rf"(?:{_PRINT})?"
)
_SED_DELETES = re.compile(rf"(?:{_REGEX}|\d+(?:,(?:\d+|\$))?|\$)d")  # /x/d, 1d, 2,$d


def passed_on(words: list[str]) -> list[int] | None:
    """Where in ``words`` (a program, its wrappers taken off) the files it reads instead of
    its input are (empty: it reads its input), when it passes the lines it reads on as they
    are, or drops some of them only; None when it is no such filter, or narrows them."""
    name = words[0].rsplit("/", 1)[-1] if words else ""
    if name not in _FILTERS:
        return None
    spec = _FILTERS[name]
    if spec is None:
        return []
    flags, _ = split_flags(words[1:], spec.values, spec.long)
    if flags & spec.stops or (spec.needs and not flags & spec.needs):
        return None
    files = [at + 1 for at in operand_indices(words[1:], spec.values, spec.long)]
    if spec.script:
        given, _ = read_options(words, 1, spec.values, spec.long)
        scripts = [value for option, value in given if option in spec.given_by]
        if not scripts:
            if not files:
                return None
            scripts, files = [words[files[0]]], files[1:]
        if not all(_keeps_all(spec.script, live(s)) for s in scripts):
            return None
    return files if len(files) <= spec.most else None


def _keeps_all(kind: str, script: str) -> bool:
    """Whether ``script`` (grep's pattern, awk's or sed's program) passes the lines on, or
    drops only some: any pattern of ``grep -v``; awk printing each line, or those by
    number, or those not matching; sed deleting lines, never keeping only some."""
    if kind == "grep":
        return True
    bare = re.sub(r"\s+", "", script)
    if kind == "awk":
        return _AWK_PASSES.fullmatch(bare) is not None
    parts = [p for p in re.split(r"[;\n]", script) if p.strip()]
    return bool(parts) and all(_SED_DELETES.fullmatch(p.strip()) for p in parts)
