"""Every path that holds a paid answer keeps it, whatever interrupts it (the reliability
audit's findings 1, 2, 9, 11 and 15): a signal while chatcli waits for a busy database sends
the answer to the recovery journal and stops; SIGTERM/SIGHUP during a `chat` reply ends the
REPL; a new conversation whose first turns were journaled comes back as one session in order;
a read-only or full data dir still serves the commands that only read; an `ask` stopped
before its answer began keeps the question. Real processes, real locks, real mounts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chatcli.store import Store
from tests.cli_helpers import chatcli_argv, fake_env, run_cli, run_process
from tests.fakes import FakeControl, FakeOpenAI, Reply
from tests.mounts import fill, read_only, tmpfs
from tests.test_recovery_journal import holding, release
from tests.tmux_helpers import Tmux, at_prompt, chat_tmux, wait_until

pytestmark = pytest.mark.process


def _messages(data: Path, name: str | None = None) -> list[tuple[str, str]]:
    with Store.open(data) as store:
        row = store.get_session(name) if name else store.latest_session()
        assert row is not None
        return [(m.role, str(m.content)) for m in store.all_messages(row.id)]


# --- 1: a signal during the busy-database wait ------------------------------------------------


@pytest.mark.parametrize(
    ("signum", "code", "name"),
    [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "interrupted")],
)
def test_a_signal_while_waiting_for_a_busy_database_journals_the_answer(
    fake: FakeOpenAI, tmp_path: Path, signum: int, code: int, name: str
) -> None:
    env = fake_env(tmp_path, fake, CHATCLI_STORE_WAIT="30")
    data = tmp_path / "data"
    assert run_cli("ask", "warm-up", env=env).returncode == 0
    with holding(data / "chatcli.db") as holder:
        proc = subprocess.Popen(chatcli_argv("ask", "--session", "paid", "must be kept"),
                                env=env, text=True, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        try:
            assert proc.stderr is not None
            notice = proc.stderr.readline()
            assert "waiting up to 30 s to save this answer" in notice, notice
            started = time.monotonic()
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=10)  # not the rest of the 30 s window
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        took = time.monotonic() - started
        journal = data / "recovery.jsonl"
        assert proc.returncode == code, err
        assert took < 3, err
        assert out == "echo(1): must be kept\n"
        assert f"this answer was saved to {journal}" in err, err
        assert err.strip().splitlines()[-1].endswith(name), err
        assert "must be kept" in journal.read_text()
        release(holder)
    listed = run_process("sessions", "list", env=env)
    assert "wrote 1 saved answer from the recovery journal" in listed.stderr, listed.stderr
    assert _messages(data, "paid") == [("user", "must be kept"),
                                       ("assistant", "echo(1): must be kept")]  # fmt: skip
    with Store.open(data) as store:
        assert len(store.usage_rows()) == 2  # the warm-up and the kept answer


# --- 15: ask stopped before its answer began ----------------------------------------------------


def test_ask_stopped_before_the_answer_began_keeps_the_question(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    data = tmp_path / "data"
    assert run_cli("ask", "--session", "mine", "first question", env=env).returncode == 0
    fake.script(Reply(delay=20))
    proc = subprocess.Popen(chatcli_argv("ask", "--session", "mine", "second question"),
                            env=env, text=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        wait_until(lambda: len(fake.chat_requests()) == 2)  # sent, nothing back yet
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, err
    assert _messages(data, "mine") == [
        ("user", "first question"), ("assistant", "echo(1): first question"),
        ("user", "second question"),
    ]  # fmt: skip
    shown = run_cli("sessions", "show", "mine", env=env)
    assert shown.stdout.rstrip().endswith("_[no answer]_"), shown.stdout
    with Store.open(data) as store:
        assert [u.status for u in store.usage_rows()] == ["ok", "interrupted"]


# --- 11: a read-only or full data dir still serves the displays -------------------------------


def test_read_only_data_dir_still_shows_sessions_and_usage(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "mnt", size="2m") as mnt:
        data = mnt / "data"
        env = fake_env(tmp_path, fake, CHATCLI_HOME=str(data))
        assert run_cli("ask", "--session", "keep", "hello there", env=env).returncode == 0
        (tmp_path / "q.jsonl").write_text('{"prompt": "q"}\n')
        job = run_cli("batch", "submit", str(tmp_path / "q.jsonl"), "--local", env=env)
        assert job.returncode == 0, job.stderr
        read_only(mnt)
        notice = f"chatcli: cannot write {data} (read-only file system): reading the database"
        name = job.stdout.strip()
        for args in (("sessions", "show", "keep"), ("sessions", "export", "keep", "--format",
                     "json"), ("sessions", "list"), ("sessions", "search", "hello"),
                     ("usage",), ("batch", "list"), ("batch", "status", name),
                     ("batch", "results", name)):  # fmt: skip
            result = run_cli(*args, env=env)
            assert result.returncode == 0, (args, result.stderr)
            assert result.stderr.startswith(notice), (args, result.stderr)
            assert len(result.stderr.splitlines()) == 1, (args, result.stderr)
        assert "hello there" in run_cli("sessions", "show", "keep", env=env).stdout
        refused = run_cli("ask", "hi", env=env)  # a paid request is still refused first
        assert refused.returncode == 1 and "must be writable" in refused.stderr


def test_full_disk_is_named_and_still_shows_sessions(fake: FakeOpenAI, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", size="2m") as mnt:
        data = mnt / "data"
        env = fake_env(tmp_path, fake, CHATCLI_HOME=str(data))
        assert run_cli("ask", "--session", "keep", "hello there", env=env).returncode == 0
        filler = fill(mnt)
        try:
            refused = run_process("ask", "hi", env=env)
            assert refused.returncode == 1
            assert "no space left on device" in refused.stderr, refused.stderr
            assert "disk I/O error" not in refused.stderr
            shown = run_process("sessions", "show", "keep", env=env)
            assert shown.returncode == 0, shown.stderr
            assert "hello there" in shown.stdout
            assert "(no space left on device): reading the database read-only" in shown.stderr
        finally:
            filler.unlink()


@pytest.mark.parametrize("free_kib", [32, 128])
def test_a_disk_too_full_to_keep_an_answer_is_refused_before_paying(
    fake: FakeOpenAI, tmp_path: Path, free_kib: int
) -> None:
    """Room to open the database but not for the 256 KiB ballast: the answer could be neither
    saved nor journaled, so the request is refused before it is sent (it used to be paid and
    then "not kept", exit 0)."""
    with tmpfs(tmp_path / "mnt", size="2m") as mnt:
        data = mnt / "data"
        env = fake_env(tmp_path, fake, CHATCLI_HOME=str(data))
        assert run_cli("ask", "--session", "keep", "hello there", env=env).returncode == 0
        sent = len(fake.chat_requests())
        filler = fill(mnt, leave=free_kib * 1024)
        try:
            refused = run_process("ask", "hi", env=env)
            assert refused.returncode == 1, refused.stderr
            assert "no space left on device" in refused.stderr
            assert len(fake.chat_requests()) == sent
            shown = run_process("sessions", "show", "keep", env=env)
            assert shown.returncode == 0 and "hello there" in shown.stdout, shown.stderr
        finally:
            filler.unlink()
        assert run_process("ask", "hi", env=env).returncode == 0  # room again: it works


def test_the_mv_of_a_damaged_database_runs_as_printed_whatever_the_path(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """The hint's ``mv`` is quoted for the shell: a data dir whose path holds a quote and a
    space still gets a command that moves the file aside."""
    data = tmp_path / "it's my data"
    env = fake_env(tmp_path, fake, CHATCLI_HOME=str(data))
    data.mkdir()
    (data / "chatcli.db").write_bytes(b"not a database at all" * 100)
    result = run_cli("sessions", "list", env=env)
    assert result.returncode == 1, result.stderr
    command = result.stderr.split("(mv ", 1)[1].split("); ", 1)[0]
    moved = subprocess.run(["bash", "-c", f"mv {command}"], capture_output=True, text=True)
    assert moved.returncode == 0, moved.stderr
    assert (data / "chatcli.db.broken").is_file()
    assert run_cli("ask", "hi", env=env).returncode == 0


# --- 2 and 9: the REPL ----------------------------------------------------------------------------


def _chat(tmux: Tmux) -> None:
    tmux.start([sys.executable, "-m", "chatcli", "chat"])
    tmux.wait_for(at_prompt)


def _say(tmux: Tmux, text: str, reply: str) -> None:
    tmux.type(text)
    tmux.keys("Enter")
    tmux.wait_for(reply)
    tmux.wait_for(at_prompt)


@pytest.mark.terminal
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_during_a_chat_reply_ends_chat(
    server: str, control: FakeControl, tmp_path: Path, signum: int, code: int
) -> None:
    control.script(Reply(words=3000, words_per_second=60))
    with chat_tmux(server, tmp_path) as tmux:
        _chat(tmux)
        tmux.type("a long story")
        tmux.keys("Enter")
        before = tmux.screen()
        tmux.wait_for(lambda s: len(s.split()) > len(before.split()) + 10)  # words arriving
        os.kill(tmux.program_pid(), signum)
        assert tmux.wait_exit(timeout=10) == code  # not at the prompt until a watchdog
    with Store.open(tmp_path / "data") as store:
        row = store.latest_session()
        assert row is not None
        kept = [(m.role, m.interrupted) for m in store.all_messages(row.id)]
        assert kept == [("user", False), ("assistant", True)]


@pytest.mark.terminal
def test_a_new_chat_whose_first_turns_were_journaled_comes_back_whole(
    server: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    with chat_tmux(server, tmp_path, CHATCLI_STORE_WAIT="0.5") as tmux:
        _chat(tmux)
        with holding(data / "chatcli.db"):
            _say(tmux, "turn ONE", "echo(1): turn ONE")
            tmux.wait_for("recovery.jsonl")
            _say(tmux, "turn TWO", "echo(2): turn TWO")
        _say(tmux, "turn THREE", "echo(3): turn THREE")
        tmux.keys("C-d")
        assert tmux.wait_exit() == 0
    listed = run_cli("sessions", "list", "--json", env=tmux.env)
    assert listed.returncode == 0, listed.stderr
    assert '"messages": 6' in listed.stdout and listed.stdout.count('"name"') == 1, listed.stdout
    assert _messages(data) == [
        ("user", "turn ONE"), ("assistant", "echo(1): turn ONE"),
        ("user", "turn TWO"), ("assistant", "echo(2): turn TWO"),
        ("user", "turn THREE"), ("assistant", "echo(3): turn THREE"),
    ]  # fmt: skip
    assert not list(data.glob("recovery.jsonl*"))
