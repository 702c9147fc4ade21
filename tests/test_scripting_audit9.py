"""chatcli as a building block of shell scripts (audit 9, area scripting, findings 2, 5, 6, 7
and two of 10): parallel ``config set`` runs keep every value; ``batch retry`` is confirmed
above ``confirm_above_usd`` as ``submit`` is; a cost question from a background job (``&``
in a terminal) refuses instead of stopping the job; ``templates edit`` starts no editor off a
terminal; a job advanced by another chatcli is "busy" (exit 1), not a usage error.

The real CLI: in process (``run_cli``) where streams can be injected; real processes where the
finding needs them (20 writers at once, a pseudo-terminal whose foreground group is not the
command's, a terminal on stdin and stdout for the editor).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.cli_helpers import chatcli_argv, clean_env, fake_env, run_cli
from tests.fakes import Delay, Error, FakeOpenAI, Reply
from tests.test_batch import write_jsonl

# -- 2: parallel `config set` loses nothing ---------------------------------------------------


@pytest.mark.process
def test_parallel_config_set_keeps_every_value(tmp_path: Path) -> None:
    """20 ``config set`` at once into a config (and folder) that does not exist yet, then 10
    more into the file they made: every key is there, the file stays 0600 and valid."""
    config = tmp_path / "new" / "config.toml"
    env = clean_env(tmp_path, CHATCLI_CONFIG=str(config))
    refused = run_cli("config", "set", "defaults.nonsense", "1", env=env)
    assert refused.returncode == 3, refused.stderr
    assert not config.parent.exists()  # a refused value makes no folder (nor lock file)

    def together(keys: list[str]) -> None:
        values = {"defaults.timeout": "30", "defaults.max_retries": "5"}
        argvs = [chatcli_argv("config", "set", k, values.get(k, "gpt-4o-mini")) for k in keys]
        pipe = subprocess.PIPE
        procs = [
            subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=pipe, stderr=pipe)
            for argv in argvs
        ]
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            assert out == b""

    first = [f"aliases.a{i}" for i in range(20)]
    together(first)
    aliases = tomllib.loads(config.read_text())["aliases"]
    assert sorted(aliases) == sorted(k.split(".")[1] for k in first)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert [p.name for p in config.parent.iterdir()] == ["config.toml"]  # no lock, no temp file

    config.write_text("# mine\n" + config.read_text())
    more = [f"aliases.b{i}" for i in range(5)] + [
        "defaults.timeout",
        "defaults.max_retries",
        "defaults.model",
        "aliases.fast",
        "aliases.slow",
    ]
    together(more)
    text = config.read_text()
    data = tomllib.loads(text)
    assert text.startswith("# mine\n")
    assert len(data["aliases"]) == 20 + 5 + 2
    assert data["defaults"] == {"timeout": 30, "max_retries": 5, "model": "gpt-4o-mini"}
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert [p.name for p in config.parent.iterdir()] == ["config.toml"]


# -- 5: `batch retry` asks (or refuses) above confirm_above_usd -------------------------------


def _costly(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[defaults]\nconfirm_above_usd = 0.0000001\n")


def test_batch_retry_is_confirmed_like_submit(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    _costly(tmp_path)
    lines = tmp_path / "in.jsonl"
    lines.write_text('{"prompt": "hello one"}\n{"prompt": "hello two"}\n')
    fake.script(Error(400, "bad"), Error(400, "bad"))
    failed = run_cli("batch", "submit", str(lines), "--local", "--yes", env=env)
    assert failed.returncode == 5, failed.stderr
    job = failed.stdout.strip()
    sent = len(fake.chat_requests())
    assert sent == 2

    refused = run_cli("batch", "retry", job, env=env)
    assert refused.returncode == 2, refused.stderr
    assert "2 requests, " in refused.stderr and "normal prices (local runner)" in refused.stderr
    assert "above confirm_above_usd ($0.0000001)" in refused.stderr
    assert "hint: nothing was sent; pass --yes to retry anyway" in refused.stderr
    assert refused.stdout == ""
    assert len(fake.chat_requests()) == sent  # nothing sent
    listed = run_cli("batch", "list", "--json", env=env)
    assert [j["name"] for j in json.loads(listed.stdout)] == [job]  # no new job

    fake.default_reply = Reply(text="fine")
    retried = run_cli("batch", "retry", job, "--yes", env=env)
    assert retried.returncode == 0, retried.stderr
    assert len(fake.chat_requests()) == sent + 2


def test_batch_retry_on_the_batch_api_is_priced_at_batch_prices(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """A remote job's retry is priced as its submit was (half price) and refused the same way
    off a terminal; nothing is uploaded, no job made."""
    env = fake_env(tmp_path, fake)
    name = run_cli("batch", "submit", str(write_jsonl(tmp_path / "in.jsonl", 4, {2})), env=env)
    job = name.stdout.strip()
    assert run_cli("batch", "wait", job, env=env).returncode == 0
    uploads = len(fake.batch_api.files)
    _costly(tmp_path)
    refused = run_cli("batch", "retry", job, env=env)
    assert refused.returncode == 2, refused.stderr
    assert "1 requests, " in refused.stderr and "batch prices (half price)" in refused.stderr
    assert "above confirm_above_usd ($0.0000001)" in refused.stderr
    assert len(fake.batch_api.files) == uploads
    listed = run_cli("batch", "list", "--json", env=env)
    assert len(json.loads(listed.stdout)) == 1
    retried = run_cli("batch", "retry", job, "--yes", env=env)
    assert retried.returncode == 0, retried.stderr
    assert len(fake.batch_api.files) == uploads + 1


# -- 6: a cost question from a background job refuses instead of stopping it --------------------

_BACKGROUND = r"""
import os, signal, sys
name, stdin_mode, *argv = sys.argv[1:]
os.setsid()
tty = os.open(name, os.O_RDWR)  # our controlling terminal; our group is its foreground one
pid = os.fork()
if pid == 0:
    os.setpgid(0, 0)  # a job of its own, left in the background, as `cmd &` in a shell
    for s in (signal.SIGTTOU, signal.SIGTTIN, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)
    os.dup2(tty if stdin_mode in ("tty", "all") else os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(tty, 2)
    if stdin_mode == "all":  # stdout the terminal too
        os.dup2(tty, 1)
    os.execv(argv[0], argv)
try:
    os.setpgid(pid, pid)
except OSError:
    pass
_, status = os.waitpid(pid, os.WUNTRACED)
if os.WIFSTOPPED(status):  # stopped on the terminal (SIGTTOU/SIGTTIN): the hang
    os.kill(pid, signal.SIGKILL)
    os.kill(pid, signal.SIGCONT)
    os.waitpid(pid, 0)
    sys.exit(99)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _in_background(env: dict[str, str], stdin: str, *args: str) -> tuple[int, str]:
    """``chatcli ARGS`` as a background job of a terminal (a pty made the controlling terminal
    of a new session, whose foreground group is not chatcli's); stdin the terminal ("tty"),
    /dev/null ("devnull") or stdin and stdout both the terminal ("all"), stderr the terminal.
    (exit code, what the terminal showed); 99: stopped."""
    import pty

    master, slave = pty.openpty()
    name = os.ttyname(slave)
    proc = subprocess.Popen(
        [sys.executable, "-c", _BACKGROUND, name, stdin, *chatcli_argv(*args)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    os.close(slave)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    said = b""
    os.set_blocking(master, False)
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # nothing more, or the terminal was closed
            break
        if not chunk:
            break
        said += chunk
    os.close(master)
    assert out == b"", out
    return proc.returncode, said.decode("utf-8", "replace") + err.decode("utf-8", "replace")


@pytest.mark.process
@pytest.mark.parametrize(
    ("command", "stdin"),
    [("summarize", "tty"), ("summarize", "devnull"), ("batch", "devnull"), ("batch", "tty")],
)
def test_a_cost_question_in_a_background_job_refuses(
    fake: FakeOpenAI, tmp_path: Path, command: str, stdin: str
) -> None:
    env = fake_env(tmp_path, fake)
    _costly(tmp_path)
    if command == "summarize":
        text = tmp_path / "big.txt"
        text.write_text("word " * 2000)
        args = ["summarize", str(text)]
        hint = "--yes"
    else:
        lines = tmp_path / "in.jsonl"
        lines.write_text('{"prompt": "hello one"}\n{"prompt": "hello two"}\n')
        args = ["batch", "submit", str(lines), "--local"]
        hint = "pass --yes to submit anyway"
    code, said = _in_background(env, stdin, *args)
    assert code == 2, (code, said)  # 99: stopped by the terminal until `fg`
    assert "above confirm_above_usd ($0.0000001)" in said, said
    assert hint in said and "Go on?" not in said, said
    assert fake.chat_requests() == []


# -- 7: `templates edit` off a terminal starts no editor --------------------------------------


def _editor(tmp_path: Path) -> tuple[dict[str, str], Path]:
    marker = tmp_path / "editor-ran"
    editor = tmp_path / "editor.sh"
    editor.write_text(f'#!/bin/sh\ntouch "{marker}"\nprintf "Hello {{{{input}}}}\\n" > "$1"\n')
    editor.chmod(0o755)
    env = {**clean_env(tmp_path), "EDITOR": str(editor)}
    env.pop("VISUAL", None)
    return env, marker


@pytest.mark.parametrize(("tty", "given"), [(False, "q\n"), (True, ":!touch x\n"), (False, None)])
def test_templates_edit_off_a_terminal_is_refused(
    tmp_path: Path, tty: bool, given: str | None
) -> None:
    """Piped stdin, or stdout not a terminal (``tty``: stdout and stderr are, stdin is not):
    exit 2, one line and a hint naming the file; no editor, no skeleton, nothing on stdout."""
    env, marker = _editor(tmp_path)
    refused = run_cli("templates", "edit", "foo", env=env, input=given, tty=tty)
    assert refused.returncode == 2, refused.stderr
    lines = refused.stderr.splitlines()
    assert lines[0] == (
        "chatcli: error: templates edit opens an editor and needs a terminal (stdin and stdout)"
    )
    assert lines[1].startswith("hint: run it in a terminal, or write ")
    assert lines[1].endswith(f"{tmp_path / 'templates' / 'foo.md'} yourself")
    assert refused.stdout == ""
    assert not marker.exists()
    assert not (tmp_path / "templates").exists()


def run_in_terminal(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``chatcli ARGS`` with a pseudo-terminal as stdin and stdout (as typed in a terminal),
    stderr captured: what ``templates edit`` needs to start the editor."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        chatcli_argv(*args), stdin=slave, stdout=slave, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    os.close(slave)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        os.close(master)
    return subprocess.CompletedProcess(list(args), proc.returncode, "", err.decode())


# -- 10: a job advanced by another chatcli is busy (exit 1), not a usage error ------------------


@pytest.mark.process
def test_a_job_busy_in_another_chatcli_is_exit_1(fake: FakeOpenAI, tmp_path: Path) -> None:
    """The same local ``submit`` run while the first still runs it: exit 1 (SPEC §7: "any
    other error"), not 2, and nothing sent twice."""
    import time

    env = fake_env(tmp_path, fake)
    lines = tmp_path / "in.jsonl"
    lines.write_text('{"prompt": "hello one"}\n')
    fake.script(Delay(30, Reply("late")))
    first = subprocess.Popen(
        chatcli_argv("batch", "submit", str(lines), "--local", "--yes"), env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not fake.chat_requests() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake.chat_requests(), "the first submit never sent its request"
        second = run_cli("batch", "submit", str(lines), "--local", "--yes", env=env)
        assert second.returncode == 1, second.stderr
        assert "is being advanced by another chatcli" in second.stderr
        assert len(fake.chat_requests()) == 1
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
