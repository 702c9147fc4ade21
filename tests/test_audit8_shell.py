"""Audit 8 (acting) on ``cmd``: deleting a broad path is destructive however it is spelt
(``find -exec rm``, ``xargs rm``, ``rm ~/*``, ``~+``), shutdown and reboot in every spelling,
the tools that erase a whole drive, volume or user; every request of the menu passes the
budget; bash's integration shows an error under the line, as zsh and fish do."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatcli.features.shell.danger import reasons
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import Error, FakeControl, FakeOpenAI, Reply
from tests.test_cmd_terminal import (  # noqa: F401
    MENU,
    _rc,
    chat_messages,
    env,
    prompt_line,
    start_cmd,
    term,
    work,
)
from tests.tmux_helpers import Tmux


@pytest.fixture(autouse=True)
def in_a_project(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """The user's home is a scratch directory, and the check runs in a project inside it
    (where "." and "*" are not broad)."""
    project = tmp_path / "home" / "proj"
    project.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(project)
    yield project


# -- 1. deleting a broad path, however it is spelt --------------------------------------------


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        # find running rm on what it finds is find -delete
        ("find ~ -type f -exec rm {} +", "rm -r on ~: a home directory"),
        ("find ~ -exec rm {} +", "rm -r on ~: a home directory"),
        ("find ~ -type f -exec rm {} \\;", "rm -r on ~: a home directory"),
        ("find ~ -type f -execdir rm {} +", "rm -r on ~: a home directory"),
        ("find ~ -type f -ok rm {} \\;", "rm -r on ~: a home directory"),
        ("find ~ -type f -exec unlink {} \\;", "unlink -r on ~: a home directory"),
        ("find $HOME -type f -exec /bin/rm -- {} +", "rm -r -- on $HOME: a home directory"),
        ("sudo find / -xdev -type f -exec rm {} +", "rm -r on /: the root of the file system"),
        ("find /etc -exec rm -f {} +", "rm -r -f on /etc: a top-level directory"),
        ("find ~ -type f -mtime +30 -exec rm {} +", "rm -r on ~: a home directory"),
        # the same paths fed to xargs or parallel
        ("find ~ -type f | xargs rm", "rm -r on ~: a home directory"),
        ("find ~ -type f -print0 | xargs -0 rm", "rm -r on ~: a home directory"),
        ("find ~ -type f -print0 | xargs -0 -n 10 rm --", "rm -r -- on ~: a home directory"),
        ("find ~ -type f | xargs -I{} rm {}", "rm -r on ~: a home directory"),
        ("find ~ -type f | sort | uniq | xargs rm", "rm -r on ~: a home directory"),
        ("find ~ -type f | parallel rm", "rm -r on ~: a home directory"),
        ("find ~ -type f | sudo xargs rm", "rm -r on ~: a home directory"),
        ("ls ~ | xargs rm", "rm on ~/*: a home directory"),
        ("ls -1 / | xargs rm", "rm on /*: the root of the file system"),
        ("find . -type f | xargs rm", "rm -r on .: the whole current directory"),
        ("find . -type f -exec rm {} +", "rm -r on .: the whole current directory"),
        ("find / -print0 | xargs -0 chmod 777", "chmod -R on /: the root of the file system"),
        # rm of every file of a broad path, without -r or -f
        ("rm ~/*", "rm on ~/*: a home directory"),
        ("rm -- ~/*", "rm -- on ~/*: a home directory"),
        ("rm ~/.*", "rm on ~/.*: a home directory"),
        ("rm ~/{*,.*}", "rm on ~/{*,.*}: a home directory"),
        ('rm "$HOME"/*', "rm on $HOME/*: a home directory"),
        ("rm ${HOME}/*", "rm on ${HOME}/*: a home directory"),
        ("rm -i ~/*", "rm -i on ~/*: a home directory"),
        ("rm -v /*", "rm -v on /*: the root of the file system"),
        ("rm /*/*", "rm on /*/*: the root of the file system"),
        ("rm ~root/*", "rm on ~root/*: a home directory"),
        ("rm /home/*", "rm on /home/*: a top-level directory"),
        ("unlink ~/*", "unlink on ~/*: a home directory"),
        ("rm /etc/*", "deletes in a system directory (/etc/*)"),
        ("cd ~ && rm *", "rm on *: a home directory (the current directory after cd ~)"),
        ("cd / && rm ./*", "rm on ./*: the root of the file system (the current directory"),
        ("cd /etc/nginx && rm ../*", "deletes in a system directory (../*)"),
        ("rm -d ~", "rm -d on ~: a home directory"),
        # the current and previous directory spelt with ~+, ~- and $PWD
        ("rm -rf ~+", "rm -rf on ~+: the whole current directory"),
        ("rm -rf ~+/", "rm -rf on ~+/: the whole current directory"),
        ("rm -rf ~+/*", "rm -rf on ~+/*: the whole current directory"),
        ("rm -rf $PWD", "rm -rf on $PWD: the whole current directory"),
        ("rm -rf ~-", "rm -rf on ~-: the previous directory ($OLDPWD), not known"),
        ("cd / && rm ~+/*", "rm on ~+/*: the root of the file system (the current directory"),
        ("find ~+ -type f -exec rm {} +", "rm -r on ~+: the whole current directory"),
    ],
)
def test_deleting_a_broad_path_is_destructive_however_it_is_spelt(
    command: str, reason: str
) -> None:
    found = reasons(command)
    assert any(reason in r for r in found), found


@pytest.mark.parametrize(
    "command",
    [
        # what the README keeps allowed: narrowed finds, one file, project paths
        "find . -name '*.pyc' -exec rm {} +",
        "find . -name '*.pyc' -exec rm -f {} +",
        "find . -name '*.pyc' | xargs rm",
        "find . -name '*.o' -print0 | xargs -0 rm --",
        "find ~ -name '*.bak' -exec rm {} \\;",
        "find ~/Downloads -mtime +30 -exec rm {} +",
        "find build -type f -exec rm {} +",
        "rm ./build/x.o",
        "rm notes.txt",
        "rm ../notes.txt",
        "rm ~/notes.txt",
        "rm ~/Downloads/*",
        "rm ~/*.log",
        "rm -f *.log",
        'rm "$f"',
        'rm -- "$tmp"/*',
        'for f in *.tmp; do rm "$f"; done',
        "rm $(git ls-files --deleted)",
        "git ls-files -z --deleted | xargs -0 rm",
        "cat to-delete.txt | xargs rm",
        "ls *.tmp | xargs rm",
        "find . -name '*.log' | xargs grep -l error",
        "find ~ -type f | xargs ls -l",
        "ls ~",
        "find ~ -type f",
        # the words of the new rules in harmless places
        "git init",
        "npm init -y",
        "init q",
        "telinit u",
        "runlevel",
        "who -r",
        "systemctl status reboot.target",
        "systemctl list-units --type=target",
        "loginctl list-sessions",
        "kexec -l /boot/vmlinuz --initrd=/boot/initrd.img --reuse-cmdline",
        "nvme list",
        "nvme smart-log /dev/nvme0",
        "hdparm -I /dev/sda",
        "cryptsetup status root",
        "cryptsetup open /dev/sda2 data",
        "zfs list -t snapshot",
        "zfs snapshot pool/data@before",
        "zpool status",
        "lvs",
        "lvcreate -L 10G -n data vg",
        "btrfs subvolume list /",
        "btrfs subvolume create /mnt/new",
        "btrfs filesystem show",
        "userdel bob",
        "badblocks -sv /dev/sdb",
        "sgdisk --print /dev/sda",
        "echo 'init 0'",
    ],
)
def test_harmless_look_alikes_stay_allowed(command: str) -> None:
    assert reasons(command) == []


def test_every_file_of_the_current_directory_counts_where_that_is_broad(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    spellings = ["rm *", "rm ./*", "rm ~+/*", "ls | xargs rm", "rm .*", "rm -- *"]
    monkeypatch.chdir(home / "proj")
    for command in spellings:
        assert reasons(command) == [], command
    monkeypatch.chdir(home)
    for command in spellings:
        found = reasons(command)
        assert any(": a home directory (the current directory)" in r for r in found), (
            command,
            found,
        )


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("init 0", "init 0: powers the machine off"),
        ("init 6", "init 6: restarts the machine"),
        ("sudo /sbin/init 0", "init 0: powers the machine off"),
        ("telinit 6", "telinit 6: restarts the machine"),
        ("telinit 0", "telinit 0: powers the machine off"),
        ("init 1", "init 1: switches the runlevel"),
        ("telinit S", "telinit S: switches the runlevel"),
        ("halt -p", "halt stops or restarts the machine"),
        ("poweroff --force", "poweroff stops or restarts the machine"),
        ("reboot", "reboot stops or restarts the machine"),
        ("shutdown -r +5", "shutdown stops or restarts the machine"),
        ("systemctl halt", "systemctl stops or restarts the machine"),
        ("systemctl poweroff -i", "systemctl stops or restarts the machine"),
        ("systemctl kexec", "systemctl stops or restarts the machine"),
        ("systemctl soft-reboot", "systemctl stops or restarts the machine"),
        ("systemctl start reboot.target", "systemctl stops or restarts the machine"),
        ("systemctl start poweroff.target", "systemctl stops or restarts the machine"),
        ("loginctl reboot", "loginctl stops or restarts the machine"),
        ("kexec -e", "kexec stops or restarts the machine"),
        ("kexec /boot/vmlinuz", "kexec stops or restarts the machine"),
        ("openrc-shutdown -p now", "openrc-shutdown stops or restarts the machine"),
        ("busybox reboot", "reboot stops or restarts the machine"),
        ("sh -c 'init 0'", "init 0: powers the machine off"),
    ],
)
def test_shutdown_and_reboot_in_every_spelling(command: str, reason: str) -> None:
    found = reasons(command)
    assert any(reason in r for r in found), found


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("blkdiscard /dev/sda", "blkdiscard discards every block of the device"),
        ("blkdiscard -f /dev/nvme0n1", "blkdiscard discards every block"),
        ("nvme format /dev/nvme0n1", "nvme format: erases the whole drive"),
        ("nvme format /dev/nvme0n1 --ses=1", "nvme format: erases the whole drive"),
        ("nvme sanitize -a 2 /dev/nvme0", "nvme sanitize: erases the whole drive"),
        ("hdparm --user-master u --security-erase NULL /dev/sda", "hdparm --security-erase:"),
        ("hdparm --security-erase-enhanced p /dev/sda", "hdparm --security-erase-enhanced:"),
        ("sg_format --format /dev/sg0", "sg_format --format: formats the whole drive"),
        ("badblocks -wsv /dev/sdb", "badblocks -w: a write test"),
        ("cryptsetup luksErase /dev/sda", "cryptsetup luksErase: destroys the keys"),
        ("cryptsetup -q erase /dev/sda2", "cryptsetup erase: destroys the keys"),
        ("cryptsetup --type luks2 luksFormat /dev/sda2", "cryptsetup luksFormat:"),
        ("sgdisk --zap-all /dev/sda", "sgdisk changes a disk's partitions"),
        ("sgdisk -Z /dev/sda", "sgdisk changes a disk's partitions"),
        ("mdadm --zero-superblock /dev/sdb1", "mdadm --zero-superblock:"),
        ("zfs destroy -r pool/data", "zfs destroy: destroys a dataset"),
        ("zfs rollback -r pool/data@old", "zfs rollback: destroys a dataset or snapshot"),
        ("zpool destroy -f tank", "zpool destroy: destroys a pool"),
        ("zpool labelclear -f /dev/sdb", "zpool labelclear: destroys a pool"),
        ("lvremove -f vg/lv", "lvremove deletes logical volumes with their data"),
        ("lvremove -y vg", "lvremove deletes logical volumes"),
        ("vgremove -f vg", "vgremove deletes a volume group"),
        ("pvremove /dev/sdb", "pvremove wipes the LVM label"),
        ("btrfs subvolume delete /", "btrfs subvolume delete: deletes a subvolume"),
        ("btrfs subvolume delete -c /mnt/data", "btrfs subvolume delete:"),
        ("btrfs sub del /mnt/data", "btrfs subvolume delete:"),
        ("btrfs su d /mnt/data", "btrfs subvolume delete:"),
        ("btrfs -q subvol delete /mnt/data", "btrfs subvolume delete:"),
        ("userdel -r bob", "userdel -r: deletes the user's home directory"),
        ("userdel -rf bob", "userdel -r: deletes the user's home directory"),
        ("userdel --remove bob", "userdel --remove: deletes the user's home directory"),
        ("deluser --remove-home bob", "deluser --remove-home: deletes the user's files"),
        ("sudo lvremove vg/lv", "lvremove deletes logical volumes"),
        ("ssh host 'zpool destroy tank'", "zpool destroy: destroys a pool"),
    ],
)
def test_tools_erasing_a_whole_drive_volume_or_user_are_destructive(
    command: str, reason: str
) -> None:
    found = reasons(command)
    assert any(reason in r for r in found), found


@pytest.mark.parametrize(
    "command",
    [
        "find ~ -type f -exec rm {} +",
        "find ~ -type f | xargs rm",
        "find ~ -type f -print0 | xargs -0 rm",
        "rm ~/*",
    ],
)
def test_execute_yes_refuses_every_spelling_of_deleting_the_home_directory(
    fake: FakeOpenAI, tmp_path: Path, command: str
) -> None:
    """The audit's repro: ``find ~ -type f -delete`` was refused while ``-exec rm`` emptied
    the (here, scratch) home directory under ``--execute --yes``."""
    home = tmp_path / "fakehome"
    (home / "docs").mkdir(parents=True)
    (home / "docs" / "thesis.tex").write_text("thesis")
    (home / "notes.txt").write_text("a")
    fake.script(Reply(text=command))
    environ = fake_env(tmp_path, fake, HOME=str(home), SHELL="/bin/bash")
    assert os.path.expanduser("~") != str(home)  # only the command's environment is the scratch
    result = run_cli("cmd", "--shell", "bash", "clean", "my", "home", "--execute", "--yes",
                     env=environ)  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "refusing to run a command that looks destructive" in result.stderr
    assert "a home directory" in result.stderr
    assert "running:" not in result.stderr
    assert sorted(p.name for p in home.rglob("*") if p.is_file()) == ["notes.txt", "thesis.tex"]


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("init 0", "init 0: powers the machine off"),
        ("blkdiscard /dev/sda", "blkdiscard discards every block of the device"),
        ("ls ~ | xargs rm", "rm on ~/*: a home directory"),
    ],
)
def test_off_a_terminal_the_new_findings_are_warned_about(
    fake: FakeOpenAI, tmp_path: Path, command: str, reason: str
) -> None:
    """Never run (no ``--execute``): only printed, with the warning."""
    fake.script(Reply(text=command))
    environ = fake_env(tmp_path, fake, HOME=str(tmp_path))
    result = run_cli("cmd", "--shell", "bash", "do", "it", env=environ)
    assert (result.returncode, result.stdout) == (0, command + "\n"), result.stderr
    assert f"warning: this command looks destructive: {reason}" in result.stderr


# -- 4. every request of cmd's menu passes the budget -----------------------------------------


@pytest.mark.terminal
def test_revise_and_describe_in_the_menu_are_judged_by_the_budget(
    term: Tmux,  # noqa: F811
    control: FakeControl,
    work: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Each request costs $0.00033 (gpt-4o-mini, 1000 in, 300 out) against $0.00036: the
    first is allowed, the revision too (with the 80 % notice, once), the description is
    refused with a line saying --over-budget, and the menu stays."""
    (tmp_path / "config.toml").write_text(
        '[defaults]\nmodel = "gpt-4o-mini"\ndaily_budget_usd = 0.00036\n'
    )
    control.script(
        *(Reply(text=t, prompt_tokens=1000, completion_tokens=300)
          for t in ("ls -la", "ls -lah", "It lists files."))
    )  # fmt: skip
    start_cmd(term, work, "list files")
    term.keys("r")
    term.wait_for("What should change?")
    term.type("human readable")
    term.keys("Enter")
    screen = term.wait_for(lambda s: "ls -lah" in s and s.rstrip().endswith(MENU + " (default)"))
    assert screen.count("$0.00033 of your daily budget $0.00036 is spent (91%)") == 1, screen
    term.keys("d")  # at once: the budget is read afresh for each request
    refused = "$0.00066 of your daily budget $0.00036 is spent: nothing was sent (run cmd again "
    refused += "with --over-budget to go on)"
    screen = term.wait_for(lambda s: refused in s and s.rstrip().endswith(MENU + " (default)"))
    term.keys("d")  # refused again, still without a request
    term.wait_for(lambda s: s.count(refused) == 2 and s.rstrip().endswith(MENU + " (default)"))
    assert len(chat_messages(control)) == 2
    term.keys("e")  # the menu still works: the revised command runs
    assert term.wait_exit() == 0
    assert term.history().count("is spent (91%)") == 1  # the notice once


# -- 13. bash shows the error under the line, as zsh and fish do --------------------------------


@pytest.mark.terminal
@pytest.mark.external
@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_shows_the_error_under_the_line(
    term: Tmux,  # noqa: F811
    control: FakeControl,
    tmp_path: Path,
) -> None:
    control.script(Error(401, "invalid key"))
    term.start(_rc("bash", tmp_path))
    term.wait_for(lambda s: prompt_line(s) == "READY>")
    term.type("list the files")
    term.keys("M-e")
    screen = term.wait_for(
        lambda s: "invalid key" in s and prompt_line(s) == "READY> list the files"
    )
    rows = [row.rstrip() for row in screen.splitlines()]
    error = next(i for i, row in enumerate(rows) if row.startswith("chatcli: error:"))
    assert "READY> list the files" in rows[:error], screen  # the line, then the error under it
    assert rows[error - 1] == "READY> list the files", screen
    assert prompt_line(screen) == "READY> list the files"  # and the line still there to edit
