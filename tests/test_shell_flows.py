"""``cmd``'s danger check follows paths into variables: a loop over what ``find`` or ``ls``
lists (``while read``, ``for ... in $(find ...)``, fish's ``for ... in (find ...)``) and a
shell run on them (``find -exec sh -c 'rm "$@"' _ {} +``, ``xargs sh -c``) delete what
``find -exec rm {} +`` does, so they are judged as it is; a narrowed or narrow listing, or a
list of the user's own, stays quiet."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatcli.features.shell.danger import reasons
from tests.cli_helpers import fake_env, run_process
from tests.fakes import FakeOpenAI, Reply
from tests.test_audit8_shell import in_a_project  # noqa: F401 - autouse: home is a scratch dir

HOME = "rm -r on ~: a home directory"


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        # a shell's positional parameters hold its arguments: find -exec, xargs
        ("find ~ -type f -exec sh -c 'rm \"$@\"' _ {} +", HOME),
        ("find ~ -type f -exec bash -c 'for f; do rm \"$f\"; done' _ {} +", HOME),
        ('find ~ -type f -exec sh -c \'for f in "$@"; do rm "$f"; done\' _ {} +', HOME),
        ("find ~ -type f -exec bash -c 'rm \"$@\"' {} +", HOME),  # the first path is $0
        ("find ~ -type f -exec sh -c 'rm \"$1\"' _ {} \\;", HOME),
        ("find ~ -type f -exec sh -c 'rm \"${1}\"' _ {} \\;", HOME),
        ("find ~ -type f -exec zsh -c 'rm \"$2\"' _ x {} \\;", HOME),
        ("find ~ -type f -exec sh -c 'rm {}' \\;", HOME),  # find puts the path into the script
        ("find ~ -type f | xargs -I{} sh -c 'rm \"$1\"' _ {}", HOME),
        ("find ~ -type f | xargs sh -c 'rm \"$@\"' _", HOME),
        ("ls ~ | xargs sh -c 'rm \"$@\"'", "rm on ~/*: a home directory"),
        ("find / -exec sh -c 'chmod 777 \"$1\"' _ {} \\;", "chmod -R on /"),
        ("sh -c '\"$@\"' sh rm -rf /", "rm -rf on /: the root of the file system"),
        # while read: what the producer lists, through sort and its kind
        ('find ~ -type f | while read f; do rm "$f"; done', HOME),
        ('find ~ -type f | while IFS= read -r f; do rm -- "$f"; done', "on ~: a home directory"),
        ("find ~ -print0 | while IFS= read -r -d '' f; do rm \"$f\"; done", HOME),
        ('find ~ -type f | sort | uniq | while read -r f; do rm "${f}"; done', HOME),
        ('find ~ -type f | while read; do rm "$REPLY"; done', HOME),
        ('find ~ -type f | until ! read f; do rm "$f"; done', HOME),
        ('while read -r f; do rm "$f"; done < <(find ~ -type f)', HOME),
        ('while read -r f; do rm "$f"; done <<< "$(find ~ -type f)"', HOME),
        ('find ~ -type f | while read f\ndo\n  rm "$f"\ndone', HOME),
        ('find ~ -type f | while read f; do [ -s "$f" ] || rm "$f"; done', HOME),
        ('find ~ | while read f; do sh -c \'rm "$1"\' _ "$f"; done', HOME),
        ('find ~ | while read -r f; do for g in "$f"; do rm "$g"; done; done', HOME),
        ('for x in a b; do find ~ | while read f; do rm "$f"; done; done', HOME),
        ('find /etc -type f | while read f; do rm "$f"; done', "rm -r on /etc"),
        ('find ~ -type f | while read f; do shred -u "$f"; done', "shred overwrites"),
        ('ls ~ | while read f; do rm -r ~/"$f"; done', "rm -r on ~/*: a home directory"),
        ('ls -A ~ | while read f; do rm -rf "$f"; done', "rm -rf on ~/*: a home directory"),
        ('ls ~ | while read f; do if [ -d ~/"$f" ]; then rm -r ~/"$f"; fi; done', "on ~/*"),
        # for VAR in WORDS: each word, a substitution standing for its listing
        ("for f in $(find ~); do rm $f; done", HOME),
        ('for f in `find ~ -type f`; do rm "$f"; done', HOME),
        ('for f in $(find ~ -type f); do rm "$f"; done', HOME),
        ("for f in `ls ~`; do rm -rf ~/$f; done", "rm -rf on ~/*: a home directory"),
        ("for f in $(ls ~/.ssh); do rm ~/.ssh/$f; done", "deletes ~/.ssh/*"),
        ('for f in ~/*; do rm "$f"; done', "rm on ~/*: a home directory"),
        ('f() { for x in $(find ~); do rm "$x"; done; }; f', HOME),
        # fish
        ("for f in (find ~); rm $f; end", HOME),
        ("find ~ | while read f; rm $f; end", HOME),
        ("find ~ | while read -l f; if test -f $f; rm $f; end; end", HOME),
    ],
)
def test_a_variable_holding_a_listing_is_judged_as_the_paths_it_holds(
    command: str, reason: str
) -> None:
    found = reasons(command)
    assert any(reason in r for r in found), found


@pytest.mark.parametrize(
    "command",
    [
        # narrowed by a test, as find -exec is
        "find . -name '*.pyc' -exec sh -c 'rm \"$@\"' _ {} +",
        "find . -name '*.pyc' | while read f; do rm \"$f\"; done",
        "for f in $(find . -name '*.tmp'); do rm $f; done",
        "find ~ -name '*.tmp' | while read f; do rm \"$f\"; done",
        "find src -name '*.py' | while read f; do black \"$f\"; done",
        # a narrow root
        'find ./build -type f | while read f; do rm "$f"; done',
        "find ./build -type f -exec sh -c 'rm \"$@\"' _ {} +",
        'for f in $(find build -type f); do rm "$f"; done',
        'ls build | while read f; do rm -rf "build/$f"; done',
        'find ~/Downloads -type f -mtime +30 | while read f; do rm "$f"; done',
        # what the body does with a broad listing is harmless
        'find ~ -type f | while read f; do echo "$f"; done',
        'find ~ -type f | while read f; do grep -q TODO "$f" && echo "$f"; done',
        'find ~ -type f | while read f; do cp "$f" /backup/; done',
        'find ~ -type f | while read f; do rm "$f.bak"; done',
        "find ~ -type f -exec sh -c 'echo \"$1\"' _ {} \\;",
        'ls ~ | while read f; do du -sh ~/"$f"; done',
        # lists of the user's own, and literal words
        'git ls-files | while read f; do rm "$f"; done',
        'for f in *.log; do rm "$f"; done',
        'for d in build dist; do rm -rf "$d"; done',
        'for i in 1 2 3; do rm -rf "build$i"; done',
        "bash -c 'rm -rf \"$1\"' _ build",
        "for c in ls pwd; do $c; done",
        'for f in *; do mv "$f" "$f.bak"; done',
        # the binding stays in its loop's body, and goes when reassigned
        'find ~ -type f | while read f; do echo "$f"; done; rm "$f"',
        "for f in (find ~); echo $f; end; rm $f",
        'find ~ -type f | while read f; do f=/tmp/x; rm "$f"; done',
        'find ~ -type f | while read f; do x=$(basename "$f"); rm "/tmp/$x"; done',
        # never closed: the shell runs none of it
        "for f in $(find ~); do rm $f",
    ],
)
def test_a_narrow_or_harmless_flow_is_not_a_finding(command: str) -> None:
    assert reasons(command) == []


def test_a_refused_loop_leaves_the_home_directory_as_it_was(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """Through the real CLI: ``cmd --execute --yes`` refuses the answer, exit 1 (SPEC: a
    destructive-looking command is refused without --yes-destructive), and runs nothing."""
    home = tmp_path / "scratch-home"
    (home / "notes").mkdir(parents=True)
    kept = [home / "thesis.txt", home / "notes" / "todo.md", home / ".bashrc"]
    for path in kept:
        path.write_text("keep me\n")
    answer = 'find "$HOME" -type f -exec sh -c \'rm "$@"\' _ {} +'
    fake.script(Reply(text=answer))
    env = fake_env(tmp_path, fake, HOME=str(home))
    result = run_process("cmd", "--shell", "sh", "--execute", "--yes", "tidy my home", env=env)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[0] == (
        "chatcli: error: refusing to run a command that looks destructive: "
        "rm -r on $HOME: a home directory"
    )
    assert "running:" not in result.stderr
    assert all(path.read_text() == "keep me\n" for path in kept)
