"""Commands while another real process holds the database's write lock (WAL: readers still
read): a local batch run whose answers went to the recovery journal ends within
``CHATCLI_STORE_WAIT`` with exit 0, its job state following on the next command; ``sessions
search`` searches without building its index, and says so."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from chatcli.store import Store
from tests.cli_helpers import chatcli_argv, fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply
from tests.test_batch import until, write_jsonl
from tests.test_recovery_journal import holding

pytestmark = pytest.mark.process


def test_local_batch_ends_within_the_bound_when_its_closing_writes_are_locked(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(Reply(text="BATCH-ANSWER", delay=1.0))
    env = fake_env(tmp_path, fake, CHATCLI_STORE_WAIT="1")
    data = tmp_path / "data"
    inputs = write_jsonl(tmp_path / "in.jsonl", 1)
    proc = subprocess.Popen(chatcli_argv("batch", "submit", str(inputs), "--local", "--yes"),
                            env=env, text=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    until(lambda: len(fake.chat_requests()) == 1)  # every write before the run is done
    with holding(data / "chatcli.db"):
        started = time.monotonic()
        out, err = proc.communicate(timeout=60)
        took = time.monotonic() - started
    assert proc.returncode == 0, err
    assert took < 4.5, err  # the answer's 1 s wait and quick tries, not 5 s per job write
    name = out.strip()
    assert "1/1 completed" in err and "error" not in err
    assert f"this answer was saved to {data / 'recovery.jsonl'}" in err
    assert f"batch job {name}: the database is busy; its state (done) was saved" in err
    listed = run_cli("batch", "list", "--json", env=env)  # the journal, replayed, settles it
    assert listed.returncode == 0, listed.stderr
    assert "wrote 1 saved answer" in listed.stderr
    [job] = json.loads(listed.stdout)
    assert (job["state"], job["completed"], job["failed"]) == ("done", 1, 0)
    with Store.open(data) as store, store._read() as conn:
        assert conn.execute("SELECT runner FROM batch_jobs").fetchone() == (None,)
    results = run_cli("batch", "results", name, env=env)
    assert results.returncode == 0, results.stderr
    assert json.loads(results.stdout)["answer"] == "BATCH-ANSWER"
    assert len(fake.chat_requests()) == 1  # nothing sent (and paid) twice


def test_sessions_search_reads_while_another_process_writes(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake, CHATCLI_STORE_WAIT="0")
    data = tmp_path / "data"
    assert run_cli("ask", "--session", "s", "a needle here", env=env).returncode == 0
    with holding(data / "chatcli.db"):
        started = time.monotonic()
        found = run_cli("sessions", "search", "needle", env=env)
        assert time.monotonic() - started < 2
        assert found.returncode == 0, found.stderr
        assert found.stdout.count("needle") == 2  # the question and its echo
        assert found.stderr == (
            "chatcli: the database is busy (another process is writing to it), so the search "
            "index could not be built; searched without it, and results may miss the newest "
            "turns\n"
        )
        short = run_cli("sessions", "search", "ne", env=env)  # LIKE anyway: no notice needed
        assert short.returncode == 0 and short.stdout.count("needle") == 2
    built = run_cli("sessions", "search", "needle", env=env)  # the lock gone: index built
    assert built.returncode == 0 and built.stderr == "" and built.stdout.count("needle") == 2
    with holding(data / "chatcli.db"):  # an index already there is only read
        again = run_cli("sessions", "search", "needle", env=env)
        assert again.returncode == 0 and again.stderr == ""
        assert again.stdout.count("needle") == 2


def test_batch_status_shows_a_job_while_another_process_writes(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """A status is a display: it recounts into the row when it can, and otherwise shows the
    counts it read instead of failing after the busy timeout."""
    env = fake_env(tmp_path, fake, CHATCLI_STORE_WAIT="1")
    inputs = write_jsonl(tmp_path / "in.jsonl", 2)
    submitted = run_cli("batch", "submit", str(inputs), "--local", "--yes", env=env)
    assert submitted.returncode == 0, submitted.stderr
    name = submitted.stdout.strip()
    with holding(tmp_path / "data" / "chatcli.db"):
        shown = run_cli("batch", "status", name, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "requests: 2 (2 completed, 0 failed)" in shown.stdout
    assert "state:    done (local)" in shown.stdout
