"""The command inside a model's answer: fences, prose and prompts around it taken away."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatcli.features.shell.clean import clean, is_prose


@pytest.mark.parametrize(
    ("answer", "command"),
    [
        ("find . -size +1G -mtime -7", "find . -size +1G -mtime -7"),
        ("```bash\nfind . -size +1G -mtime -7\n```", "find . -size +1G -mtime -7"),
        ("```\nls -la\n```", "ls -la"),
        ("~~~sh\nls -la\n~~~", "ls -la"),
        ("`ls -la`", "ls -la"),
        ("$ ls -la", "ls -la"),
        (
            "Here is the command:\n\n```bash\ndu -sh * | sort -h\n```\n\n"
            "This shows the size of each entry, smallest first.",
            "du -sh * | sort -h",
        ),
        (
            "Here is the command:\ndu -sh * | sort -h\n\nThis shows the size of each entry.",
            "du -sh * | sort -h",
        ),
        ("Use `git log --oneline -5` to see the last commits.", "git log --oneline -5"),
        ("Here is the command: find . -size +1G", "find . -size +1G"),
        # parallel's ":::" is no introduction: the line is the command (it was cut to '"$HOME"/*')
        ('parallel rm ::: "$HOME"/*', 'parallel rm ::: "$HOME"/*'),
        ("parallel echo :::: list.txt", "parallel echo :::: list.txt"),
        ("Run: `ls -la`", "ls -la"),
        ("<think>They want files.</think>\nls -la", "ls -la"),
        ("```console\n$ ls -la\ntotal 0\n$ pwd\n/home\n```", "ls -la\npwd"),
        ("```bash\nls -la", "ls -la"),  # an answer cut before its closing fence
        ("```bash\n    ls -la\n```", "ls -la"),
        ("% ls -la", "ls -la"),
        ("❯ ls -la", "ls -la"),
        ("```console\n$ ls \\\n> -la\n> out\n```", "ls \\\n-la"),  # a continuation
    ],
)
def test_the_command_is_taken_out_of_its_wrapping(answer: str, command: str) -> None:
    assert clean(answer).command == command


@pytest.mark.parametrize(
    ("answer", "command"),
    [
        ("> ~/.bashrc", "> ~/.bashrc"),  # truncates a file: without ">" it would run the file
        ("```bash\n> ~/.bashrc\n```", "> ~/.bashrc"),
        (">> ~/.profile", ">> ~/.profile"),
        ("# rm -rf /", "# rm -rf /"),  # a comment: without "#" it would run
        ("```sh\n# rm -rf /\n```", "# rm -rf /"),
    ],
)
def test_shell_syntax_is_never_taken_for_a_prompt(answer: str, command: str) -> None:
    assert clean(answer).command == command


def test_console_output_that_looks_like_a_continuation_is_not_run() -> None:
    assert clean("```console\n$ cat notes\n> ~/.bashrc\n```").command == "cat notes"


def test_an_answer_of_several_lines_is_kept_whole_as_one_script() -> None:
    script = 'cd /tmp\nfor f in *.log; do\n  gzip "$f"\ndone'
    assert clean(script).command == script
    assert clean(f"```bash\n{script}\n```").command == script
    assert clean(f"Run this:\n\n{script}\n\nIt compresses the logs.").command == script


def test_several_code_blocks_take_the_first_and_say_so() -> None:
    cleaned = clean("Either:\n```\nls -la\n```\nor:\n```\nls -1\n```")
    assert cleaned.command == "ls -la"
    assert cleaned.notes == (
        "the answer held 2 code blocks; this is the first (the others may be alternatives)",
    )


@pytest.mark.parametrize(
    "answer",
    [
        "I'm sorry, but I can't help with that.",
        "Sorry, I cannot determine which files you mean.",
        "Could you tell me which directory you mean?",
        "",
        "```\n```",
        "This request is ambiguous. Please give more details.",
    ],
)
def test_an_answer_that_is_not_a_command_has_none(answer: str) -> None:
    cleaned = clean(answer)
    assert cleaned.command is None
    assert cleaned.answer == answer.strip()


@pytest.mark.parametrize(
    ("line", "prose"),
    [
        ("Here is the command:", True),
        ("This finds every file over 1 GB.", True),
        ("- `-size +1G`: bigger than 1 GB", True),
        ("## Explanation", True),
        ("# compress the logs", False),
        ("find . -name '*.py'", False),
        ("echo Hello there, world.", False),
        ("echo Note: this is fine", False),
        ("FOO=1 make test", False),
        ("./configure --prefix=/usr", False),
    ],
)
def test_prose_and_command_lines_are_told_apart(line: str, prose: bool) -> None:
    assert is_prose(line) is prose


_PROGRAMS = st.sampled_from(["ls", "find", "grep", "du", "tar", "git", "awk", "sort", "echo"])
_ARG = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._/*+=", min_size=1, max_size=12)
_COMMANDS = st.builds(
    lambda program, args, pipe: " ".join([program, *args]) + (f" | {pipe}" if pipe else ""),
    _PROGRAMS,
    st.lists(_ARG, max_size=5),
    st.one_of(st.none(), _PROGRAMS),
)
_INTROS = st.sampled_from(["", "Here is the command:\n", "Sure! Run this:\n\n", "You can use:\n"])
_OUTROS = st.sampled_from(
    ["", "\n\nThis does what you asked.", "\n\nNote: it may take a while on big trees."]
)


@given(_COMMANDS, _INTROS, _OUTROS, st.sampled_from(["", "bash", "sh", "shell", "zsh"]))
def test_fenced_command_with_any_prose_around_comes_out_exact(
    command: str, intro: str, outro: str, lang: str
) -> None:
    assert clean(f"{intro}```{lang}\n{command}\n```{outro}").command == command


@given(_COMMANDS, _INTROS, _OUTROS)
def test_unfenced_command_with_prose_around_comes_out_exact(
    command: str, intro: str, outro: str
) -> None:
    assert clean(f"{intro}{command}{outro}").command == command


@given(st.lists(_COMMANDS, min_size=1, max_size=4))
def test_cleaning_a_clean_command_changes_nothing(lines: list[str]) -> None:
    script = "\n".join(lines)
    once = clean(script).command
    assert once == script
    assert clean(once).command == once
