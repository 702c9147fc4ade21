"""A program's options read as getopt reads them: which flags are set and which words are
operands; an option's value is neither, or a value would pass for a path."""

from __future__ import annotations


def split_flags(
    words: list[str], takes_value: str = "", long_values: frozenset[str] = frozenset()
) -> tuple[set[str], list[str]]:
    """Short flags (``-rf`` -> r, f), long options and operands of ``words``; a short option
    in ``takes_value`` takes the rest of its word or the next word, a long one in
    ``long_values`` the next word (unless written ``--opt=value``): values are not
    operands."""
    flags, at = _flags_and_operands(words, takes_value, long_values)
    return flags, [words[i] for i in at]


def operand_indices(
    words: list[str], takes_value: str = "", long_values: frozenset[str] = frozenset()
) -> list[int]:
    """Where the operands of ``words`` are, read as ``split_flags`` reads them (to match an
    operand to the ``<( )`` it is)."""
    return _flags_and_operands(words, takes_value, long_values)[1]


def _flags_and_operands(
    words: list[str], takes_value: str, long_values: frozenset[str]
) -> tuple[set[str], list[int]]:
    flags: set[str] = set()
    operands: list[int] = []
    ended = False
    skip = False
    for index, word in enumerate(words):
        if skip:
            skip = False
        elif ended or not word.startswith("-") or word == "-":
            operands.append(index)
        elif word == "--":
            ended = True
        elif word.startswith("--"):
            flags.add(word.split("=", 1)[0])
            skip = word in long_values
        else:
            for at, letter in enumerate(word[1:], 1):
                flags.add(letter)
                if letter in takes_value:
                    skip = at == len(word) - 1
                    break
    return flags, operands


def read_options(
    words: list[str], i: int, takes_value: str, long: frozenset[str]
) -> tuple[list[tuple[str, str]], int]:
    """The options starting at ``words[i]`` that take a value, as (``-C`` or ``--chdir``,
    value) in order, and the index after the options (``--`` ends them). A short option
    taking a value takes the rest of its word, or the next word; a long one in ``long`` its
    ``=VALUE`` or the next word."""
    found: list[tuple[str, str]] = []
    while i < len(words) and words[i].startswith("-") and words[i] != "-":
        word = words[i]
        i += 1
        if word == "--":
            break
        if word.startswith("--"):
            name, equals, value = word.partition("=")
            if not equals and name in long:
                value, i = (words[i] if i < len(words) else ""), i + 1
            found.append((name, value))
            continue
        for at, letter in enumerate(word[1:], 1):
            if letter in takes_value:
                value = word[at + 1 :]
                if not value:  # -u VALUE, -Eu VALUE; -uVALUE holds its value
                    value, i = (words[i] if i < len(words) else ""), i + 1
                found.append((f"-{letter}", value))
                break
    return found, i


def skip_options(words: list[str], i: int, takes_value: str, long: frozenset[str]) -> int:
    """The index after the options starting at ``words[i]`` (``read_options``)."""
    return read_options(words, i, takes_value, long)[1]


def option_values(
    words: list[str], i: int, takes_value: str, long: frozenset[str], wanted: set[str]
) -> list[str]:
    """The values given to the options spelled in ``wanted`` (``-C``, ``--chdir``) among the
    options starting at ``words[i]``, in order, read as ``skip_options`` reads them (so a
    value is never taken for an option): ``-C DIR``, ``-CDIR``, ``--chdir DIR`` and
    ``--chdir=DIR``; ``wanted``'s short options must be in ``takes_value``."""
    return [value for name, value in read_options(words, i, takes_value, long)[0] if name in wanted]
