"""``chatcli cmd`` off a terminal, through the real CLI against the fake server: only the command
on stdout and nothing run, unless ``--execute --yes``; destructive ones refused without
``--yes-destructive``; logged as ``cmd``; followed up by ``ask -c``; shell detection; the
snippets of ``shell-integration``."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import clean_env, fake_env, run_cli, run_process
from tests.fakes import FakeOpenAI, Reply
from tests.test_startup import HEAVY, PROBE
from tests.tmux_helpers import wait_until

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.external  # the commands run in real bash and zsh


def cmd(
    *args: str,
    env: dict[str, str],
    cwd: Path,
    via: list[str] | None = None,
    argv: list[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``chatcli ARGS`` in ``cwd`` (through the shell line ``via``, or as ``argv``), stdin
    empty."""
    argv = argv or [sys.executable, "-m", "chatcli", *args]
    if via is not None:
        argv = [*via, f"{subprocess.list2cmdline(argv)}; exit $?"]
    return subprocess.run(
        argv,
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def system_prompt(fake: FakeOpenAI, index: int = -1) -> str:
    messages = fake.chat_requests()[index].json["messages"]
    assert messages[0]["role"] == "system"
    return str(messages[0]["content"])


@pytest.fixture
def work(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def test_off_a_terminal_only_the_command_is_printed_and_nothing_runs(
    fake: FakeOpenAI, tmp_path: Path, work: Path
) -> None:
    fake.script(Reply(text="Here it is:\n```bash\ntouch made-by-cmd\n```\nIt makes a file."))
    env = fake_env(tmp_path, fake)
    result = cmd("cmd", "--shell", "bash", "make", "a", "file", env=env, cwd=work)
    assert (result.returncode, result.stdout, result.stderr) == (0, "touch made-by-cmd\n", "")
    assert not (work / "made-by-cmd").exists()
    sent = fake.chat_requests()[0].json["messages"]
    assert sent[1] == {"role": "user", "content": "make a file"}
    assert "for bash on Linux" in sent[0]["content"]
    assert "command only" in sent[0]["content"]


def test_piped_stdin_is_the_description(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text="du -sh * | sort -h"))
    result = run_cli(
        "cmd", "--shell", "sh", input="sizes of what is here\n", env=fake_env(tmp_path, fake)
    )
    assert (result.returncode, result.stdout) == (0, "du -sh * | sort -h\n")
    assert fake.chat_requests()[0].json["messages"][1]["content"] == "sizes of what is here"


def test_no_description_is_a_usage_error(fake: FakeOpenAI, tmp_path: Path) -> None:
    result = run_cli("cmd", env=fake_env(tmp_path, fake))
    assert result.returncode == 2
    assert result.stderr.startswith("chatcli: error: describe the command")
    assert fake.chat_requests() == []


def test_execute_runs_in_the_shell_cwd_and_environment_with_the_commands_exit_code(
    fake: FakeOpenAI, tmp_path: Path, work: Path
) -> None:
    fake.script(Reply(text='echo "$GREETING from $(pwd)"; [[ -n $BASH_VERSION ]] && exit 7'))
    env = fake_env(tmp_path, fake, GREETING="hello")
    result = cmd("cmd", "--shell", "bash", "--execute", "--yes", "greet", env=env, cwd=work)
    assert result.returncode == 7, result.stderr
    assert result.stdout == f"hello from {work}\n"
    assert result.stderr.startswith("chatcli: running: echo")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--execute"], "--execute runs the command without showing it first"),
        (["--yes"], "--yes only goes with --execute"),
        (["--yes-destructive"], "--yes-destructive only goes with --execute"),
    ],
)
def test_execute_exists_only_with_yes(
    fake: FakeOpenAI, tmp_path: Path, flags: list[str], message: str
) -> None:
    result = run_cli("cmd", *flags, "list files", env=fake_env(tmp_path, fake))
    assert result.returncode == 2
    assert result.stderr.startswith(f"chatcli: error: {message}")
    assert fake.chat_requests() == []


def test_a_destructive_command_needs_yes_destructive_to_run(
    fake: FakeOpenAI, tmp_path: Path, work: Path
) -> None:
    answer = "dd if=/dev/null of=overwritten"
    fake.script(Reply(text=answer), Reply(text=answer), Reply(text=answer))
    env = fake_env(tmp_path, fake)
    printed = cmd("cmd", "--shell", "bash", "blank it", env=env, cwd=work)
    assert printed.returncode == 0 and printed.stdout == answer + "\n"
    assert printed.stderr == (
        "chatcli: warning: this command looks destructive: "
        "dd overwrites overwritten with raw data\n"
    )
    refused = cmd("cmd", "--shell", "bash", "--execute", "--yes", "blank it", env=env, cwd=work)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[0] == (
        "chatcli: error: refusing to run a command that looks destructive: "
        "dd overwrites overwritten with raw data"
    )
    assert not (work / "overwritten").exists()
    ran = cmd(
        "cmd", "--shell", "bash", "--execute", "--yes", "--yes-destructive", "blank it",
        env=env, cwd=work,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert (work / "overwritten").exists()


def test_an_answer_that_is_not_a_command_is_reported_not_run(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(Reply(text="I'm sorry, I can't tell which files you mean."))
    result = run_cli("cmd", "--execute", "--yes", "do the thing", env=fake_env(tmp_path, fake))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        "chatcli: error: the answer is not a command: \"I'm sorry, I can't tell which files "
        'you mean."',
        "hint: describe what the command should do more precisely",
    ]


def test_requests_are_logged_as_cmd_and_ask_c_follows_up(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Reply(text="find . -type f -print0 | xargs -0 ls -l", prompt_tokens=40))
    assert run_cli("cmd", "--shell", "zsh", "list files safely", env=env).returncode == 0
    usage = json.loads(run_cli("usage", "--by", "command", "--json", env=env).stdout)
    assert [(row["key"], row["requests"], row["prompt_tokens"]) for row in usage["rows"]] == [
        ("cmd", 1, 40)
    ]
    assert usage["rows"][0]["cost_usd"] is not None
    follow = run_cli("ask", "-c", "why does it need -print0?", env=env)
    assert follow.returncode == 0, follow.stderr
    sent = fake.chat_requests()[1].json["messages"]
    assert sent[0]["content"].startswith("You helped the user write a zsh command for ")
    assert sent[1:] == [
        {"role": "user", "content": "list files safely"},
        {"role": "assistant", "content": "find . -type f -print0 | xargs -0 ls -l"},
        {"role": "user", "content": "why does it need -print0?"},
    ]


def test_a_role_replaces_the_built_in_prompt_with_shell_and_os_filled_in(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[roles.terse]\nsystem = "One {shell} line for {os}, nothing else."\n')
    fake.script(Reply(text="ls"))
    result = run_cli("cmd", "-r", "terse", "--shell", "fish", "list", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert system_prompt(fake).startswith("One fish line for Linux")


def test_the_profiles_everyday_system_prompt_does_not_replace_the_built_in_one(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    (tmp_path / "config.toml").write_text('[defaults]\nsystem = "You are a poet."\n')
    fake.script(Reply(text="ls"))
    result = run_cli("cmd", "--shell", "bash", "list", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert system_prompt(fake).startswith("You turn a description into one command for bash")


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_the_shell_is_the_parent_process_before_SHELL(
    fake: FakeOpenAI, tmp_path: Path, work: Path
) -> None:
    env = fake_env(tmp_path, fake, SHELL="/usr/bin/fish")
    result = cmd("cmd", "list", env=env, cwd=work, via=["zsh", "-c"])
    assert result.returncode == 0, result.stderr
    assert "for zsh on" in system_prompt(fake)
    lock = str(tmp_path / "lock")
    result = cmd("cmd", "list", env=env, cwd=work, via=["flock", lock, "sh", "-c"])
    assert "for sh on" in system_prompt(fake)  # sh started it
    started_by_other = [sys.executable, "-m", "chatcli", "cmd", "list"]
    result = cmd(env=env, cwd=work, argv=["flock", lock, *started_by_other])
    assert result.returncode == 0, result.stderr
    assert "for fish on" in system_prompt(fake)  # flock is no shell: $SHELL decides


def test_the_shell_config_key_and_bad_shell_names(fake: FakeOpenAI, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    env = fake_env(tmp_path, fake)
    config.write_text('[defaults]\nshell = "zsh"\n')
    assert run_cli("cmd", "list", env=env).returncode == 0
    assert "for zsh on" in system_prompt(fake)
    shown = run_cli("config", "show", env=env).stdout
    assert any(line.split() == ["shell", "zsh", "[defaults]"] for line in shown.splitlines())
    assert run_cli("cmd", "--shell", "bash", "list", env=env).returncode == 0
    assert "for bash on" in system_prompt(fake)
    bad_flag = run_cli("cmd", "--shell", "cmd.exe", "list", env=env)
    assert bad_flag.returncode == 2
    assert bad_flag.stderr.startswith(
        "chatcli: error: Invalid value for '--shell': 'cmd.exe' is not one of 'bash', 'zsh'"
    )
    config.write_text('[defaults]\nshell = "tcsh"\n')
    bad_config = run_cli("cmd", "list", env=env)
    assert bad_config.returncode == 3
    assert "shell = 'tcsh' in the config" in bad_config.stderr
    config.write_text("[defaults]\nsave_history = 3\n")
    bad_type = run_cli("cmd", "list", env=env)
    assert bad_type.returncode == 3
    assert "save_history must be true, false or the path of a history file" in bad_type.stderr


def test_save_history_appends_what_execute_ran(fake: FakeOpenAI, tmp_path: Path) -> None:
    history = tmp_path / "zsh_history"
    history.write_text(": 1700000000:0;ls\n")
    (tmp_path / "config.toml").write_text(f'[defaults]\nsave_history = "{history}"\n')
    fake.script(Reply(text="echo done"))
    env = fake_env(tmp_path, fake)
    # a real process: the executed command writes to chatcli's own stdout descriptor
    result = run_process("cmd", "--shell", "zsh", "--execute", "--yes", "say done", env=env)
    assert (result.returncode, result.stdout) == (0, "done\n")
    assert f"chatcli: added to {history}" in result.stderr
    lines = history.read_text().splitlines()
    assert lines[0] == ": 1700000000:0;ls"
    assert lines[1].startswith(": ") and lines[1].endswith(":0;echo done")


def test_shell_integration_prints_a_snippet_for_each_shell(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    bash = run_cli("shell-integration", "bash", env=env)
    assert bash.returncode == 0
    assert "bind -m emacs -x '\"\\ee\": __chatcli_cmd'" in bash.stdout
    zsh = run_cli("-p", "openai", "shell-integration", "zsh", "--key", "ctrl-g", env=env)
    assert "bindkey -M emacs '^G' __chatcli_cmd" in zsh.stdout
    assert "chatcli -p openai cmd --shell zsh" in zsh.stdout
    fish = run_cli("shell-integration", "fish", "--key", "alt-x", env=env)
    assert "bind \\ex __chatcli_cmd" in fish.stdout
    for shell, snippet in (("bash", bash.stdout), ("zsh", zsh.stdout)):
        check = subprocess.run([shell, "-n"], input=snippet, text=True, capture_output=True)
        assert check.returncode == 0, check.stderr
    check = subprocess.run(
        ["fish", "--no-execute"], input=fish.stdout, text=True, capture_output=True
    )
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tcsh"], "Invalid value for 'shell': 'tcsh' is not one of 'bash', 'zsh', 'fish'"),
        (["bash", "--key", "ctrl-c"], "ctrl-c cannot be bound"),
        (["zsh", "--key", "F5"], "cannot bind 'F5'"),
    ],
)
def test_shell_integration_refuses_what_it_cannot_bind(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_cli("shell-integration", *args, env=clean_env(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"chatcli: error: {message}")


def test_sigterm_while_the_command_runs_is_passed_on_and_its_status_returned(
    fake: FakeOpenAI, tmp_path: Path, work: Path
) -> None:
    fake.script(Reply(text="touch started.txt; exec sleep 60"))
    env = {**fake_env(tmp_path, fake), "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "chatcli", "cmd", "--shell", "bash", "--execute", "--yes", "wait"]
    proc = subprocess.Popen(argv, env=env, cwd=work, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        wait_until(lambda: (work / "started.txt").exists())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 143  # the command's status: it died of SIGTERM
    finally:
        proc.kill()
        proc.communicate()


def _modules(args: list[str], env: dict[str, str]) -> tuple[int, str, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True, text=True, timeout=60, env={**env, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    result = json.loads(proc.stdout.splitlines()[-1])
    return result["code"], result["out"], result["mods"]


def test_cmd_off_a_terminal_loads_neither_sdk_nor_rich_nor_prompt_toolkit(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(Reply(text="ls -la"))
    code, out, mods = _modules(["cmd", "--shell", "bash", "list"], fake_env(tmp_path, fake))
    assert (code, out) == (0, "ls -la\n")
    heavy = ("openai", "rich", "prompt_toolkit", "pygments", "pydantic")
    assert [m for m in heavy if m in mods] == []
    assert "chatcli.features.shell.menu" not in mods


@pytest.mark.parametrize(
    "args", [["cmd", "--help"], ["shell-integration", "--help"], ["shell-integration", "zsh"]]
)
def test_help_and_snippets_load_no_heavy_modules(tmp_path: Path, args: list[str]) -> None:
    code, out, mods = _modules(args, clean_env(tmp_path))
    assert code == 0 and out
    assert [m for m in HEAVY if m in mods] == []
