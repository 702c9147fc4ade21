"""Audit 10 on ``cmd``'s danger check: paths reaching a command that destroys or overwrites
the user's files through a loop's variable, the positional parameters, an array, a
substitution or xargs's replace string are judged as the paths they are. A redirection or
a write in such a loop (``find ~ | while read f; do : > "$f"; done``), ``for f do`` (no
``in``), ``xargs -I %``, ``set -- ~/*; rm "$@"``, a ``while`` in a group after a pipe,
``mapfile``, a function's ``"$@"``: each was not a finding. Safe look-alikes stay quiet."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatcli.features.shell.danger import reasons
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply
from tests.test_audit8_shell import in_a_project  # noqa: F401 - autouse: home is a scratch dir

UNDER_HOME = "every file under ~: a home directory"
IN_HOME = "every file in ~/*: a home directory"
RM_HOME = "rm -r on ~: a home directory"
RM_ENTRIES = "rm on ~/*: a home directory"


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        # 1. a write over each path a loop or find gives: redirections, truncate, cp, tee, sed -i
        ('find ~ -type f | while read f; do : > "$f"; done', "> overwrites " + UNDER_HOME),
        ('for f in *; do echo > "$f"; done', "> overwrites every file in *: the whole current"),
        ('for f in ~/*; do echo > "$f"; done', "> overwrites " + IN_HOME),
        ('ls | while read -r f; do truncate -s0 "$f"; done', "truncate cuts every file in *"),
        ('ls ~ | while read -r f; do truncate -s 0 ~/"$f"; done', "truncate cuts " + IN_HOME),
        ('find ~ | while read f; do cat /dev/null > "$f"; done', "> overwrites " + UNDER_HOME),
        ('find ~ -type f | while read f; do : >| "$f"; done', ">| overwrites " + UNDER_HOME),
        ('find ~ -type f | while read f; do echo &> "$f"; done', "&> overwrites " + UNDER_HOME),
        ("find ~ -type f -exec sh -c ': > \"$1\"' _ {} \\;", "> overwrites " + UNDER_HOME),
        ("find ~ -type f -exec truncate -s0 {} +", "truncate cuts " + UNDER_HOME),
        ("find ~ -type f | xargs truncate -s0", "truncate cuts " + UNDER_HOME),
        (
            'find ~ -type f | while read f; do cp /dev/null "$f"; done',
            "cp overwrites " + UNDER_HOME,
        ),
        ('find ~ -type f | while read f; do tee "$f" < /dev/null; done', "tee overwrites every"),
        ("find ~ -type f -exec sed -i 's/a/b/' {} +", "sed -i rewrites " + UNDER_HOME),
        ('find /etc -type f | while read f; do : > "$f"; done', "every file under /etc"),
        ('for f in ~/.*; do > "$f"; done', "> overwrites every file in ~/.*: a home directory"),
        ("truncate -s0 ~/*", "truncate cuts " + IN_HOME),
        ("rm ~/**", "rm on ~/**: a home directory"),
        # 2. for without "in" iterates the positional parameters; its body is not its words
        ("for f do rm -rf /; done", "rm -rf on /: the root of the file system"),
        ("select f do rm -rf ~; done", "rm -rf on ~: a home directory"),
        ('set -- ~/*; for f do rm "$f"; done', RM_ENTRIES),
        ('set -- ~/*; for f; do rm "$f"; done', RM_ENTRIES),
        ("find ~ -type f -exec sh -c 'for f do rm \"$f\"; done' _ {} +", RM_HOME),
        ("for f (~/*) rm $f", RM_ENTRIES),  # zsh's short forms
        ("for f in ~/*; rm $f", RM_ENTRIES),
        ("foreach f (~/*)\nrm $f\nend", RM_ENTRIES),
        ("repeat 3 rm -rf /", "rm -rf on /"),
        # 3. xargs's replace string, its input from elsewhere; parallel's command line
        ("find ~ -type f | xargs --replace rm {}", RM_HOME),
        ("find ~ | xargs -I % sh -c 'rm %'", RM_HOME),
        ("find ~ -type f | xargs -I % sh -c 'rm \"$1\"' _ %", RM_HOME),
        ("find ~ | xargs --replace=X mv X /dev/null", "mv moves ~/** away: a home directory"),
        ("find ~ -type f -print0 | xargs -0 -I{} truncate -s0 {}", "truncate cuts " + UNDER_HOME),
        ("ls ~ | xargs -I % sh -c ': > ~/%'", "> overwrites " + IN_HOME),
        ("find ~ | parallel 'rm {}'", RM_HOME),
        ("echo | parallel 'rm -rf /'", "rm -rf on /"),
        ("xargs -a <(find ~ -type f) rm", RM_HOME),
        ("xargs rm < <(find ~ -type f)", RM_HOME),
        ('xargs rm <<< "$(find ~ -type f)"', RM_HOME),
        ("echo ~/* | xargs rm", RM_ENTRIES),
        # 4. the positional parameters: set --, shift, a function's arguments
        ('set -- ~/*; rm "$@"', RM_ENTRIES),
        ('set -- $(find ~); shift; rm -rf "$@"', "rm -rf on ~: a home directory"),
        ('set -o pipefail; set -- ~/*; set -e; rm "$@"', RM_ENTRIES),
        ('set -- ~/*; truncate -s0 "$1"', "truncate cuts " + IN_HOME),
        ('f() { rm "$@"; }; f ~/*', RM_ENTRIES),
        ('f() ( rm "$@" ); f ~/*', RM_ENTRIES),
        ("function wipe; truncate -s0 $argv; end; wipe ~/*", "truncate cuts " + IN_HOME),
        ('wipe() { : > "$1"; }; find ~ -type f | while read f; do wipe "$f"; done', UNDER_HOME),
        ('d() { rm -- "$1"; }; for x in $(find ~ -type f); do d "$x"; done', "on ~: a home"),
        # 5. a while loop, or xargs, in a group or a shell reading the pipe
        ('find ~ | ( while read f; do rm "$f"; done )', RM_HOME),
        ("find ~ -type f | (cd /tmp && xargs rm)", RM_HOME),
        ("find ~ -type f | sh -c 'while read f; do rm \"$f\"; done'", RM_HOME),
        ("find ~ -type f | bash -c 'xargs rm'", RM_HOME),
        ('( while read f; do rm "$f"; done ) < <(find ~)', RM_HOME),
        # arrays, substitutions, here-strings, other listings
        ('mapfile -t a < <(find ~); rm "${a[@]}"', RM_HOME),
        ('readarray -t a < <(ls ~); cd ~; rm "${a[@]}"', RM_ENTRIES),
        ('shopt -s lastpipe; find ~ | mapfile -t a; rm "${a[@]:1}"', RM_HOME),
        ("set -l files (find ~ -type f); for f in $files; rm $f; end", RM_HOME),  # fish
        ("IFS=$'\\n' read -r -d '' -a a < <(find ~); rm \"${a[@]}\"", RM_HOME),
        ('a=($(find ~ -type f)); rm "${a[@]}"', RM_HOME),
        ('declare -a a=($(find ~)); rm "${a[@]}"', RM_HOME),
        ('a=(~/*); for f in "${a[@]}"; do : > "$f"; done', "> overwrites " + IN_HOME),
        ("files=$(find ~ -type f); rm $files", RM_HOME),
        ('files=$(find ~ -type f); while read f; do rm "$f"; done <<< "$files"', RM_HOME),
        ("f=$(ls ~); for x in $f; do rm -rf ~/$x; done", "rm -rf on ~/*: a home directory"),
        ("rm $(find ~ -type f)", RM_HOME),
        ("chmod 000 $(find ~)", "chmod -R on ~: a home directory"),
        ("printf '%s\\n' ~/* | while read f; do rm \"$f\"; done", RM_ENTRIES),
        ('while read -r f; do : > "$f"; done < <(ls -d ~/*)', "> overwrites " + IN_HOME),
    ],
)
def test_a_path_reaching_a_destructive_command_through_a_variable_is_found(
    command: str, reason: str
) -> None:
    found = reasons(command)
    assert any(reason in r for r in found), found


@pytest.mark.parametrize(
    "command",
    [
        # what the body does with a listing is harmless
        "find . -name '*.py' | while read f; do wc -l \"$f\"; done",
        'find ~ -type f | while read f; do wc -c < "$f"; done',
        'find ~ -type f | while read f; do echo "$f" > /tmp/out; done',
        'ls ~ | while read f; do echo "$f" >> list.txt; done',
        'for f in *; do cat "$f" > "$f.bak"; done',
        'for f in *; do mv "$f" "${f%.txt}.md"; done',
        'ls | while read f; do mv "$f" "new_$f"; done',
        'for f in *; do echo >> "$f"; done',  # an append adds, it does not wipe
        'for f in *; do sed -i "s/a/b/" "$f"; done',  # an edit of the project's files
        "find . -type f -exec sed -i 's/foo/bar/g' {} +",
        "find . -type f | xargs sed -i 's/foo/bar/g'",
        # narrowed or narrow listings, lists of one's own
        'for f in *.txt; do echo > "$f"; done',
        "find . -name '*.log' -exec truncate -s0 {} +",
        "find . -name '*.log' | xargs -I{} truncate -s0 {}",
        "truncate -s 0 *.log",
        'for f in ~/Downloads/*.part; do : > "$f"; done',
        'find ./build -type f | while read f; do : > "$f"; done',
        'cat list.txt | while read f; do : > "$f"; done',
        # for without in, zsh's forms, repeat
        'for f do echo "$f"; done',
        'for f; do echo "$f"; done',
        "for f (*.txt) wc -l $f",
        "for f in *.txt; wc -l $f",
        "foreach f (*.txt)\nwc -l $f\nend",
        "repeat 3 echo hi",
        # xargs and parallel running something harmless, or on a narrow list
        "find ~ | xargs -I % echo %",
        "find ~ -type f | xargs -I % echo %",
        "find ~ | xargs --replace echo {}",
        "find . -name '*.tmp' | xargs -I % rm %",
        "find . -name '*.tmp' | parallel 'rm {}'",
        "echo build dist | xargs -n1 echo",
        "printf '%s\\n' *.log | xargs rm",
        "echo ~/* | xargs ls -ld",
        "xargs -a files.txt rm",
        "xargs rm < list.txt",
        'xargs -I % echo % <<< "$(ls ~)"',
        # the positional parameters holding harmless words, or used harmlessly
        'set -- a b; echo "$@"',
        'set -- ~/*; echo "$#" "$@"',
        'set -- ~/*; for f do echo "$f"; done',
        'set -- $(find ~); echo "$#"',
        'f() { rm "$@"; }; f build dist',
        'f() { echo "$@"; }; f ~/*',
        'f() { : > "$1"; }; f out.log',
        'log() { echo "$*" >> run.log; }; for f in ~/*; do log "$f"; done',
        'walk() { for d in "$1"/*; do [ -d "$d" ] && walk "$d"; done; }; walk ~',
        # groups and shells reading a pipe, harmlessly
        'find ~ | ( while read f; do echo "$f"; done )',
        "ls ~ | (cd /tmp && xargs echo)",
        "find ~ -type f | sh -c 'while read f; do wc -l \"$f\"; done'",
        # arrays, substitutions and reads of one's own or narrow lists
        'mapfile -t a < <(git ls-files); rm "${a[@]}"',
        "mapfile -t a < <(find . -name '*.pyc'); rm -- \"${a[@]}\"",
        'readarray -t lines < notes.txt; echo "${lines[@]}"',
        'a=(build dist); echo "${a[@]}"',
        'a=(*.o); rm "${a[@]}"',
        "files=$(find . -name '*.orig'); rm $files",
        "files=$(ls ~); echo $files",
        "rm $(find . -name '*.pyc')",
        'read -r f < <(find ~ -type f); echo "$f"',
        'while read -r f; do echo "$f"; done < <(ls -d ~/*)',
        'for f in $(ls); do echo "$f"; done',
        "mapfile -t files < <(ls *.md); printf '%s\\n' \"${files[@]}\"",
        'readarray -t a < <(find ~ -type f); echo "${#a[@]}"',
        'a=($(ls)); echo "${a[0]}"',
        "files=$(ls ~); for f in $files; do echo ~/$f; done",
        "IFS=$'\\n' read -r -d '' -a a < <(find . -name '*.md'); wc -l \"${a[@]}\"",
        # writes elsewhere, or of one file, or of a narrow list
        'for f in *; do : > "/tmp/out/$f"; done',
        "find . -type f -name '*.bak' | while read f; do : > \"$f\"; done",
        'for f in "$@"; do echo > "$f"; done',
        'find ~ -type f | while read f; do : > "/tmp/empty/$(basename "$f")"; done',
        'for f in $(find ~ -type f); do echo "$f" >> ~/list.txt; done',
        "tee out.txt < /dev/null",
        "truncate -s 1G disk.img",
        "echo > build.log",
        ": > *.log",
        # listings used to read, list, copy away
        "find ~ -type f -print0 | xargs -0 -I{} cp {} /backup/",
        "find ~ -type f | xargs ls -l",
        "find ~ | xargs -I % sh -c 'echo %'",
        "find ~ | parallel 'echo {}'",
        "ls ~ | xargs -I % du -sh ~/%",
        "for f (~/*) ls -d $f",
        'for f in ~/*; do [ -f "$f" ] && md5sum "$f"; done',
        "find ~ -type f -exec sh -c 'wc -c < \"$1\"' _ {} \\;",
        'find ~ -maxdepth 1 -type f | ( while read f; do ls -l "$f"; done )',
        'select f in *.txt; do cat "$f"; break; done',
        # positional parameters and functions holding narrow or harmless words
        'set -- *.md; for f do wc -w "$f"; done',
        'set -- --verbose; echo "$1"',
        'f() { local d=$1; ls "$d"; }; f ~',
        'backup() { cp "$1" "$1.bak"; }; for f in ~/.bashrc ~/.zshrc; do backup "$f"; done',
    ],
)
def test_a_harmless_look_alike_is_not_a_finding(command: str) -> None:
    assert reasons(command) == []


def test_functions_calling_each_other_without_end_are_not_checkable() -> None:
    """Each call is checked as its body: calls that multiply (8 of 8 of 8...) stop being
    followed, and the text is then not checkable, never slow."""
    calls = ["a() { :; }"]
    for name, inner in zip("bcde", "abcd", strict=True):
        calls.append(f"{name}() {{ {'; '.join([inner] * 8)}; }}")
    text = "; ".join([*calls, *["e"] * 8, 'f() { rm "$@"; }', "f ~/*"])
    found = reasons(text)
    assert "cannot be checked: too many calls of the functions it defines" in found, found


@pytest.mark.parametrize(
    "command",
    [
        'find "$HOME" -type f | while read -r f; do : > "$f"; done',
        'set -- "$HOME"/*; for f do rm "$f"; done',
        'find "$HOME" -type f | xargs -I % sh -c \': > "%"\'',
        'find "$HOME" -type f | ( while read -r f; do rm -- "$f"; done )',
        'mapfile -t a < <(find "$HOME" -type f); rm -- "${a[@]}"',
    ],
)
def test_execute_yes_refuses_them_and_the_home_directory_is_kept(
    fake: FakeOpenAI, tmp_path: Path, command: str
) -> None:
    """Through the real CLI: ``cmd --execute --yes`` refuses the answer, exit 1 (SPEC: a
    destructive-looking command is refused without ``--yes-destructive``), and runs
    nothing: every file of the (scratch) home directory keeps its content."""
    home = tmp_path / "scratch-home"
    (home / "notes").mkdir(parents=True)
    kept = [home / "thesis.txt", home / "notes" / "todo.md", home / "photo.jpg"]
    for path in kept:
        path.write_text("keep me\n")
    fake.script(Reply(text=command))
    env = fake_env(tmp_path, fake, HOME=str(home), SHELL="/bin/bash")
    result = run_cli("cmd", "--shell", "bash", "--execute", "--yes", "tidy my home", env=env)
    assert result.returncode == 1, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("chatcli: error: refusing to run a command that looks destructive:")
    assert "$HOME" in first and "a home directory" in first, first
    assert "running:" not in result.stderr
    assert all(path.read_text() == "keep me\n" for path in kept)
