"""A paid answer is never lost to the database: a real second process holding its write lock
past the busy timeout, or a real full filesystem (a small tmpfs), makes chatcli wait with a
notice up to ``CHATCLI_STORE_WAIT``, then keep the turn and its usage entry in the recovery
journal (0600) that the next command writes back. The answer stays on stdout, exit 0."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from chatcli.store import DB_NAME, Store
from tests.cli_helpers import chatcli_argv, fake_env, run_cli, run_process
from tests.fakes import FakeOpenAI, Reply
from tests.mounts import fill, tmpfs

pytestmark = pytest.mark.process

HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()  # hold the write lock until told
conn.execute("COMMIT")
print("released", flush=True)
"""


@contextmanager
def holding(db: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding ``db``'s write lock until ``release`` (or the block's end)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    try:
        yield proc
    finally:
        release(proc)


def release(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(timeout=10)


def session_messages(data: Path, name: str | None = None) -> list[tuple[str, str]]:
    with Store.open(data) as store:
        row = store.get_session(name) if name else store.latest_session()
        assert row is not None
        return [(m.role, str(m.content)) for m in store.all_messages(row.id)]


def usage_count(data: Path) -> int:
    with Store.open(data) as store:
        return len(store.usage_rows())


def test_busy_database_past_the_bound_goes_to_the_journal(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake, CHATCLI_STORE_WAIT="1")
    data = tmp_path / "data"
    assert run_cli("ask", "first", env=env).returncode == 0
    with holding(data / "chatcli.db"):
        result = run_process("ask", "--session", "held", "paid question", env=env, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "echo(1): paid question\n"  # delivered, and it says so
        assert "the database is busy" in result.stderr and "waiting up to 1 s" in result.stderr
        journal = data / "recovery.jsonl"
        assert f"this answer was saved to {journal}" in result.stderr
        assert "try again" not in result.stderr and "error" not in result.stderr
        assert stat.S_IMODE(journal.stat().st_mode) == 0o600
        assert "paid question" in journal.read_text()
    # the next command (any) writes it back, once
    listed = run_process("sessions", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "wrote 1 saved answer from the recovery journal" in listed.stderr
    assert "held" in listed.stdout
    assert not (data / "recovery.jsonl").exists()
    assert session_messages(data, "held") == [
        ("user", "paid question"), ("assistant", "echo(1): paid question"),
    ]  # fmt: skip
    assert usage_count(data) == 2
    again = run_process("sessions", "list", env=env)
    assert "recovery journal" not in again.stderr and usage_count(data) == 2
    follow = run_cli("ask", "-c", "and then?", env=env)  # the journaled turn is the context
    assert follow.returncode == 0
    sent = fake.chat_requests()[-1].json["messages"]
    assert [m["content"] for m in sent] == ["paid question", "echo(1): paid question", "and then?"]


def test_journals_wait_for_a_busy_database_without_holding_up_the_command(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """Three journals left by earlier commands, the database locked by another process: the
    next command does its own work (the replay gives up on the first busy file, it does not
    wait the busy timeout once per file) and every journal stays, byte for byte, for the
    command after the lock is gone."""
    env = fake_env(tmp_path, fake, CHATCLI_STORE_WAIT="1")
    data = tmp_path / "data"
    assert run_cli("ask", "first", env=env).returncode == 0
    for n in range(3):  # each run journals its answer: three files, as three processes leave
        with holding(data / "chatcli.db"):
            assert run_process("ask", "--session", f"s{n}", f"q{n}", env=env).returncode == 0
        (data / "recovery.jsonl").rename(data / f"recovery.jsonl.{n}-left")
    kept = {p.name: p.read_bytes() for p in data.glob("recovery.jsonl.*")}
    assert len(kept) == 3
    with holding(data / "chatcli.db"):
        listed = run_process("sessions", "list", env=env, timeout=60)
        assert listed.returncode == 0, listed.stderr
        assert {p.name: p.read_bytes() for p in data.glob("recovery.jsonl.*")} == kept
    after = run_process("sessions", "list", env=env)
    assert "wrote 3 saved answers from the recovery journal" in after.stderr
    assert all(f"s{n}" in after.stdout for n in range(3))
    assert not list(data.glob("recovery.jsonl*"))


def test_a_lock_released_within_the_bound_saves_directly(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake, CHATCLI_STORE_WAIT="60")
    data = tmp_path / "data"
    assert run_cli("ask", "first", env=env).returncode == 0
    with holding(data / "chatcli.db") as holder:
        proc = subprocess.Popen(chatcli_argv("ask", "waited for"), env=env, text=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)  # fmt: skip
        assert proc.stderr is not None
        notice = proc.stderr.readline()
        assert "the database is busy" in notice and "waiting up to 60 s" in notice
        release(holder)  # the other process is done: the answer goes straight in
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out == "echo(1): waited for\n"
    assert not (data / "recovery.jsonl").exists() and "journal" not in err
    assert session_messages(data)[-1] == ("assistant", "echo(1): waited for")


def ask_then_fill(
    env: dict[str, str], mnt: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``ask ARGS``; once its answer is streaming (paid for), the disk fills to the last byte.
    (A disk already full when chatcli starts is refused before anything is sent.)"""
    proc = subprocess.Popen(chatcli_argv("ask", *args), env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert proc.stdout is not None
    head = os.read(proc.stdout.fileno(), 64)  # unbuffered: communicate() reads the rest
    filler = fill(mnt)
    out, err = proc.communicate(timeout=60)
    text = (head + out).decode()
    return subprocess.CompletedProcess(proc.args, proc.returncode, text, err.decode()), filler


def test_full_disk_journals_the_answer_in_the_reserved_room(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "mnt", size="2m") as mnt:
        data = mnt / "data"
        env = fake_env(tmp_path, fake, CHATCLI_HOME=str(data))
        assert run_cli("ask", "first", env=env).returncode == 0
        fake.script(Reply(words=4000, words_per_second=4000))  # about 25 KB
        result, filler = ask_then_fill(env, mnt, "--session", "big", "a long answer please")
        assert result.returncode == 0, result.stderr
        assert len(result.stdout) > 20_000 and result.stdout.endswith("乱码。.\n")  # all of it
        assert f"saved to {data / 'recovery.jsonl'}" in result.stderr
        filler.unlink()
        listed = run_process("sessions", "list", env=env)
        assert "wrote 1 saved answer" in listed.stderr, listed.stderr
        messages = session_messages(data, "big")
        assert messages[0] == ("user", "a long answer please")
        assert messages[1][1].split() == result.stdout.split()
        # the ballast was the journal's room: the disk had no other byte left for it
        assert sorted(p.name for p in data.iterdir()) == [DB_NAME]


def test_the_ballast_has_no_name_and_lives_only_while_a_command_runs(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """The data dir holds the database and the input history, nothing else: the journal's
    ballast is a file with no name, held open while a command has the database open, whose
    room the kernel gives back when the process ends, even by SIGKILL."""
    env = fake_env(tmp_path, fake)
    data = Path(env["CHATCLI_HOME"])
    (data / "recovery.reserve").write_bytes(b"x")  # an older chatcli's named ballast
    fake.script(Reply(words=400, words_per_second=40))
    proc = subprocess.Popen(chatcli_argv("ask", "slow"), env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert proc.stdout is not None
    os.read(proc.stdout.fileno(), 16)  # answering: the database is open
    fds = Path(f"/proc/{proc.pid}/fd")
    nameless = [f for f in fds.iterdir() if os.readlink(f).startswith(f"{data}/")
                and os.readlink(f).endswith(" (deleted)")]  # fmt: skip
    assert [f.stat().st_blocks * 512 >= 256 * 1024 for f in nameless] == [True]
    assert not any(p.name.startswith(("recovery", ".ballast")) for p in data.iterdir())
    proc.kill()
    proc.wait()
    assert run_process("ask", "again", env=env).returncode == 0
    assert sorted(p.name for p in data.iterdir()) == [DB_NAME]


def test_when_the_journal_cannot_be_written_either_it_says_so(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    from chatcli.store import journal
    from tests.mounts import read_only

    with tmpfs(tmp_path / "mnt", size="2m") as mnt:
        env = fake_env(tmp_path, fake, CHATCLI_HOME=str(mnt / "data"))
        assert run_cli("ask", "first", env=env).returncode == 0
        notes: list[str] = []
        store = Store.open(mnt / "data")
        store.close()
        read_only(mnt)  # neither the database nor the journal can be written now
        kept = journal.keep(store, {"usage": {"model": "m"}}, notes.append)
        assert kept is False
        assert notes == [
            "could not save this answer (database: not writable; journal: Read-only file "
            "system); it was shown above but is not kept"
        ]


def test_local_batch_answers_go_to_the_journal_and_are_not_paid_twice(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    from tests.test_batch import results_jsonl, until, usage_rows, write_jsonl

    fake.default_reply = Reply(delay=0.1)
    env = fake_env(tmp_path, fake, CHATCLI_STORE_WAIT="0")
    data = tmp_path / "data"
    inputs = write_jsonl(tmp_path / "in.jsonl", 10)
    proc = subprocess.Popen(chatcli_argv("batch", "submit", str(inputs), "--local",
                                         "--concurrency", "2"), env=env, text=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    until(lambda: len(fake.chat_requests()) >= 3)
    assert proc.stderr is not None
    said: list[str] = []
    with holding(data / "chatcli.db"):  # answers keep arriving; none can be stored
        for line in iter(proc.stderr.readline, ""):
            said.append(line)
            if "10/10 completed" in line:  # all in: the job's closing writes need not wait
                break
    out, rest = proc.communicate(timeout=120)
    err = "".join(said) + rest
    name = out.strip()
    assert "saved to" in err and err.count("recovery.jsonl") == 1  # said once, not per answer
    assert (data / "recovery.jsonl").exists()
    waited = run_cli("batch", "wait", name, env=env)  # writes the journal, then finishes
    assert waited.returncode == 0, waited.stderr
    rows = results_jsonl(env, name)
    assert [r["answer"] for r in rows] == [f"echo(1): question {i}" for i in range(10)]
    assert len(fake.chat_requests()) == 10  # nothing sent (and paid) twice
    assert len(usage_rows(tmp_path)) == 10
