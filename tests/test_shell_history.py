"""``save_history``: the executed command appended in each shell's own format, checked by
having the real shell read the file back."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from chatcli.features.shell.detect import Shell
from chatcli.features.shell.history import append, history_file

pytestmark = pytest.mark.external  # real bash, zsh and fish read the files back

NON_ASCII = 'grep -r "naïve — 中文" . | head -3'
SCRIPT = "for f in *.log; do\n  gzip \"$f\" && echo 'a\\b'\ndone"


def needs(shell: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(shutil.which(shell) is None, reason=f"{shell} is not installed")


@needs("zsh")
def test_zsh_reads_back_extended_entries_with_non_ascii_and_several_lines(tmp_path: Path) -> None:
    path = tmp_path / "zsh_history"
    path.write_text(": 1700000000:0;ls\n")
    shell = Shell("zsh", "zsh", "Linux")
    append(NON_ASCII, shell, str(path), when=1700000100)
    append(SCRIPT, shell, str(path), when=1700000101)
    assert path.read_bytes().startswith(b": 1700000000:0;ls\n: 1700000100:0;grep")
    listed = subprocess.run(
        ["zsh", "-fc", f"HISTSIZE=10; fc -R {path}; fc -ln 1"],
        capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    assert listed.splitlines() == ["ls", NON_ASCII, SCRIPT.replace("\n", "\\n")]


def test_zsh_plain_entries_without_extended_history(tmp_path: Path) -> None:
    path = tmp_path / "zsh_history"
    path.write_text("ls\n")
    append("pwd", Shell("zsh", "zsh", "Linux"), str(path))
    assert path.read_text() == "ls\npwd\n"


@needs("fish")
def test_fish_reads_back_its_yaml_like_entries(tmp_path: Path) -> None:
    data = tmp_path / "share"
    shell = Shell("fish", "fish", "Linux")
    env = {"XDG_DATA_HOME": str(data), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    path = data / "fish" / "fish_history"  # where fish reads its history with this env
    append(NON_ASCII, shell, str(path), when=1700000100)
    append(SCRIPT, shell, str(path), when=1700000101)
    listed = subprocess.run(
        ["fish", "-c", "history --null"], env=env, capture_output=True, check=True
    ).stdout.decode()
    assert listed.split("\0")[:2] == [SCRIPT, NON_ASCII]  # newest first


@needs("bash")
def test_bash_keeps_timestamps_when_the_file_has_them(tmp_path: Path) -> None:
    path = tmp_path / "bash_history"
    path.write_text("#1700000000\nls\n")
    append(NON_ASCII, Shell("bash", "bash", "Linux"), str(path), when=1700000100)
    assert path.read_text() == f"#1700000000\nls\n#1700000100\n{NON_ASCII}\n"
    listed = subprocess.run(
        ["bash", "-c", "HISTTIMEFORMAT='%s '; set -o history; history -c; history -r; history"],
        env={"HISTFILE": str(path), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    assert listed.splitlines()[-1].split(None, 2)[1:] == ["1700000100", NON_ASCII]


def test_a_file_without_a_final_newline_gets_one_first(tmp_path: Path) -> None:
    path = tmp_path / "bash_history"
    path.write_text("ls")
    append("pwd", Shell("bash", "bash", "Linux"), str(path))
    assert path.read_text() == "ls\npwd\n"


def test_default_files_per_shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("HISTFILE", raising=False)
    monkeypatch.delenv("ZDOTDIR", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert history_file(Shell("bash", "bash", "L"), True) == tmp_path / ".bash_history"
    assert history_file(Shell("zsh", "zsh", "L"), True) == tmp_path / ".zsh_history"
    fish = tmp_path / ".local" / "share" / "fish" / "fish_history"
    assert history_file(Shell("fish", "fish", "L"), True) == fish
    assert history_file(Shell("sh", "sh", "L"), True) is None
    new = append("echo hi", Shell("fish", "fish", "L"), True, when=1700000100)
    assert new == fish
    assert fish.read_text() == "- cmd: echo hi\n  when: 1700000100\n"
    assert fish.stat().st_mode & 0o777 == 0o600
